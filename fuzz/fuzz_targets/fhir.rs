//! Any FHIR input: parsing it as a bundle or as NDJSON and grouping it by patient must not
//! panic; de-identifying it must be deterministic under one pseudonym key (the de-identified
//! bundle must link up the same way every time), and every `identifier[].value` of an entry's
//! resource must come out as a placeholder.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phigate_deid::{Deidentifier, Detector, DetectorConfig, KnownPhi, Pseudonyms, Vault};
use phigate_fhir::{Bundle, FhirDeidentifier, ImportSet, InputFormat, known_phi};
use serde_json::Value;

fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| match Detector::new(DetectorConfig::default()) {
        Ok(detector) => detector,
        Err(_) => panic!("the detector must build"),
    })
}

fn deidentify(value: &Value, known: &KnownPhi) -> Value {
    let mut vault = Vault::new();
    let mut deid = Deidentifier::new(detector(), known, &mut vault);
    let mut ids = Pseudonyms::keyed(b"fuzz pseudonym key");
    let mut out = value.clone();
    FhirDeidentifier::new(&mut deid, &mut ids).walk(&mut out);
    out
}

/// The `identifier[].value` strings of every entry's resource.
fn identifier_values(bundle: &Value) -> Vec<Option<&str>> {
    let entries = bundle["entry"].as_array().map(Vec::as_slice).unwrap_or_default();
    entries
        .iter()
        .filter_map(|entry| entry["resource"]["identifier"].as_array())
        .flatten()
        .map(|identifier| identifier["value"].as_str())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    for format in [InputFormat::Bundle, InputFormat::Ndjson] {
        if let Ok(set) = ImportSet::parse(format, data) {
            let _ = set.len();
            let _ = set.into_patients();
        }
    }
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let known = Bundle::from_slice(data)
        .and_then(Bundle::into_patient_record)
        .map(|record| known_phi(&record))
        .unwrap_or_default();
    let once = deidentify(&value, &known);
    let twice = deidentify(&value, &known);
    assert!(once == twice, "de-identifying the same input twice differs");

    let before = identifier_values(&value);
    let after = identifier_values(&once);
    assert_eq!(before.len(), after.len(), "an identifier was added or dropped");
    for (original, replaced) in before.iter().zip(&after) {
        if original.is_some_and(|v| !v.trim().is_empty()) {
            let replaced = replaced.unwrap_or_default();
            assert!(
                replaced.starts_with('[') && replaced.ends_with(']'),
                "an identifier value was kept"
            );
        }
    }
});
