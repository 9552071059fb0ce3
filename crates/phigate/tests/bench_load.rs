//! `phigate bench load` against a real `phigate serve` and a mock upstream on loopback: its
//! counts add up, its percentiles are ordered, and the upstream saw exactly what it reports.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing step fails the test"
)]

mod common;
mod serve_support;

use std::collections::HashMap;

use common::phigate;
use phigate_llm::mock::MockUpstream;
use serve_support::serve;

/// The numeric `key=value` pairs of the `load:` line, and its `failures=` breakdown.
fn load_line(stdout: &str) -> (HashMap<String, f64>, String) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("load: "))
        .expect("a load: line");
    let mut failures = None;
    let numbers = line
        .trim_start_matches("load: ")
        .split_whitespace()
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap();
            if key == "failures" {
                failures = Some(value.to_owned());
                return None;
            }
            Some((key.to_owned(), value.parse().unwrap()))
        })
        .collect();
    (numbers, failures.expect("a failures= field"))
}

#[test]
fn a_bounded_load_sends_exactly_the_requests_asked_and_reports_ordered_percentiles() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockUpstream::start()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    assert!(phigate(dir, &["init"]).status.success());
    let base_url = mock.base_url();
    let server = serve(
        dir,
        &[
            ("PHIGATE_PROVIDER_KIND", "anthropic"),
            ("PHIGATE_PROVIDER_BASE_URL", &base_url),
            ("ANTHROPIC_API_KEY", "sk-ant-mock-upstream-key"),
        ],
    );
    let minted = phigate(dir, &["token", "--role", "clinician"]);
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let url = format!("http://{}", server.addr);
    let run = phigate(
        dir,
        &[
            "bench",
            "load",
            "--url",
            &url,
            "--token",
            &token,
            "--requests",
            "30",
            "--concurrency",
            "4",
            "--duration",
            "60",
        ],
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}");
    let (load, failures) = load_line(&stdout);
    assert_eq!(failures, "none");
    assert_eq!(load["requests"], 30.0);
    assert_eq!(load["ok"] + load["failed"], load["requests"]);
    assert_eq!(load["failed"], 0.0);
    assert!(load["rps"] > 0.0 && load["seconds"] > 0.0);
    let expected_rate = load["requests"] / load["seconds"];
    assert!((load["rps"] - expected_rate).abs() <= expected_rate * 0.01 + 0.1);
    let (p50, p90, p99, max) = (
        load["p50_ms"],
        load["p90_ms"],
        load["p99_ms"],
        load["max_ms"],
    );
    assert!(
        p50 > 0.0 && p50 <= p90 && p90 <= p99 && p99 <= max,
        "{stdout}"
    );
    assert!(max <= load["seconds"] * 1000.0, "{stdout}");
    assert_eq!(
        mock.received().len(),
        30,
        "every request reached the upstream once"
    );
}

#[test]
fn a_bad_token_makes_every_request_fail_and_the_run_exit_non_zero() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    assert!(phigate(dir, &["init"]).status.success());
    let server = serve(dir, &[]);
    let url = format!("http://{}", server.addr);
    let run = phigate(
        dir,
        &[
            "bench",
            "load",
            "--url",
            &url,
            "--token",
            "not-a-token",
            "--requests",
            "5",
            "--concurrency",
            "2",
        ],
    );
    assert!(!run.status.success());
    let stdout = String::from_utf8_lossy(&run.stdout);
    let (load, failures) = load_line(&stdout);
    assert_eq!(
        (load["requests"], load["ok"], load["failed"]),
        (5.0, 0.0, 5.0)
    );
    // Every refusal is counted under its status.
    assert_eq!(failures, "401:5", "{stdout}");
    assert!(stdout.contains("failures by status: 401:5"), "{stdout}");
}

#[test]
fn load_is_refused_for_an_address_off_loopback() {
    let data = tempfile::tempdir().unwrap();
    let run = phigate(
        data.path(),
        &[
            "bench",
            "load",
            "--url",
            "http://192.0.2.1:8080",
            "--token",
            "t",
            "--requests",
            "1",
        ],
    );
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("loopback"));
}
