//! `phigate keys status|rotate|rewrap` and `phigate patient forget` on real imported bundles.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{patient_of, phigate, synthea_bundles};
use phigate_crypto::{CryptoError, LocalKms};
use phigate_store::{Store, StoreError};

fn stdout_of(dir: &Path, args: &[&str]) -> String {
    let output = phigate(dir, args);
    assert!(
        output.status.success(),
        "phigate {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn import(dir: &Path, count: usize) -> Vec<String> {
    let bundles: Vec<_> = synthea_bundles().into_iter().take(count).collect();
    let mut args = vec!["import"];
    let paths: Vec<String> = bundles
        .iter()
        .map(|p| p.to_str().unwrap().to_owned())
        .collect();
    args.extend(paths.iter().map(String::as_str));
    stdout_of(dir, &args);
    bundles
        .iter()
        .map(|p| patient_of(p)["id"].as_str().unwrap().to_owned())
        .collect()
}

fn open_store(dir: &Path) -> Store {
    let kms = LocalKms::open(&dir.join("keys/root.key")).unwrap();
    Store::open(&dir.join("phigate.db"), Arc::new(kms)).unwrap()
}

/// The number on the status line of `kind` version `version` after `seals`.
fn sealed_by(status: &str, version: &str) -> u64 {
    let line = status
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{version} ")) && l.contains("patients:"))
        .unwrap_or_else(|| panic!("no patient line for {version} in status"));
    line.rsplit("seals ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

/// How many values the tenant key's `version` seals, from `phigate keys status`.
fn tenant_sealed_by(status: &str, version: &str) -> u64 {
    let line = status
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{version} ")) && l.contains("wraps"))
        .unwrap_or_else(|| panic!("no tenant line for {version} in status"));
    line.rsplit("seals ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[test]
fn rotate_then_rewrap_moves_every_value_to_the_new_versions_and_retires_the_old() {
    let dir = tempfile::tempdir().unwrap();
    stdout_of(dir.path(), &["init"]);
    import(dir.path(), 3);

    let before = stdout_of(dir.path(), &["keys", "status"]);
    assert!(before.contains("root key: local:"));
    let sealed = sealed_by(&before, "v1");
    assert!(sealed > 100, "three Synthea patients have many resources");
    assert!(before.contains("3 active"));

    let rotated = stdout_of(dir.path(), &["keys", "rotate"]);
    assert!(rotated.contains("new version 2"));
    assert!(rotated.contains("3 rotated"));
    let middle = stdout_of(dir.path(), &["keys", "status"]);
    assert!(middle.contains("3 decrypt_only"));
    assert_eq!(sealed_by(&middle, "v1"), sealed);
    assert_eq!(sealed_by(&middle, "v2"), 0);

    let rewrap = stdout_of(dir.path(), &["keys", "rewrap", "--grace-secs", "0"]);
    // Values sealed under the tenant key (an enrolled TOTP secret) move too.
    let moved = sealed + tenant_sealed_by(&middle, "v1");
    assert!(
        rewrap.contains(&format!("values rewrapped        {moved}")),
        "{rewrap}"
    );
    assert!(rewrap.contains("patient v1 x3") && rewrap.contains("tenant v1 x1"));
    let after = stdout_of(dir.path(), &["keys", "status"]);
    assert!(after.contains("3 retired"));
    assert_eq!(sealed_by(&after, "v1"), 0);
    assert_eq!(sealed_by(&after, "v2"), sealed);

    // The demo still reads its patient, through the new versions only.
    let demo = phigate(dir.path(), &["demo"]);
    assert!(demo.status.success());
    let tail = stdout_of(dir.path(), &["audit", "tail", "-n", "200"]);
    assert_eq!(tail.matches("key_rotation").count(), 2);
    assert!(stdout_of(dir.path(), &["audit", "verify"]).contains("OK"));
}

#[test]
fn a_forgotten_patient_loses_their_keys_and_rows_others_stay_readable_and_the_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    stdout_of(dir.path(), &["init"]);
    let ids = import(dir.path(), 3);

    let forgot = stdout_of(
        dir.path(),
        &["patient", "forget", &ids[1], "--request-id", "DSR-17"],
    );
    assert!(forgot.contains("1 key versions destroyed"), "{forgot}");
    assert!(forgot.contains("tombstone written for request DSR-17"));

    let store = open_store(dir.path());
    let gone = store.patient_ref("default", &ids[1]);
    let conn = rusqlite::Connection::open(dir.path().join("phigate.db")).unwrap();
    let rows: i64 = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM resources WHERE patient_ref = ?1)
                  + (SELECT COUNT(*) FROM patients WHERE patient_ref = ?1)",
            [gone.as_str()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 0, "the forgotten patient's rows are deleted");
    let destroyed: Vec<Vec<u8>> = conn
        .prepare("SELECT wrapped FROM keys WHERE patient = ?1")
        .unwrap()
        .query_map([gone.as_str()], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!destroyed.is_empty() && destroyed.iter().all(Vec::is_empty));
    assert!(matches!(
        store.load_patient("default", &gone),
        Err(StoreError::NotFound(_))
    ));
    let sealed_again = store.prepare_import(
        "default",
        &gone,
        &[("Patient".into(), ids[1].clone(), b"{}".to_vec())],
    );
    assert!(matches!(
        sealed_again.err(),
        Some(StoreError::Crypto(CryptoError::KeyDestroyed { .. }))
    ));
    for id in [&ids[0], &ids[2]] {
        let kept = store.patient_ref("default", id);
        assert!(!store.load_patient("default", &kept).unwrap().is_empty());
    }

    let tail = stdout_of(dir.path(), &["audit", "tail", "-n", "5"]);
    let tombstone = tail
        .lines()
        .find(|l| l.contains("patient_forget"))
        .expect("an audit tombstone");
    assert!(tombstone.contains("success"));
    assert!(tombstone.contains(&format!("patient={}", &gone.as_str()[..12])));
    assert!(
        !tombstone.contains(&ids[1]),
        "the tombstone names the patient only by ref"
    );
    let listed = stdout_of(dir.path(), &["patient", "tombstones"]);
    assert!(listed.contains(gone.as_str()) && listed.contains("request DSR-17"));
    assert!(!listed.contains(&ids[1]));
    assert!(stdout_of(dir.path(), &["audit", "verify"]).contains("OK"));

    // A second request is refused as already done; an unknown patient is refused; both audited.
    let again = phigate(dir.path(), &["patient", "forget", &ids[1]]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already deleted on request DSR-17"));
    let unknown = phigate(dir.path(), &["patient", "forget", "no-such-patient"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("patient not found"));
    let tail = stdout_of(dir.path(), &["audit", "tail", "-n", "2"]);
    let failed = tail
        .lines()
        .filter(|l| l.contains("patient_forget") && l.contains("failed"))
        .count();
    assert_eq!(failed, 2, "{tail}");
}

#[test]
fn a_root_key_from_an_environment_variable_replaces_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], key: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_phigate"));
        for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
            command.env_remove(name);
        }
        command
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env("PHIGATE_KEYS_ROOT_KEY_ENV", "TEST_ROOT_KEY_B64")
            .env_remove("TEST_ROOT_KEY_B64");
        if let Some(key) = key {
            command.env("TEST_ROOT_KEY_B64", key);
        }
        command.output().unwrap()
    };
    // 32 bytes of 0x2a in base64.
    let key = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";
    assert!(run(&["init"], Some(key)).status.success());
    assert!(!dir.path().join("keys/root.key").exists());
    let bundle = synthea_bundles()[0].to_str().unwrap().to_owned();
    assert!(run(&["import", &bundle], Some(key)).status.success());
    let status = run(&["keys", "status"], Some(key));
    assert!(String::from_utf8_lossy(&status.stdout).contains("1 active"));

    let missing = run(&["keys", "status"], None);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("TEST_ROOT_KEY_B64"));
    let other = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    assert!(!run(&["keys", "status"], Some(other)).status.success());
}
