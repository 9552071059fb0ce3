//! `phigate backup` while `phigate serve` is under load, and `phigate restore` into a new data
//! directory that then serves the same patients with an audit log that verifies.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{patient_of, phigate, synthea_bundles};

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

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_phigate"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
        command.env_remove(name);
    }
    let mut child = command
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
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap();
    Server {
        child,
        addr: url.trim_start_matches("http://").to_owned(),
    }
}

/// One HTTP/1.1 exchange; the status and the body.
fn http(addr: &str, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
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
