//! `phigate users …` and `phigate clients …` as an operator uses them.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::phigate;

fn run_ok(dir: &std::path::Path, args: &[&str]) -> String {
    let output = phigate(dir, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn users_are_added_listed_disabled_enabled_and_their_mfa_reset() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    run_ok(dir, &["init"]);

    let added = run_ok(dir, &["users", "add", "nurse.a", "--role", "nurse"]);
    assert!(added.contains("one-time password"));
    assert!(!added.contains("otpauth://"), "nurses opt in to TOTP");
    let auditor = run_ok(dir, &["users", "add", "aud.b", "--role", "auditor"]);
    assert!(auditor.contains("otpauth://totp/Phigate:aud.b%40default?secret="));

    let list = run_ok(dir, &["users", "list"]);
    let line = |name: &str| {
        list.lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_owned()
    };
    assert!(line("nurse.a").contains("nurse") && line("nurse.a").contains("active"));
    assert!(line("aud.b").contains("yes"));

    run_ok(dir, &["users", "disable", "nurse.a"]);
    assert!(run_ok(dir, &["users", "list"]).contains("disabled"));
    run_ok(dir, &["users", "enable", "nurse.a"]);
    assert!(!run_ok(dir, &["users", "list"]).contains("disabled"));

    let reset = run_ok(dir, &["users", "reset-mfa", "aud.b"]);
    let new_uri = reset.lines().find(|l| l.contains("otpauth://")).unwrap();
    let old_uri = auditor.lines().find(|l| l.contains("otpauth://")).unwrap();
    assert_ne!(new_uri, old_uri);

    for bad in [
        vec!["users", "add", "nurse.a", "--role", "nurse"],
        vec!["users", "add", "x", "--role", "root"],
        vec!["users", "add", "svc", "--role", "service"],
        vec!["users", "add", "bad name", "--role", "nurse"],
        vec!["users", "disable", "nobody"],
    ] {
        assert!(!phigate(dir, &bad).status.success(), "{bad:?}");
    }
    let report = run_ok(dir, &["users", "break-glass-report"]);
    assert!(report.starts_with("0 break-glass accesses"), "{report}");
    run_ok(dir, &["audit", "verify"]);
}

#[test]
fn clients_are_added_with_a_secret_shown_once_listed_and_revoked() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    run_ok(dir, &["init"]);
    let added = run_ok(dir, &["clients", "add", "EHR bridge"]);
    let id = added
        .lines()
        .find_map(|l| l.strip_prefix("client_id"))
        .unwrap()
        .trim()
        .to_owned();
    let secret = added
        .lines()
        .find_map(|l| l.strip_prefix("client_secret"))
        .unwrap()
        .trim()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("phs_"));
    let list = run_ok(dir, &["clients", "list"]);
    assert!(list.contains(&id) && list.contains("active"));
    assert!(!list.contains(&secret), "the secret is never shown again");
    let db = std::fs::read(dir.join("phigate.db")).unwrap();
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));

    let public = run_ok(
        dir,
        &[
            "clients",
            "add",
            "Ward app",
            "--role",
            "clinician",
            "--method",
            "none",
            "--redirect-uri",
            "https://ward.example/cb",
        ],
    );
    assert!(!public.contains("client_secret"));

    run_ok(dir, &["clients", "revoke", &id]);
    assert!(run_ok(dir, &["clients", "list"]).contains("revoked"));
    for bad in [
        vec!["clients", "add", "x", "--method", "password"],
        vec!["clients", "add", "x", "--method", "private_key_jwt"],
        vec!["clients", "add", "x", "--scope", "admin/users"],
        vec![
            "clients",
            "add",
            "x",
            "--redirect-uri",
            "http://evil.example/cb",
        ],
        vec!["clients", "revoke", "cl_missing"],
    ] {
        assert!(!phigate(dir, &bad).status.success(), "{bad:?}");
    }
}
