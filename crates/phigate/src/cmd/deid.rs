//! `phigate deid`: standard input to standard output.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use phigate_deid::{Deidentifier, Detector, DetectorConfig, KnownPhi, Vault};
use phigate_fhir::{Bundle, known_phi};
use serde_json::{Value, json};

use crate::cli::DeidArgs;
use crate::config::Config;
use crate::output::Out;

/// Largest input accepted on standard input.
const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Builds the detector the configuration asks for.
pub fn detector(config: &Config) -> Result<Detector> {
    let settings = DetectorConfig {
        clinician_names: config.deid.clinician_names,
        ..DetectorConfig::default()
    };
    Detector::new(settings).context("cannot build the PHI detector")
}

/// Runs `phigate deid`.
pub fn run(config: &Config, args: &DeidArgs) -> Result<ExitCode> {
    let mut input = Vec::new();
    std::io::stdin()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut input)
        .context("cannot read standard input")?;
    if input.len() as u64 > MAX_INPUT_BYTES {
        bail!("input is larger than {MAX_INPUT_BYTES} bytes");
    }
    let detector = detector(config)?;
    let mut out = Out::new();
    if args.fhir {
        let mut value: Value = serde_json::from_slice(&input).map_err(|e| {
            anyhow::anyhow!(
                "input is not JSON (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        // A bundle with one patient contributes that patient's own identifiers as known PHI.
        let known = Bundle::from_slice(&input)
            .ok()
            .and_then(|b| b.into_patient_record().ok())
            .map_or_else(KnownPhi::new, |record| known_phi(&record));
        let mut vault = Vault::new();
        let mut deid = Deidentifier::new(&detector, &known, &mut vault);
        deid.json(&mut value);
        out.line(serde_json::to_string_pretty(&value)?);
    } else {
        let text = String::from_utf8(input).context("input is not UTF-8 text")?;
        let known = KnownPhi::new();
        if args.json {
            let entities: Vec<Value> = detector
                .detect(&text, &known)
                .iter()
                .map(|e| json!({"type": e.kind.tag(), "start": e.start, "end": e.end}))
                .collect();
            out.line(serde_json::to_string_pretty(
                &json!({"entities": entities}),
            )?);
        } else {
            let mut vault = Vault::new();
            let mut deid = Deidentifier::new(&detector, &known, &mut vault);
            out.line(deid.text(&text));
        }
    }
    out.flush();
    Ok(ExitCode::SUCCESS)
}
