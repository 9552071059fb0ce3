//! `phigate compliance`: the report on a fresh deployment passes every required control, and
//! weakening one setting at a time fails exactly the controls that depend on it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{delete_audit_entry, phigate};
use serde_json::Value;

/// The report as JSON, and whether the command succeeded.
fn report(data: &Path) -> (Value, bool) {
    let output = phigate(data, &["compliance", "report", "--json"]);
    let json = serde_json::from_slice(&output.stdout).unwrap();
    (json, output.status.success())
}

/// The ids of the controls whose status is `fail`.
fn failing(report: &Value) -> BTreeSet<String> {
    report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn initialised() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(phigate(data.path(), &["init"]).status.success());
    data
}

#[test]
fn a_fresh_deployment_passes_every_required_control() {
    let data = initialised();
    let (report, ok) = report(data.path());
    assert!(ok, "the report exits zero");
    assert_eq!(failing(&report), BTreeSet::new());
    let controls = report["controls"].as_array().unwrap();
    assert!(controls.len() >= 12);
    for control in controls {
        assert!(control["tests"].as_array().is_some_and(|t| !t.is_empty()));
    }
    // The Markdown form carries the same verdict and writes both files with --out.
    let out = data.path().join("evidence");
    let output = phigate(
        data.path(),
        &["compliance", "report", "--out", out.to_str().unwrap()],
    );
    assert!(output.status.success());
    let markdown = String::from_utf8(output.stdout).unwrap();
    assert!(markdown.contains("Every required control passes."));
    assert!(out.join("compliance-report.md").is_file());
    let written: Value =
        serde_json::from_slice(&std::fs::read(out.join("compliance-report.json")).unwrap())
            .unwrap();
    assert_eq!(
        written["controls"].as_array().unwrap().len(),
        controls.len()
    );
}

#[test]
fn a_world_readable_root_key_fails_the_encryption_control_only() {
    let data = initialised();
    let key = data.path().join("keys/root.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (report, ok) = report(data.path());
    assert_eq!(
        failing(&report),
        BTreeSet::from(["encryption-at-rest".to_owned()])
    );
    // Encryption at rest is addressable, so the exit status stays zero.
    assert!(ok);
}

#[test]
fn an_open_data_directory_fails_the_encryption_control() {
    let data = initialised();
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (report, _) = report(data.path());
    assert_eq!(
        failing(&report),
        BTreeSet::from(["encryption-at-rest".to_owned()])
    );
}

#[test]
fn an_altered_audit_log_fails_audit_and_integrity_and_the_exit_status() {
    let data = initialised();
    assert!(phigate(data.path(), &["demo"]).status.success());
    delete_audit_entry(data.path(), 2);
    let (report, ok) = report(data.path());
    assert!(!ok, "a failing required control fails the command");
    assert_eq!(
        failing(&report),
        BTreeSet::from(["audit-controls".to_owned(), "integrity".to_owned()])
    );
}

/// The report with a configuration file holding `toml`.
fn report_with(data: &Path, toml: &str) -> (Value, bool) {
    let config = data.join("phigate-test.toml");
    std::fs::write(&config, toml).unwrap();
    let output = phigate(
        data,
        &[
            "--config",
            config.to_str().unwrap(),
            "compliance",
            "report",
            "--json",
        ],
    );
    let json = serde_json::from_slice(&output.stdout).unwrap();
    (json, output.status.success())
}

#[test]
fn allowing_tls_1_2_fails_transmission_security_only() {
    let data = initialised();
    let (report, ok) = report_with(data.path(), "[server.tls]\nenabled = true\n");
    assert_eq!(failing(&report), BTreeSet::new(), "TLS 1.3 only passes");
    assert!(ok);
    let (report, ok) = report_with(
        data.path(),
        "[server.tls]\nenabled = true\nmin_version = \"1.2\"\n",
    );
    assert_eq!(
        failing(&report),
        BTreeSet::from(["transmission-security".to_owned()])
    );
    assert!(!ok, "transmission security is required");
}

#[test]
fn an_administrator_without_a_second_factor_fails_authentication_only() {
    let data = initialised();
    let conn = rusqlite::Connection::open(data.path().join("phigate.db")).unwrap();
    let changed = conn
        .execute("UPDATE user_security SET totp_secret = NULL", [])
        .unwrap();
    assert_eq!(changed, 1, "init enrolled its administrator in TOTP");
    drop(conn);
    let (report, ok) = report(data.path());
    assert_eq!(
        failing(&report),
        BTreeSet::from(["person-or-entity-authentication".to_owned()])
    );
    assert!(!ok);
}

#[test]
fn a_long_idle_session_limit_fails_automatic_logoff_only() {
    let data = initialised();
    let (report, ok) = report_with(data.path(), "[oauth]\nrefresh_idle_secs = 7200\n");
    assert_eq!(
        failing(&report),
        BTreeSet::from(["automatic-logoff".to_owned()])
    );
    // Automatic logoff is addressable.
    assert!(ok);
}

#[test]
fn keeping_the_audit_log_under_six_years_fails_documentation_retention_only() {
    let data = initialised();
    let (report, ok) = report_with(data.path(), "[audit]\nretention_days = 30\n");
    assert_eq!(
        failing(&report),
        BTreeSet::from(["documentation-retention".to_owned()])
    );
    assert!(!ok);
}

#[test]
fn a_provider_without_a_baa_receiving_linkable_placeholders_fails_the_business_associate_control_only()
 {
    let data = initialised();
    let (report, ok) = report_with(data.path(), "[provider]\nkind = \"anthropic\"\n");
    assert_eq!(
        failing(&report),
        BTreeSet::new(),
        "without a BAA the default sends Safe Harbor data"
    );
    assert!(ok);
    let (report, ok) = report_with(
        data.path(),
        "[provider]\nkind = \"anthropic\"\ndeid_mode = \"placeholder\"\n",
    );
    assert_eq!(
        failing(&report),
        BTreeSet::from(["business-associate-disclosure".to_owned()])
    );
    assert!(!ok, "disclosure to business associates is required");
    let (report, ok) = report_with(
        data.path(),
        "[provider]\nkind = \"anthropic\"\nbaa_on_record = true\ndeid_mode = \"placeholder\"\n",
    );
    assert_eq!(
        failing(&report),
        BTreeSet::new(),
        "with a BAA it is allowed"
    );
    assert!(ok);
}

#[test]
fn the_tests_check_fails_when_a_named_test_did_not_pass() {
    let data = tempfile::tempdir().unwrap();
    let results = data.path().join("run.txt");
    std::fs::write(&results, "test some::other_test ... ok\n").unwrap();
    let output = phigate(
        data.path(),
        &[
            "compliance",
            "tests",
            "--results",
            results.to_str().unwrap(),
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("did not run"));
    assert!(stderr.contains("expired_tokens_are_refused"));
}
