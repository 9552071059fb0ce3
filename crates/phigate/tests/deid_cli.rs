//! `phigate deid` modes and FHIR input, and `phigate eval`, as a user runs them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::repo;
use serde_json::Value;

/// Runs `phigate` with `stdin` as standard input.
fn phigate_with_input(args: &[&str], stdin: &[u8]) -> Output {
    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_phigate"));
    command
        .arg("--data-dir")
        .arg(data.path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
        command.env_remove(name);
    }
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "exit {:?}", output.status.code());
    String::from_utf8(output.stdout.clone()).unwrap()
}

const NOTE: &str = "Seen 2024-03-05 and again 3/7/2024. Age 93. Call 617-555-0199. ZIP 03601.";

#[test]
fn safe_harbor_mode_keeps_years_folds_old_ages_and_restricted_zips() {
    let out = stdout(&phigate_with_input(
        &["deid", "--mode", "safe-harbor"],
        NOTE.as_bytes(),
    ));
    assert!(
        out.contains("Seen 2024 and again 2024."),
        "dates keep their year only"
    );
    assert!(out.contains("90+"));
    assert!(out.contains("ZIP 000"), "036 is a restricted prefix");
    assert!(out.contains("[PHONE]") && !out.contains("_1]"));
}

#[test]
fn shift_mode_with_a_key_file_is_stable_and_keeps_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("shift.key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    let args = [
        "deid",
        "--mode",
        "shift",
        "--key-file",
        key.to_str().unwrap(),
        "--patient",
        "Patient/1",
    ];
    let first = stdout(&phigate_with_input(&args, NOTE.as_bytes()));
    let second = stdout(&phigate_with_input(&args, NOTE.as_bytes()));
    assert_eq!(first, second, "the same key shifts the same way");
    assert!(!first.contains("2024-03-05") && !first.contains("3/7/2024"));
    let iso = regex::Regex::new(r"(\d{4})-(\d{2})-(\d{2})").unwrap();
    let us = regex::Regex::new(r"(\d{1,2})/(\d{1,2})/(\d{4})").unwrap();
    let a = iso.captures(&first).expect("an ISO date stays ISO");
    let b = us.captures(&first).expect("a US date stays a US date");
    let day = |y: &str, m: &str, d: &str| {
        let month = time::Month::try_from(m.parse::<u8>().unwrap()).unwrap();
        time::Date::from_calendar_date(y.parse().unwrap(), month, d.parse().unwrap()).unwrap()
    };
    let interval = day(&b[3], &b[1], &b[2]) - day(&a[1], &a[2], &a[3]);
    assert_eq!(interval.whole_days(), 2, "two days apart before and after");
}

#[test]
fn deid_fhir_pseudonymizes_ids_and_hides_the_patients_identifiers() {
    let path = repo().join(
        "testdata/synthea/A_fhir-data-pipes_synthea-hiv/\
         Assunta351_Dickens475_3d195286-ce77-f5b3-b64f-3eacfb9c273e.json",
    );
    let input = std::fs::read(&path).unwrap();
    let out = stdout(&phigate_with_input(&["deid", "--fhir"], &input));
    let value: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["resourceType"], "Bundle");
    let lower = out.to_lowercase();
    for kind_and_value in [
        "3d195286-ce77",
        "999-35-4067",
        "dickens",
        "assunta",
        "555-523-6967",
    ] {
        assert!(
            !lower.contains(kind_and_value),
            "an identifier of bundle A/0 remains"
        );
    }
}

#[test]
fn deid_json_reports_byte_and_character_offsets() {
    let out = stdout(&phigate_with_input(
        &["deid", "--json"],
        "Zoë seen 2024-03-05.".as_bytes(),
    ));
    let value: Value = serde_json::from_str(&out).unwrap();
    let date = value["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "DATE")
        .expect("the date is found");
    assert_eq!(
        (date["start"].as_u64(), date["char_start"].as_u64()),
        (Some(10), Some(9))
    );
}

#[test]
fn eval_prints_a_table_and_ends_with_recall_and_precision() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("gold.jsonl");
    let record = r#"{"id":"r1","text":"Seen on 2024-03-05 by the team.","spans":[{"start":8,"end":18,"type":"DATE"}]}"#;
    std::fs::write(&corpus, format!("{record}\n")).unwrap();
    let output = phigate_with_input(&["eval", "--corpus", corpus.to_str().unwrap()], b"");
    let out = stdout(&output);
    assert!(out.lines().any(|l| l.starts_with("DATE")));
    assert_eq!(out.lines().last(), Some("recall=1.0000 precision=1.0000"));

    let strict = [
        "eval",
        "--corpus",
        corpus.to_str().unwrap(),
        "--min-recall",
        "1.01",
    ];
    assert!(!phigate_with_input(&strict, b"").status.success());
}

#[test]
fn eval_refuses_a_malformed_corpus_by_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("bad.jsonl");
    std::fs::write(&corpus, "{\"id\":\"a\",\"text\":\"x\"}\nJane Roe\n").unwrap();
    let output = phigate_with_input(&["eval", "--corpus", corpus.to_str().unwrap()], b"");
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("line 2") && !stderr.contains("Jane"));
}
