//! `/metrics` and the logs after a run over shipped Synthea patients: the metrics count what
//! happened (routes by template, entities per type, audit appends, key cache lookups), and
//! neither they nor the debug-level JSON logs hold any identifier of those patients.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;
mod ops;

use std::path::Path;
use std::time::Duration;

use phigate_fhir::{Bundle, known_phi};

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let output = common::phigate(dir, args);
    assert!(
        output.status.success(),
        "phigate {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Whether `value` appears in `text` as a whole token (case-insensitive): not as digits inside
/// a longer number, which would make a ZIP code "appear" in a float.
fn contains_token(text: &str, value: &str) -> bool {
    let (text, value) = (text.to_lowercase(), value.to_lowercase());
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    text.match_indices(&value).any(|(at, _)| {
        boundary(text[..at].chars().next_back())
            && boundary(text[at + value.len()..].chars().next())
    })
}

#[test]
fn metrics_and_debug_logs_after_a_run_over_synthea_patients_hold_no_phi() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    run_ok(dir, &["init"]);
    let bundles: Vec<_> = common::synthea_bundles().into_iter().take(5).collect();
    let mut args = vec!["import".to_owned()];
    args.extend(bundles.iter().map(|b| b.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(dir, &args);
    let config = ops::write_config(
        dir,
        "[log]\nlevel = \"debug\"\nformat = \"json\"\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
    );
    let log = dir.join("serve.log");
    let mut server = ops::serve(dir, &config, &log, &[]);
    let clinician = format!(
        "Bearer {}",
        run_ok(dir, &["token", "--role", "clinician", "--subject", "dr-1"]).trim()
    );
    let service = format!(
        "Bearer {}",
        run_ok(dir, &["token", "--role", "service", "--subject", "ehr-1"]).trim()
    );
    let json = ("Content-Type", "application/json");

    let mut records = Vec::new();
    for bundle in &bundles {
        let record = Bundle::from_slice(&std::fs::read(bundle).unwrap())
            .unwrap()
            .into_patient_record()
            .unwrap();
        let patient = common::patient_of(bundle);
        let id = record.patient_id().to_owned();
        let given = patient["name"][0]["given"][0].as_str().unwrap();
        let family = patient["name"][0]["family"].as_str().unwrap();
        let birth = patient["birthDate"].as_str().unwrap();
        let dialogue = format!(
            "[doctor] Good morning {given} {family}, born {birth}. How is the cough?\n\
             [patient] Better since last week."
        );
        let task = serde_json::json!({"patient": id, "input": dialogue}).to_string();
        let answer = ops::http(
            &server.addr,
            "POST",
            "/v1/tasks/clinical-note",
            &[("Authorization", &clinician), json],
            &task,
        );
        assert_eq!(answer.status, 200, "{}", answer.body);
        let message = serde_json::json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": format!("Summarise: {dialogue}")}],
        })
        .to_string();
        let answer = ops::http(
            &server.addr,
            "POST",
            "/v1/messages",
            &[
                ("Authorization", &service),
                ("anthropic-version", "2023-06-01"),
                json,
            ],
            &message,
        );
        assert_eq!(answer.status, 200, "{}", answer.body);
        // Paths carrying identifiers: counted under their template, or as unmatched.
        let answer = ops::http(
            &server.addr,
            "GET",
            &format!("/v1/drafts/{id}"),
            &[("Authorization", &clinician)],
            "",
        );
        assert!(answer.status >= 400);
        ops::http(&server.addr, "GET", &format!("/patients/{family}"), &[], "");
        records.push(record);
    }

    let scraped = ops::http(server.metrics.as_ref().unwrap(), "GET", "/metrics", &[], "");
    assert_eq!(scraped.status, 200);
    assert!(
        scraped
            .header("content-type")
            .unwrap()
            .contains("openmetrics")
    );
    let metrics = scraped.body;
    for expected in [
        r#"phigate_http_requests_total{route="/v1/tasks/{task}",method="POST",status="200"} 5"#,
        r#"phigate_http_requests_total{route="/v1/messages",method="POST",status="200"} 5"#,
        r#"phigate_http_requests_total{route="/v1/drafts/{id}",method="GET",status="400"} 5"#,
        r#"phigate_http_requests_total{route="unmatched",method="GET",status="404"} 5"#,
        r#"phigate_deid_entities_total{entity="NAME"}"#,
        r#"phigate_audit_append_duration_seconds_count{outcome="ok"}"#,
        r#"phigate_key_cache_lookups_total{outcome="hit"}"#,
        "phigate_audit_unsigned_entries",
    ] {
        assert!(metrics.contains(expected), "missing {expected}");
    }

    server.terminate();
    let (clean, _) = server.wait_exit(Duration::from_secs(30));
    assert!(clean, "phigate serve exits cleanly on SIGTERM");
    let logs = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = logs.lines().collect();
    assert!(
        lines.len() > 20,
        "debug logging wrote too little to mean anything"
    );
    for line in &lines {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "a log line is not JSON"
        );
    }
    assert!(logs.contains("\"http.route\":\"/v1/tasks/{task}\""));

    let mut checked = 0;
    for record in &records {
        for (kind, value) in known_phi(record).values() {
            if value.chars().filter(|c| c.is_alphanumeric()).count() < 4 {
                continue;
            }
            checked += 1;
            assert!(
                !contains_token(&metrics, value),
                "a {kind:?} identifier of a patient is in /metrics"
            );
            assert!(
                !contains_token(&logs, value),
                "a {kind:?} identifier of a patient is in the logs"
            );
        }
    }
    assert!(
        checked > 5 * 5,
        "too few identifiers were checked ({checked})"
    );
}

#[test]
fn the_token_check_does_not_find_digits_inside_numbers() {
    assert!(contains_token("route=\"/x\" Smith,", "smith"));
    assert!(!contains_token("0.0123456", "01234"));
    assert!(!contains_token("Smithson", "smith"));
}
