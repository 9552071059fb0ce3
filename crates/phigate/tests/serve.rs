//! `phigate serve` and `phigate token` from the command line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing step fails the test"
)]

mod common;

#[test]
fn serve_refuses_an_address_off_loopback_because_tls_is_not_built_yet() {
    let dir = tempfile::tempdir().unwrap();
    let output = common::phigate(dir.path(), &["serve", "--listen", "0.0.0.0:8080"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("loopback"), "{stderr}");
}

#[test]
fn token_prints_a_compact_jws_and_audits_the_minting() {
    let dir = tempfile::tempdir().unwrap();
    assert!(common::phigate(dir.path(), &["init"]).status.success());
    let output = common::phigate(dir.path(), &["token", "--subject", "ehr-bridge"]);
    assert!(output.status.success());
    let token = String::from_utf8(output.stdout).unwrap();
    assert_eq!(token.trim().split('.').count(), 3);
    let tail = common::phigate(dir.path(), &["audit", "tail", "-n", "1"]);
    let shown = String::from_utf8_lossy(&tail.stdout);
    assert!(shown.contains("token_issued"), "{shown}");
    let refused = common::phigate(dir.path(), &["token", "--role", "wizard"]);
    assert!(!refused.status.success());
}
