//! `phigate import`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use phigate_agent::import_bundle;

use crate::cli::ImportArgs;
use crate::cmd::local_operator;
use crate::config::Config;
use crate::datadir;
use crate::output::Out;

/// Largest bundle accepted in one file. A parsed bundle takes about twenty times its size in
/// memory; larger exports belong in bulk NDJSON, imported resource by resource.
pub const MAX_BUNDLE_BYTES: u64 = 64 * 1024 * 1024;

/// Runs `phigate import`.
pub fn run(config: &Config, args: &ImportArgs) -> Result<ExitCode> {
    let opened = datadir::open(config)?;
    let operator = local_operator(&config.tenant);
    for path in &args.files {
        // One line per file as it lands, so a later failure does not hide what was imported.
        let mut out = Out::new();
        let bytes = read_bounded(path)?;
        let report = import_bundle(
            &opened.store,
            &opened.audit,
            &operator,
            &config.tenant,
            &bytes,
        )
        .with_context(|| format!("cannot import {}", path.display()))?;
        out.line(format!(
            "{}: {} resources sealed for patient ref {}",
            path.display(),
            report.resources,
            report.patient_ref.as_str().get(..16).unwrap_or_default()
        ));
        out.flush();
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a file, refusing anything that is not a regular file or is too large.
pub fn read_bounded(path: &std::path::Path) -> Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        anyhow::bail!("{} is not a regular file", path.display());
    }
    if meta.len() > MAX_BUNDLE_BYTES {
        anyhow::bail!(
            "{} is larger than {} bytes",
            path.display(),
            MAX_BUNDLE_BYTES
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}
