//! `phigate backup` while `phigate serve` is under load, and `phigate restore` into a new data
//! directory that then serves the same patients with an audit log that verifies; for an SQLite
//! deployment, and for a PostgreSQL one (schemas of the test's own on `127.0.0.1:5432`),
//! restored both into SQLite and into new schemas.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "tests; a skipped PostgreSQL half must be visible"
)]

mod common;
mod pg;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{patient_of, phigate, synthea_bundles};
use pg::{Scratch, Server};

const VISIT: &str = "Doctor: What brings you in today? Patient: My left knee has hurt for two \
                     weeks, worse on stairs. Doctor: Any swelling? Patient: A little, in the evening.";

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

fn serve(dir: &Path) -> Server {
    pg::serve_with(&["--data-dir".as_ref(), dir.as_os_str()])
}

/// One HTTP/1.1 exchange with a bearer token; the status and the body.
fn http(addr: &str, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let headers = format!("Authorization: Bearer {token}\r\nContent-Type: application/json\r\n");
    let (status, _, body) = pg::http(addr, method, path, &headers, body);
    (status, body)
}

/// Asks for a clinical note for `patient`; the new draft's id.
fn note(addr: &str, token: &str, patient: &str) -> String {
    let body = serde_json::json!({"patient": patient, "input": VISIT}).to_string();
    let (status, body) = http(addr, "POST", "/v1/tasks/clinical-note", token, &body);
    assert_eq!(status, 200, "{body}");
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    value["draft_id"].as_str().unwrap().to_owned()
}

fn token(dir: &Path) -> String {
    ok(dir, &["token", "--role", "clinician", "--subject", "dr-1"])
        .trim()
        .to_owned()
}

#[test]
fn a_backup_taken_under_load_restores_to_a_gateway_serving_the_same_patients() {
    let data = tempfile::tempdir().unwrap();
    let old = data.path().join("old");
    ok(&old, &["init"]);
    let bundles: Vec<_> = synthea_bundles().into_iter().take(3).collect();
    let ids: Vec<String> = bundles
        .iter()
        .map(|p| patient_of(p)["id"].as_str().unwrap().to_owned())
        .collect();
    for b in &bundles {
        ok(&old, &["import", b.to_str().unwrap()]);
    }

    let server = serve(&old);
    let token_old = token(&old);
    let before = note(&server.addr, &token_old, &ids[0]);

    // Load: clinical notes for every patient, back to back, while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (addr, token, ids, stop) = (
            server.addr.clone(),
            token_old.clone(),
            ids.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || {
            let mut drafts = 0;
            while !stop.load(Ordering::SeqCst) {
                note(&addr, &token, &ids[drafts % ids.len()]);
                drafts += 1;
            }
            drafts
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    let backup = data.path().join("backup");
    let written = ok(&old, &["backup", "--out", backup.to_str().unwrap()]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let drafts_under_load = load.join().unwrap();
    drop(server);
    assert!(
        drafts_under_load >= 2,
        "the gateway was busy during the backup"
    );
    assert!(
        written.contains("phigate.db") && written.contains("audit.db"),
        "{written}"
    );
    assert!(written.contains("keys are not in it"));

    // Keys are not in the backup; the manifest lists digests only.
    let names: Vec<String> = std::fs::read_dir(&backup)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["audit.db", "manifest.json", "phigate.db"]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["keys_included"], false);
    let root_key = std::fs::read(old.join("keys/root.key")).unwrap();
    for name in ["audit.db", "manifest.json", "phigate.db"] {
        let bytes = std::fs::read(backup.join(name)).unwrap();
        assert!(
            !bytes
                .windows(root_key.len())
                .any(|w| w == root_key.as_slice()),
            "{name} holds the root key"
        );
    }

    // Restore into a new data directory with the old keys, and serve from it.
    let new = data.path().join("new");
    let keys = old.join("keys");
    let restored = ok(
        &new,
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--keys",
            keys.to_str().unwrap(),
        ],
    );
    assert!(restored.contains(": 3 patients"), "{restored}");
    assert!(restored.contains("audit log OK"), "{restored}");
    assert!(ok(&new, &["audit", "verify"]).starts_with("audit log OK"));
    let audited = ok(&new, &["audit", "search", "--action", "restore"]);
    assert!(audited.contains("restored the backup taken"), "{audited}");
    let backed_up = ok(&new, &["audit", "search", "--action", "backup"]);
    assert!(
        backed_up.contains("store snapshot"),
        "the backup holds its own record"
    );

    let server = serve(&new);
    let token_new = token(&new);
    let (status, body) = http(
        &server.addr,
        "GET",
        &format!("/v1/drafts/{before}"),
        &token_new,
        "",
    );
    assert_eq!(
        status, 200,
        "a draft written before the backup is served: {body}"
    );
    for id in &ids {
        note(&server.addr, &token_new, id);
    }
    drop(server);
    assert!(ok(&new, &["audit", "verify"]).starts_with("audit log OK"));
}

#[test]
fn restore_refuses_an_altered_backup_a_used_directory_and_other_keys() {
    let data = tempfile::tempdir().unwrap();
    let old = data.path().join("old");
    ok(&old, &["init"]);
    ok(&old, &["import", synthea_bundles()[0].to_str().unwrap()]);
    let backup = data.path().join("backup");
    ok(&old, &["backup", "--out", backup.to_str().unwrap()]);
    let keys = old.join("keys");
    let keys = keys.to_str().unwrap();
    let from = backup.to_str().unwrap();

    let err = refused(&old, &["backup", "--out", from]);
    assert!(err.contains("is not empty"), "{err}");
    let err = refused(&old, &["restore", "--from", from, "--keys", keys]);
    assert!(err.contains("is not empty"), "{err}");

    let stranger = data.path().join("stranger");
    ok(&stranger, &["init"]);
    let other_keys = stranger.join("keys");
    let fresh = data.path().join("fresh");
    let err = refused(
        &fresh,
        &[
            "restore",
            "--from",
            from,
            "--keys",
            other_keys.to_str().unwrap(),
        ],
    );
    assert!(err.contains("does not open with these keys"), "{err}");
    // The failed attempt left the directory empty, so the right keys can follow.
    assert!(std::fs::read_dir(&fresh).unwrap().next().is_none());
    ok(&fresh, &["restore", "--from", from, "--keys", keys]);

    let mut bytes = std::fs::read(backup.join("audit.db")).unwrap();
    let last = bytes.len() - 100;
    bytes[last] ^= 0x01;
    std::fs::write(backup.join("audit.db"), bytes).unwrap();
    let err = refused(
        &data.path().join("third"),
        &["restore", "--from", from, "--keys", keys],
    );
    assert!(err.contains("does not match its SHA-256"), "{err}");
    assert!(!data.path().join("third").exists(), "nothing was written");
}

/// `phigate --config CONFIG ARGS`, which must succeed; its standard output.
fn ok_with(config: &Path, args: &[&str]) -> String {
    let output = pg::phigate(config, args);
    assert!(
        output.status.success(),
        "phigate {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Serves from a restored deployment: the draft written before the backup, and a new note for
/// every patient; then its audit log verifies.
fn serves_the_same_patients(server: &Server, token: &str, before: &str, ids: &[String]) {
    let (status, body) = http(
        &server.addr,
        "GET",
        &format!("/v1/drafts/{before}"),
        token,
        "",
    );
    assert_eq!(
        status, 200,
        "a draft written before the backup is served: {body}"
    );
    for id in ids {
        note(&server.addr, token, id);
    }
}

#[test]
fn a_postgres_backup_taken_under_load_restores_into_sqlite_and_into_new_schemas() {
    let Some(source) = Scratch::new("backup") else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let old = data.path().join("old");
    std::fs::create_dir_all(&old).unwrap();
    let config = source.write_config(&old, "");
    ok_with(&config, &["init"]);
    let bundles: Vec<_> = synthea_bundles().into_iter().take(3).collect();
    let ids: Vec<String> = bundles
        .iter()
        .map(|p| patient_of(p)["id"].as_str().unwrap().to_owned())
        .collect();
    for b in &bundles {
        ok_with(&config, &["import", b.to_str().unwrap()]);
    }
    let clinician = ["token", "--role", "clinician", "--subject", "dr-1"];
    let server = pg::serve(&config);
    let token_old = ok_with(&config, &clinician).trim().to_owned();
    let before = note(&server.addr, &token_old, &ids[0]);

    // Load: clinical notes back to back through the running gateway while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (addr, token, ids, stop) = (
            server.addr.clone(),
            token_old.clone(),
            ids.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || {
            let mut drafts = 0;
            while !stop.load(Ordering::SeqCst) {
                note(&addr, &token, &ids[drafts % ids.len()]);
                drafts += 1;
            }
            drafts
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    let backup = data.path().join("backup");
    let written = ok_with(&config, &["backup", "--out", backup.to_str().unwrap()]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let drafts_under_load = load.join().unwrap();
    drop(server);
    assert!(
        drafts_under_load >= 2,
        "the gateway was busy during the backup"
    );
    assert!(written.contains("entries copied"), "{written}");
    let mut names: Vec<String> = std::fs::read_dir(&backup)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["audit.db", "manifest.json", "phigate.db"],
        "{names:?}"
    );
    let keys = old.join("data/keys");
    let root_key = std::fs::read(keys.join("root.key")).unwrap();
    for name in &names {
        let bytes = std::fs::read(backup.join(name)).unwrap();
        assert!(
            !bytes
                .windows(root_key.len())
                .any(|w| w == root_key.as_slice()),
            "{name} holds the root key"
        );
    }
    let (from, keys) = (backup.to_str().unwrap(), keys.to_str().unwrap());

    // Into an SQLite data directory.
    let sqlite = data.path().join("sqlite");
    let restored = ok(&sqlite, &["restore", "--from", from, "--keys", keys]);
    assert!(restored.contains(": 3 patients"), "{restored}");
    assert!(restored.contains("audit log OK"), "{restored}");
    let server = serve(&sqlite);
    serves_the_same_patients(&server, &token(&sqlite), &before, &ids);
    drop(server);
    assert!(ok(&sqlite, &["audit", "verify"]).starts_with("audit log OK"));

    // Into a new, empty pair of PostgreSQL schemas.
    let Some(target) = Scratch::new("restore") else {
        return;
    };
    let new = data.path().join("new");
    std::fs::create_dir_all(&new).unwrap();
    let config_new = target.write_config(&new, "");
    let restored = ok_with(&config_new, &["restore", "--from", from, "--keys", keys]);
    assert!(restored.contains(": 3 patients"), "{restored}");
    assert!(restored.contains("audit log OK"), "{restored}");
    // Every entry of the backup's log is in the new schema as it was in the old one.
    let (old_log, new_log) = (source.audit_entries(), target.audit_entries());
    let copied = new_log.len() - 1;
    assert!(copied > 0 && copied <= old_log.len());
    assert_eq!(
        old_log[..copied],
        new_log[..copied],
        "the restored log differs"
    );
    let server = pg::serve(&config_new);
    let token_new = ok_with(&config_new, &clinician).trim().to_owned();
    serves_the_same_patients(&server, &token_new, &before, &ids);
    drop(server);
    assert!(ok_with(&config_new, &["audit", "verify"]).starts_with("audit log OK"));

    // A second restore into the same, now used, schemas is refused.
    let again = data.path().join("again");
    std::fs::create_dir_all(&again).unwrap();
    let config_again = target.write_config(&again, "");
    let output = pg::phigate(&config_again, &["restore", "--from", from, "--keys", keys]);
    assert!(!output.status.success(), "a used schema was restored into");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("not empty"), "{err}");
}
