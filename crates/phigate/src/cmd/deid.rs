//! `phigate deid`: standard input to standard output.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use phigate_deid::shift::DateShift;
use phigate_deid::{
    Deidentifier, Detector, DetectorConfig, KnownPhi, Mode, Pseudonyms, Vault, random_key,
};
use phigate_fhir::{Bundle, FhirDeidentifier, known_phi};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::cli::{DeidArgs, DeidMode};
use crate::config::Config;
use crate::output::Out;

/// Largest input accepted on standard input.
const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;
/// Largest key file accepted.
const MAX_KEY_BYTES: u64 = 4096;

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
    let key = key(args)?;
    let mut out = Out::new();
    if args.fhir {
        out.line(fhir(&detector, &input, args, &key)?);
    } else {
        let text = String::from_utf8(input).context("input is not UTF-8 text")?;
        let known = KnownPhi::new();
        if args.json {
            out.line(entities(&detector, &text, &known)?);
        } else {
            let mode = mode(args.mode, &key, &args.patient);
            let mut vault = Vault::new();
            let mut deid = Deidentifier::with_mode(&detector, &known, &mut vault, mode);
            out.line(deid.text(&text));
        }
    }
    out.flush();
    Ok(ExitCode::SUCCESS)
}

/// The key from `--key-file`, or a random one for this run.
fn key(args: &DeidArgs) -> Result<Zeroizing<Vec<u8>>> {
    let Some(path) = &args.key_file else {
        return Ok(Zeroizing::new(random_key()?.to_vec()));
    };
    let size = std::fs::metadata(path)
        .context("cannot read the key file")?
        .len();
    if !(16..=MAX_KEY_BYTES).contains(&size) {
        bail!("the key file must hold between 16 and {MAX_KEY_BYTES} bytes");
    }
    Ok(Zeroizing::new(
        std::fs::read(path).context("cannot read the key file")?,
    ))
}

fn mode(mode: DeidMode, key: &[u8], patient: &str) -> Mode {
    match mode {
        DeidMode::Placeholder => Mode::Placeholder,
        DeidMode::Shift => Mode::Shift(DateShift::keyed(key, patient)),
        DeidMode::SafeHarbor => Mode::SafeHarbor,
    }
}

/// De-identifies FHIR JSON path by path. A bundle with one patient contributes that patient's
/// own identifiers as known PHI and names the patient whose dates are shifted.
fn fhir(detector: &Detector, input: &[u8], args: &DeidArgs, key: &[u8]) -> Result<String> {
    let mut value: Value = serde_json::from_slice(input).map_err(|e| {
        anyhow::anyhow!(
            "input is not JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    let record = Bundle::from_slice(input)
        .ok()
        .and_then(|b| b.into_patient_record().ok());
    let known = record.as_ref().map_or_else(KnownPhi::new, known_phi);
    let patient = record
        .as_ref()
        .map_or(args.patient.as_str(), |r| r.patient_id());
    let mode = mode(args.mode, key, &format!("Patient/{patient}"));
    let mut vault = Vault::new();
    let mut deid = Deidentifier::with_mode(detector, &known, &mut vault, mode);
    let mut ids = Pseudonyms::keyed(key);
    FhirDeidentifier::new(&mut deid, &mut ids).walk(&mut value);
    Ok(serde_json::to_string_pretty(&value)?)
}

/// The detected entities with byte and character offsets.
fn entities(detector: &Detector, text: &str, known: &KnownPhi) -> Result<String> {
    let detected = detector.detect(text, known);
    let mut chars = 0;
    let mut last = 0;
    let mut char_at = |byte: usize| {
        chars += text[last..byte].chars().count();
        last = byte;
        chars
    };
    let mut list = Vec::with_capacity(detected.len());
    for e in &detected {
        let (char_start, char_end) = (char_at(e.start), char_at(e.end));
        list.push(json!({
            "type": e.kind.tag(),
            "start": e.start,
            "end": e.end,
            "char_start": char_start,
            "char_end": char_end,
        }));
    }
    Ok(serde_json::to_string_pretty(&json!({"entities": list}))?)
}
