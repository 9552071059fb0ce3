//! FHIR de-identification on every shipped Synthea bundle: none of the bundle's own identifiers
//! is left anywhere in the output, notes included (their base64 is decoded before looking).
//! The identifiers are read from each bundle by this test itself, independently of the
//! product's extraction. Failures name the bundle by number and the identifier by kind only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

use std::path::PathBuf;
use std::sync::OnceLock;

use base64::Engine as _;
use phigate_deid::shift::DateShift;
use phigate_deid::{Deidentifier, Detector, DetectorConfig, Mode, Pseudonyms, Vault};
use phigate_fhir::{Bundle, FhirDeidentifier, known_phi};
use serde_json::Value;

fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| Detector::new(DetectorConfig::default()).expect("detector builds"))
}

fn bundles() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/synthea");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("testdata/synthea exists")
        .flat_map(|dir| std::fs::read_dir(dir.unwrap().path()).unwrap())
        .map(|file| file.unwrap().path())
        .filter(|file| file.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Identifiers with the kind a failure names them by.
type Found = Vec<(&'static str, String)>;

/// The identifiers a reader of the bundle would name, by kind: exact strings, and words.
fn identifiers(bundle: &Value) -> (Found, Found) {
    let mut exact = Vec::new();
    let mut words = Vec::new();
    for entry in bundle["entry"].as_array().unwrap() {
        let resource = &entry["resource"];
        exact.push(("resource id", resource["id"].as_str().unwrap().to_owned()));
        for id in resource["identifier"].as_array().into_iter().flatten() {
            exact.push(("identifier", id["value"].as_str().unwrap().to_owned()));
        }
        if resource["resourceType"] != "Patient" {
            continue;
        }
        for name in resource["name"].as_array().unwrap() {
            let given = name["given"].as_array().into_iter().flatten();
            for part in given.chain(std::iter::once(&name["family"])) {
                let part = part.as_str().unwrap_or_default();
                exact.push(("name", part.to_owned()));
                let plain: String = part.chars().filter(|c| !c.is_ascii_digit()).collect();
                if plain.chars().count() >= 4 {
                    words.push(("name", plain));
                }
            }
        }
        for telecom in resource["telecom"].as_array().into_iter().flatten() {
            exact.push(("telecom", telecom["value"].as_str().unwrap().to_owned()));
        }
        for address in resource["address"].as_array().into_iter().flatten() {
            for line in address["line"].as_array().into_iter().flatten() {
                exact.push(("street", line.as_str().unwrap().to_owned()));
            }
            words.push(("city", address["city"].as_str().unwrap().to_owned()));
            if let Some(zip) = address["postalCode"].as_str() {
                words.push(("zip", zip.to_owned()));
            }
        }
        let birth = resource["birthDate"].as_str().unwrap();
        exact.push(("birth date", birth.to_owned()));
        for ext in resource["extension"].as_array().into_iter().flatten() {
            if let Some(maiden) = ext["valueString"].as_str()
                && ext["url"].as_str().unwrap().ends_with("mothersMaidenName")
            {
                exact.extend(
                    maiden
                        .split_whitespace()
                        .map(|p| ("maiden name", p.to_owned())),
                );
            }
        }
    }
    // Set B gives practitioners three-digit "NPIs" (`140`): the same digits are blood pressures
    // and amounts elsewhere in the bundle, so values that short are checked in place by
    // `identifier_values_are_replaced_in_place` rather than searched for.
    exact.retain(|(_, v)| v.len() >= 6);
    (exact, words)
}

/// The output as one lower-case text, with every attachment's data decoded and appended.
fn haystack(value: &Value) -> String {
    fn notes(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(data)) = map.get("data") {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(data)
                        .unwrap();
                    out.push_str(&String::from_utf8(bytes).unwrap());
                }
                map.values().for_each(|v| notes(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| notes(v, out)),
            _ => {}
        }
    }
    let mut text = value.to_string();
    notes(value, &mut text);
    text.to_lowercase()
}

fn deidentify(bundle: &Value, mode: Mode) -> Value {
    let record = Bundle::from_slice(bundle.to_string().as_bytes())
        .unwrap()
        .into_patient_record()
        .unwrap();
    let known = known_phi(&record);
    let mut vault = Vault::new();
    let mut deid = Deidentifier::with_mode(detector(), &known, &mut vault, mode);
    let mut ids = Pseudonyms::keyed(b"test pseudonym key");
    let mut out = bundle.clone();
    FhirDeidentifier::new(&mut deid, &mut ids).walk(&mut out);
    out
}

fn assert_no_identifier_remains(mode: Mode) {
    let bundles = bundles();
    assert_eq!(bundles.len(), 38, "all 38 shipped bundles are present");
    for (index, path) in bundles.iter().enumerate() {
        let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let (exact, words) = identifiers(&bundle);
        let output = haystack(&deidentify(&bundle, mode));
        for (kind, value) in &exact {
            assert!(
                !output.contains(&value.to_lowercase()),
                "bundle #{index}: a {kind} remains"
            );
        }
        for (kind, value) in &words {
            let word = format!(r"(?i)\b{}\b", regex_escape(value));
            let found = regex_lite_match(&word, &output);
            assert!(!found, "bundle #{index}: a {kind} remains");
        }
    }
}

fn regex_escape(value: &str) -> String {
    value
        .chars()
        .flat_map(|c| {
            let special = !c.is_alphanumeric() && c != ' ';
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

fn regex_lite_match(pattern: &str, text: &str) -> bool {
    regex::Regex::new(pattern).unwrap().is_match(text)
}

#[test]
fn identifier_values_are_replaced_in_place() {
    for path in bundles() {
        let bundle: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let out = deidentify(&bundle, Mode::SafeHarbor);
        for entry in out["entry"].as_array().unwrap() {
            for id in entry["resource"]["identifier"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let value = id["value"].as_str().unwrap();
                assert!(
                    value.starts_with('[') && value.ends_with(']'),
                    "an identifier stayed"
                );
            }
        }
    }
}

#[test]
fn placeholder_mode_leaves_none_of_any_bundles_identifiers() {
    assert_no_identifier_remains(Mode::Placeholder);
}

#[test]
fn safe_harbor_mode_leaves_none_of_any_bundles_identifiers() {
    assert_no_identifier_remains(Mode::SafeHarbor);
}

#[test]
fn shift_mode_leaves_none_of_any_bundles_identifiers() {
    assert_no_identifier_remains(Mode::Shift(DateShift::by_days(-45)));
}
