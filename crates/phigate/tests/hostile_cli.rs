//! Hostile input to the command line: SQL-injection strings in every option that takes an id
//! or a name, and path tricks in every option that takes a file or directory (traversal in a
//! backup manifest, symlinks to somewhere else, FIFOs and directories where a file belongs).
//! Each must be refused with a clear error (no panic, no hang, nothing written outside the
//! place the operator named), and the data directory must be as it was afterwards.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should stop right there"
)]

mod common;

use std::path::Path;
use std::process::Output;

use common::{phigate, synthea_bundles};

/// A marker inside every injected string, to find it quoted back.
const MARK: &str = "zq9mark";

fn injections() -> Vec<String> {
    [
        "' OR '1'='1' --",
        "1; DROP TABLE patients; --",
        "x') OR 1=1; DELETE FROM users; --",
    ]
    .iter()
    .map(|s| format!("{MARK}{s}"))
    .collect()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let output = phigate(dir, args);
    assert!(
        output.status.success(),
        "phigate {} failed: {}",
        args[0],
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Refused cleanly: a failure exit, an error that says something, no panic.
fn assert_refused(case: &str, output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{case}: accepted");
    assert!(!stderr.trim().is_empty(), "{case}: refused without a word");
    assert!(!stderr.contains("panicked"), "{case}: panicked");
    assert_ne!(output.status.code(), None, "{case}: killed by a signal");
}

/// What must not change: the users, the patients, and an audit log that verifies.
fn state(dir: &Path) -> (String, String) {
    let verify = ok(dir, &["audit", "verify"]);
    assert!(verify.contains("OK"), "the audit log does not verify");
    // `run` adds the local operator's account on first use: that is not the injection's doing.
    let users = ok(dir, &["users", "list"])
        .lines()
        .filter(|line| !line.starts_with("local-"))
        .collect::<Vec<_>>()
        .join("\n");
    (users, ok(dir, &["patient", "holds"]))
}

fn data_dir_with_a_patient() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bundle = synthea_bundles().remove(0);
    ok(&data, &["init"]);
    ok(&data, &["import", bundle.to_str().unwrap()]);
    ok(&data, &["users", "add", "nurse.one", "--role", "nurse"]);
    dir
}

#[test]
fn sql_injection_in_every_id_and_name_option_is_refused_and_changes_nothing() {
    let dir = data_dir_with_a_patient();
    let data = dir.path().join("data");
    let before = state(&data);
    for evil in injections() {
        let e = evil.as_str();
        let cases: Vec<Vec<&str>> = vec![
            vec!["users", "disable", e],
            vec!["users", "enable", e],
            vec!["users", "reset-mfa", e],
            vec!["users", "add", e, "--role", "nurse"],
            vec!["users", "add", "nurse.two", "--role", e],
            vec!["clients", "revoke", e],
            vec!["drafts", "show", e],
            vec!["drafts", "approve", e],
            vec!["drafts", "reject", e, "--reason", e],
            vec!["run", "clinical-note", "--patient", e],
            vec!["run", e, "--patient", e],
            vec!["patient", "forget", e],
            vec!["patient", "forget", e, "--ref"],
            vec!["patient", "hold", "--patient", e, "--reason", e],
            vec!["patient", "release", "--patient", e],
            vec!["incidents", "show", e],
            vec!["incidents", "ack", e],
            vec!["audit", "disclosures", "--patient", e, "--since", e],
        ];
        for args in cases {
            let case = format!("{} {} with an injected value", args[0], args[1]);
            let output = phigate(&data, &args);
            assert_refused(&case, &output);
        }
    }
    // Searches take any string and simply match nothing.
    for evil in injections() {
        let out = phigate(&data, &["audit", "search", "--user", &evil]);
        assert!(out.status.success(), "a search for an odd user name failed");
    }
    assert_eq!(
        state(&data),
        before,
        "an injected value changed the data directory"
    );
}

#[test]
fn file_options_refuse_traversal_symlinks_fifos_and_directories() {
    let dir = data_dir_with_a_patient();
    let data = dir.path().join("data");
    let before = state(&data);
    let root = dir.path();

    // A backup into a symlink to a directory that holds something is refused, the file kept.
    let victim = root.join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("keep.txt"), b"keep").unwrap();
    std::os::unix::fs::symlink(&victim, root.join("link")).unwrap();
    let out = phigate(
        &data,
        &["backup", "--out", root.join("link").to_str().unwrap()],
    );
    assert_refused("backup into a symlink to a non-empty directory", &out);
    assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 1);
    let out = phigate(
        &data,
        &["backup", "--out", victim.join("keep.txt").to_str().unwrap()],
    );
    assert_refused("backup onto a file", &out);
    assert_eq!(std::fs::read(victim.join("keep.txt")).unwrap(), b"keep");

    // A backup whose manifest names a path outside it restores nothing anywhere.
    let backup = root.join("backup");
    ok(&data, &["backup", "--out", backup.to_str().unwrap()]);
    let manifest_path = backup.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["files"][0]["name"] = serde_json::json!("../../escaped.db");
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let target = root.join("restored");
    let keys = data.join("keys");
    let out = phigate(
        &target,
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--keys",
            keys.to_str().unwrap(),
        ],
    );
    assert_refused("restore from a manifest naming ../../escaped.db", &out);
    assert!(!root.join("escaped.db").exists() && !target.join("../../escaped.db").exists());

    // Where a file belongs: a FIFO (which would block a naive reader), a directory, a symlink
    // to a FIFO, a path through `..` to nothing.
    let fifo = root.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink(&fifo, root.join("fifo-link")).unwrap();
    let files = [
        ("a FIFO", fifo.clone()),
        ("a symlink to a FIFO", root.join("fifo-link")),
        ("a directory", victim.clone()),
        (
            "a path through .. to nothing",
            root.join("../../../nonexistent/x.json"),
        ),
    ];
    for (kind, path) in &files {
        let p = path.to_str().unwrap();
        let cases: Vec<Vec<&str>> = vec![
            vec!["import", p],
            vec!["slots", "import", p],
            vec!["drafts", "edit", "d1", "--file", p],
            vec!["run", "clinical-note", "--bundle", p],
            vec!["clients", "add", "c1", "--role", "nurse", "--jwks", p],
            vec!["deid", "--key-file", p],
            vec!["restore", "--from", p],
        ];
        for args in cases {
            let case = format!("{} {} given {kind}", args[0], args[1]);
            assert_refused(&case, &phigate(&data, &args));
        }
    }
    assert_eq!(
        state(&data),
        before,
        "a refused file option changed the data directory"
    );
}

#[test]
fn clients_add_with_a_fifo_as_jwks_is_refused_instead_of_waiting_forever() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(&data, &["init"]);
    let fifo = dir.path().join("jwks");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_phigate"))
        .arg("--data-dir")
        .arg(&data)
        .args([
            "clients",
            "add",
            "c1",
            "--role",
            "nurse",
            "--method",
            "private_key_jwt",
        ])
        .arg("--jwks")
        .arg(&fifo)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let status = status.expect("phigate clients add waited on the FIFO for 30 seconds");
    assert!(!status.success(), "a FIFO was taken as a JWKS file");
}
