//! `phigate retention report|purge`, legal holds and deletion requests from the command line,
//! and the periodic purge of `phigate serve`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{patient_of, phigate, synthea_bundles};
use phigate_crypto::LocalKms;
use phigate_store::{Draft, DraftStatus, PatientRef, Store};

const DAY: i64 = 86_400;

fn ok(dir: &Path, args: &[&str]) -> String {
    let output = phigate(dir, args);
    assert!(
        output.status.success(),
        "phigate {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn refused(dir: &Path, args: &[&str]) -> String {
    let output = phigate(dir, args);
    assert!(!output.status.success(), "phigate {args:?} succeeded");
    String::from_utf8(output.stderr).unwrap()
}

fn open_store(dir: &Path) -> Store {
    let kms = LocalKms::open(&dir.join("keys/root.key")).unwrap();
    Store::open(&dir.join("phigate.db"), Arc::new(kms)).unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn awaiting(id: &str, patient: &PatientRef, created_at: i64) -> Draft {
    Draft {
        id: id.into(),
        tenant: "default".into(),
        patient: patient.clone(),
        task: "clinical-note".into(),
        status: DraftStatus::AwaitingReview,
        created_by: "dr-1".into(),
        created_at,
        reviewed_by: None,
        reviewed_at: None,
    }
}

/// Two imported patients, each with a draft and a vault map past retention; the first also
/// has a fresh draft. Returns the patients' ids.
fn two_patients_with_old_data(dir: &Path) -> [String; 2] {
    ok(dir, &["init"]);
    let bundles: Vec<_> = synthea_bundles().into_iter().take(2).collect();
    for b in &bundles {
        ok(dir, &["import", b.to_str().unwrap()]);
    }
    let ids = [0, 1].map(|i| patient_of(&bundles[i])["id"].as_str().unwrap().to_owned());
    let store = open_store(dir);
    for (i, id) in ids.iter().enumerate() {
        let patient = store.patient_ref("default", id);
        let old = awaiting(&format!("old-{i}"), &patient, now() - 200 * DAY);
        store.create_draft(&old, b"an old note").unwrap();
        store
            .save_vault("default", &patient, &format!("conv-{i}"), b"map")
            .unwrap();
    }
    let first = store.patient_ref("default", &ids[0]);
    store
        .create_draft(&awaiting("fresh", &first, now()), b"new")
        .unwrap();
    let conn = rusqlite::Connection::open(dir.join("phigate.db")).unwrap();
    conn.execute("UPDATE vaults SET updated_at = ?1", [now() - 40 * DAY])
        .unwrap();
    ids
}

fn draft_ids(dir: &Path) -> Vec<String> {
    open_store(dir)
        .drafts("default")
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect()
}

#[test]
fn retention_purges_old_drafts_and_vaults_but_keeps_a_held_patients_until_release() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let [held, other] = two_patients_with_old_data(dir);

    let placed = ok(
        dir,
        &[
            "patient",
            "hold",
            "--patient",
            &held,
            "--reason",
            "litigation 2026-17",
        ],
    );
    assert!(placed.contains("is under legal hold"), "{placed}");
    assert!(
        !placed.contains(&held),
        "output names the patient by reference only"
    );
    let twice = refused(
        dir,
        &["patient", "hold", "--patient", &held, "--reason", "x"],
    );
    assert!(twice.contains("already under legal hold"), "{twice}");
    assert!(ok(dir, &["patient", "holds"]).starts_with("1 patients under legal hold"));

    let report = ok(dir, &["retention", "report"]);
    assert!(
        report.contains("drafts, awaiting review       90 d        1"),
        "{report}"
    );
    assert!(
        report.contains("vault maps                    30 d        1"),
        "{report}"
    );
    assert!(report.contains("2 rows past retention kept for 1 patients under legal hold"));
    assert_eq!(draft_ids(dir).len(), 3, "a report deletes nothing");

    let purged = ok(dir, &["retention", "purge"]);
    assert!(
        purged.contains("1 drafts awaiting review, 1 vault maps; 2 rows kept for legal hold"),
        "{purged}"
    );
    assert!(purged.contains("audit pruning skipped (a legal hold is active)"));
    assert_eq!(draft_ids(dir), ["old-0", "fresh"]);
    let store = open_store(dir);
    let held_ref = store.patient_ref("default", &held);
    let other_ref = store.patient_ref("default", &other);
    assert!(
        store
            .load_vault("default", &held_ref, "conv-0")
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .load_vault("default", &other_ref, "conv-1")
            .unwrap()
            .is_none()
    );
    drop(store);

    // A held patient cannot be deleted; the refusal is audited.
    let err = refused(dir, &["patient", "forget", &held]);
    assert!(err.contains("under legal hold"), "{err}");
    let tail = ok(dir, &["audit", "tail", "-n", "1"]);
    assert!(
        tail.contains("patient_forget") && tail.contains("failed"),
        "{tail}"
    );

    ok(dir, &["patient", "release", "--patient", &held]);
    let purged = ok(dir, &["retention", "purge"]);
    assert!(
        purged.contains("1 drafts awaiting review, 1 vault maps; 0 rows kept"),
        "{purged}"
    );
    assert!(purged.contains("0 audit entry bodies pruned"), "{purged}");
    assert_eq!(draft_ids(dir), ["fresh"]);

    let audited = ok(dir, &["audit", "search", "--action", "retention"]);
    assert!(audited.contains("1 drafts awaiting review"), "{audited}");
    let holds = ok(dir, &["audit", "search", "--action", "legal_hold"]);
    assert!(holds.contains("hold placed") && holds.contains("hold released"));
    assert!(
        !holds.contains("litigation"),
        "the reason stays sealed in the store"
    );
    assert!(ok(dir, &["audit", "verify"]).starts_with("audit log OK"));
}

#[test]
fn a_deleted_patient_is_reimported_only_when_asked_and_the_tombstone_stays() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let [gone, _] = two_patients_with_old_data(dir);
    let bundle = synthea_bundles()[0].clone();

    let forgot = ok(
        dir,
        &["patient", "forget", &gone, "--request-id", "DSR-2026-001"],
    );
    assert!(forgot.contains("2 drafts and"), "{forgot}");
    assert_eq!(draft_ids(dir), ["old-1"]);

    let err = refused(dir, &["import", bundle.to_str().unwrap()]);
    assert!(err.contains("deleted on request DSR-2026-001"), "{err}");
    assert!(err.contains("--allow-reimport"), "{err}");
    let without_path = err.replace(bundle.to_str().unwrap(), "");
    assert!(
        !without_path.contains(&gone),
        "only the file's own name carries the id"
    );

    let again = ok(
        dir,
        &["import", "--allow-reimport", bundle.to_str().unwrap()],
    );
    assert!(again.contains("1 imported again after deletion"), "{again}");
    let store = open_store(dir);
    let patient = store.patient_ref("default", &gone);
    assert!(!store.load_patient("default", &patient).unwrap().is_empty());
    let tombstones = ok(dir, &["patient", "tombstones"]);
    assert!(tombstones.contains("request DSR-2026-001"));
    assert!(tombstones.contains("imported again at"), "{tombstones}");
    // Once re-imported on purpose, later imports need no flag.
    ok(dir, &["import", bundle.to_str().unwrap()]);
    assert!(ok(dir, &["audit", "verify"]).starts_with("audit log OK"));
}

#[test]
fn retention_and_audit_prune_refuse_an_audit_retention_under_six_years() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("pd");
    ok(&dir, &["init"]);
    let config = data.path().join("short.toml");
    std::fs::write(&config, "[audit]\nretention_days = 30\n").unwrap();
    let config = config.to_str().unwrap();
    for args in [
        ["--config", config, "retention", "purge"],
        ["--config", config, "audit", "prune"],
    ] {
        let err = refused(&dir, &args);
        assert!(err.contains("kept at least 2192 days"), "{err}");
    }
}

#[test]
fn serve_purges_on_its_interval() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    two_patients_with_old_data(dir);
    let mut command = Command::new(env!("CARGO_BIN_EXE_phigate"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
        command.env_remove(name);
    }
    let mut child = command
        .env("PHIGATE_RETENTION_PURGE_INTERVAL_SECS", "10")
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening"), "{line}");

    let mut audited = String::new();
    for _ in 0..25 {
        std::thread::sleep(Duration::from_secs(1));
        audited = ok(dir, &["audit", "search", "--action", "retention"]);
        if audited.contains("purged") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        audited.contains("2 drafts awaiting review, 2 vault maps"),
        "the periodic purge ran within 25 seconds: {audited}"
    );
    assert_eq!(draft_ids(dir), ["fresh"]);
}
