//! `phigate import`: bundles and bulk NDJSON, one transaction per file, a summary line per file
//! and a progress bar on a terminal for large files.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use phigate_agent::{FileReport, ImportOptions, import_file};
use phigate_fhir::InputFormat;

use crate::cli::ImportArgs;
use crate::cmd::local_operator;
use crate::config::Config;
use crate::datadir;
use crate::output::Out;

/// Largest bundle accepted in one file. A parsed bundle takes about twenty times its size in
/// memory; larger exports belong in bulk NDJSON, imported resource by resource.
pub const MAX_BUNDLE_BYTES: u64 = 64 * 1024 * 1024;

/// Largest NDJSON file accepted; split larger exports (bulk servers write one file per type).
pub const MAX_NDJSON_BYTES: u64 = 256 * 1024 * 1024;

/// Files at least this large get a progress bar (when standard error is a terminal).
const PROGRESS_FROM_BYTES: u64 = 4 * 1024 * 1024;

/// Runs `phigate import`.
pub fn run(config: &Config, args: &ImportArgs) -> Result<ExitCode> {
    let opened = datadir::open(config)?;
    let operator = local_operator(&config.tenant);
    let options = ImportOptions {
        allow_reimport: args.allow_reimport,
    };
    for path in &args.files {
        let format = InputFormat::for_path(path);
        let limit = match format {
            InputFormat::Bundle => MAX_BUNDLE_BYTES,
            InputFormat::Ndjson => MAX_NDJSON_BYTES,
        };
        let bytes = read_limited(path, limit)?;
        let bar = progress_bar(bytes.len() as u64);
        let report = import_file(
            &opened.store,
            &opened.audit,
            &operator,
            &config.tenant,
            format,
            &bytes,
            options,
            &mut |n| bar.inc(n),
        );
        bar.finish_and_clear();
        let report = report.with_context(|| format!("cannot import {}", path.display()))?;
        // One line per file as it lands, so a later failure does not hide what was imported.
        let mut out = Out::new();
        out.line(summary(path, &report));
        out.flush();
    }
    Ok(ExitCode::SUCCESS)
}

fn summary(path: &Path, report: &FileReport) -> String {
    let c = &report.counts;
    let mut line = format!(
        "{}: {}, {} resources, {} patients: {} new, {} updated, {} unchanged",
        path.display(),
        report.kind,
        report.resources,
        c.patients,
        c.created,
        c.updated,
        c.unchanged
    );
    if report.unassigned > 0 {
        line.push_str(&format!(
            "; {} naming no patient not stored",
            report.unassigned
        ));
    }
    let r = &report.references;
    if r.conditional + r.external > 0 {
        line.push_str(&format!(
            "; {} conditional and {} external references accepted unresolved",
            r.conditional, r.external
        ));
    }
    if report.reimported > 0 {
        line.push_str(&format!(
            "; {} imported again after deletion",
            report.reimported
        ));
    }
    if let [only] = report.patients.as_slice() {
        line.push_str(&format!(
            "; patient ref {}",
            only.as_str().get(..16).unwrap_or_default()
        ));
    }
    line
}

/// A bar counting sealed resources, drawn on standard error only when it is a terminal and
/// the file is large enough for the wait to be noticed.
fn progress_bar(file_bytes: u64) -> ProgressBar {
    if file_bytes < PROGRESS_FROM_BYTES || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} {pos} resources sealed ({per_sec})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar
}

/// Reads a file, refusing anything that is not a regular file or is too large.
pub fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    read_limited(path, MAX_BUNDLE_BYTES)
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        anyhow::bail!("{} is not a regular file", path.display());
    }
    if meta.len() > limit {
        anyhow::bail!("{} is larger than {limit} bytes", path.display());
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}
