//! `phigate demo` on every shipped Synthea bundle: nothing that identifies the patient is in
//! what would leave the building, the answer names the patient again, and the audit log
//! verifies. The identifiers are read from each bundle by this test itself, independently of
//! the product's own extraction.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

mod common;

use std::path::PathBuf;

use regex::Regex;
use serde_json::Value;

use common::{phigate, repo, section};

fn bundles() -> Vec<PathBuf> {
    let root = repo().join("testdata/synthea");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("testdata/synthea exists") {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            for file in std::fs::read_dir(&dir).unwrap() {
                let file = file.unwrap().path();
                if file.extension().is_some_and(|e| e == "json") {
                    files.push(file);
                }
            }
        }
    }
    files.sort();
    files
}

/// What a reader of the bundle would call the patient's identifiers, by kind.
struct Identifiers {
    exact: Vec<(&'static str, String)>,
    words: Vec<(&'static str, String)>,
    given: String,
    family: String,
}

fn strings(value: &Value) -> impl Iterator<Item = String> + '_ {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
}

fn identifiers(bundle: &Value) -> Identifiers {
    let patient = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Patient")
        .expect("a Patient");
    let mut exact = Vec::new();
    let mut words = Vec::new();
    for name in patient["name"].as_array().unwrap() {
        for part in strings(&name["given"]).chain(name["family"].as_str().map(str::to_owned)) {
            let plain: String = part.chars().filter(|c| !c.is_ascii_digit()).collect();
            if plain != part {
                exact.push(("name", part.clone()));
            }
            // A bare first name of three letters ("Bob") is also an English word fragment;
            // four or more letters are checked as whole words.
            if plain.chars().count() >= 4 {
                words.push(("name", plain));
            }
        }
    }
    for id in patient["identifier"].as_array().into_iter().flatten() {
        exact.push(("identifier", id["value"].as_str().unwrap().to_owned()));
    }
    for telecom in patient["telecom"].as_array().into_iter().flatten() {
        exact.push(("telecom", telecom["value"].as_str().unwrap().to_owned()));
    }
    for address in patient["address"].as_array().into_iter().flatten() {
        for line in strings(&address["line"]) {
            exact.push(("street", line));
        }
        if let Some(city) = address["city"].as_str() {
            words.push(("city", city.to_owned()));
        }
        for ext in address["extension"].as_array().into_iter().flatten() {
            for coordinate in ext["extension"].as_array().into_iter().flatten() {
                let number = coordinate["valueDecimal"].as_f64().unwrap();
                exact.push(("geolocation", format!("{number}")));
                exact.push(("geolocation", format!("{number:.4}")));
            }
        }
    }
    let birth = patient["birthDate"].as_str().unwrap();
    exact.push(("birth date", birth.to_owned()));
    let (y, rest) = birth.split_at(4);
    let (m, d) = (&rest[1..3], &rest[4..6]);
    exact.push(("birth date", format!("{m}/{d}/{y}")));
    let official = &patient["name"][0];
    let given = strings(&official["given"]).next().unwrap();
    let family = official["family"].as_str().unwrap().to_owned();
    Identifiers {
        exact,
        words,
        given,
        family,
    }
}

#[test]
fn demo_discloses_no_identifier_of_any_shipped_patient_and_restores_the_name() {
    let bundles = bundles();
    assert_eq!(bundles.len(), 38, "all 38 shipped bundles are present");
    let data = tempfile::tempdir().unwrap();

    for (index, path) in bundles.iter().enumerate() {
        // The file name holds the patient's name, so failures name the bundle by number only.
        let which = format!("bundle #{index}");
        let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let ids = identifiers(&bundle);

        let output = phigate(data.path(), &["demo", "--bundle", path.to_str().unwrap()]);
        assert!(
            output.status.success(),
            "{which}: demo failed (exit {:?})",
            output.status.code()
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        let outbound = section(&stdout, 1).to_lowercase();
        let restored = section(&stdout, 2);
        let audit = section(&stdout, 3);
        assert!(
            outbound.contains("\"messages\""),
            "{which}: section 1 shows the request"
        );

        for (kind, value) in &ids.exact {
            assert!(
                !outbound.contains(&value.to_lowercase()),
                "{which}: a {kind} went out"
            );
        }
        for (kind, value) in &ids.words {
            let word = Regex::new(&format!(r"(?i)\b{}\b", regex::escape(value))).unwrap();
            assert!(!word.is_match(&outbound), "{which}: a {kind} went out");
        }
        assert!(
            outbound.contains("[name_"),
            "{which}: the name went out as a placeholder"
        );

        assert!(
            restored.contains(&ids.given),
            "{which}: the restored answer lacks the given name"
        );
        assert!(
            restored.contains(&ids.family),
            "{which}: the restored answer lacks the family name"
        );
        assert!(
            audit.contains("disclosure"),
            "{which}: the disclosure was audited"
        );
        assert!(
            audit.contains("audit log OK"),
            "{which}: the audit log verified"
        );
    }
}
