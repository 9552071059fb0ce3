//! Fault injection under the command line: a database that cannot be reached, a full disk
//! under the store and the audit log, and a key service that cannot be reached. Each must end
//! in a clear error (no panic, no hang, nothing about the data in the message), leave nothing
//! half-written, and leave an audit log that verifies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should stop right there"
)]

mod common;

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{phigate, synthea_bundles};

/// A loopback port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

fn run_with(data: &Path, env: &[(&str, String)], args: &[&str]) -> (Output, Duration) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_phigate"));
    for (name, _) in
        std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_") || n.starts_with("AWS_"))
    {
        command.env_remove(name);
    }
    command.arg("--data-dir").arg(data).args(args);
    command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let started = Instant::now();
    let output = command.output().unwrap();
    (output, started.elapsed())
}

fn assert_refused(case: &str, output: &Output, took: Duration) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{case}: accepted");
    assert_ne!(output.status.code(), None, "{case}: killed by a signal");
    assert!(!stderr.trim().is_empty(), "{case}: refused without a word");
    assert!(!stderr.contains("panicked"), "{case}: panicked");
    assert!(took < Duration::from_secs(90), "{case}: took {took:?}");
}

fn ok(data: &Path, args: &[&str]) -> String {
    let output = phigate(data, args);
    assert!(
        output.status.success(),
        "phigate {} failed: {}",
        args[0],
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_database_that_cannot_be_reached_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(&data, &["init"]);
    let url = format!("postgres://postgres@127.0.0.1:{}/test", closed_port());
    let cases = [
        ("the store", "PHIGATE_STORE_POSTGRES_URL"),
        ("the audit log", "PHIGATE_AUDIT_POSTGRES_URL"),
    ];
    for (what, variable) in cases {
        for args in [
            &["users", "list"][..],
            &["audit", "verify"],
            &["serve", "--listen", "127.0.0.1:0"],
        ] {
            let (output, took) = run_with(&data, &[(variable, url.clone())], args);
            assert_refused(
                &format!("{what} unreachable for {}", args[0]),
                &output,
                took,
            );
        }
    }
    // The local data directory is untouched by the refused runs.
    assert!(ok(&data, &["audit", "verify"]).contains("OK"));
}

/// `phigate ARGS` unable to grow any file past `limit` bytes: a disk that fills up. The shell
/// ignores SIGXFSZ first (an ignored signal stays ignored across exec), so the write fails with
/// EFBIG, as on a full disk, instead of the process being killed.
fn on_a_full_disk(data: &Path, limit: u64, args: &[&str]) -> (Output, Duration) {
    let script = format!("trap '' XFSZ; exec prlimit --fsize={limit} -- \"$@\"");
    let mut command = Command::new("sh");
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
        command.env_remove(name);
    }
    command
        .args([
            "-c",
            &script,
            "sh",
            env!("CARGO_BIN_EXE_phigate"),
            "--data-dir",
        ])
        .arg(data)
        .args(args);
    let started = Instant::now();
    let output = command.output().unwrap();
    (output, started.elapsed())
}

#[test]
fn a_full_disk_under_the_store_and_audit_log_refuses_the_import_and_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bundles = synthea_bundles();
    let (first, second) = (bundles[0].to_str().unwrap(), bundles[1].to_str().unwrap());
    ok(&data, &["init"]);
    ok(&data, &["import", first]);
    let sealed = |status: String| {
        status
            .lines()
            .filter(|l| l.starts_with("sealed values"))
            .collect::<String>()
    };
    let patients = sealed(ok(&data, &["keys", "status"]));
    let entries = ok(&data, &["audit", "verify"]);

    // 64 KiB lets the databases open and fails the import half-way through its writes; zero
    // fails them at the first byte.
    let cases: [(&str, u64, &[&str]); 3] = [
        (
            "an import onto a disk that fills up",
            64 * 1024,
            &["import", second],
        ),
        ("an import onto a full disk", 0, &["import", second]),
        (
            "a new user onto a full disk",
            0,
            &["users", "add", "nurse.one", "--role", "nurse"],
        ),
    ];
    for (case, limit, args) in cases {
        let (output, took) = on_a_full_disk(&data, limit, args);
        assert_refused(case, &output, took);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("disk"), "{case}: not refused for the disk");
    }
    // Nothing of the refused runs stayed: the same sealed values (a refused import may leave
    // the new patient's empty key behind), the same verifying log.
    assert_eq!(
        sealed(ok(&data, &["keys", "status"])),
        patients,
        "the refused import left sealed values"
    );
    assert_eq!(
        ok(&data, &["audit", "verify"]),
        entries,
        "the refused runs left log entries"
    );
    // With space back, the same import goes through.
    ok(&data, &["import", second]);
    assert!(ok(&data, &["audit", "verify"]).contains("OK"));
}

#[test]
fn an_aws_kms_that_cannot_be_reached_refuses_init_and_leaves_no_half_made_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [
        ("PHIGATE_KEYS_KMS", "aws".to_owned()),
        (
            "PHIGATE_KEYS_AWS_KEY_ID",
            "11111111-2222-3333-4444-555555555555".to_owned(),
        ),
        ("PHIGATE_KEYS_AWS_REGION", "us-east-1".to_owned()),
        (
            "PHIGATE_KEYS_AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", closed_port()),
        ),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
    ];
    let (output, took) = run_with(&data, &env, &["init"]);
    assert_refused("init with an unreachable KMS", &output, took);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("testing"),
        "the error carries a credential"
    );
    // A refused init can be run again with a key service that works.
    ok(&data, &["init"]);
    assert!(ok(&data, &["audit", "verify"]).contains("OK"));
}
