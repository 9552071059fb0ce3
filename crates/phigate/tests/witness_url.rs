//! `audit.witness_url`: the commands deliver every checkpoint they sign to a receiver on
//! loopback that checks the signature, and `phigate compliance report` fails the audit control
//! while delivery fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing step fails the test"
)]

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::phigate;
use phigate_audit::{Checkpoint, CheckpointSigner};
use serde_json::Value;

/// A receiver answering `200` to a note whose signature verifies under `public_key`, `400`
/// otherwise; the sizes it accepted.
fn receiver(public_key: String) -> (String, Arc<Mutex<Vec<u64>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/checkpoints", listener.local_addr().unwrap());
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(&mut stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let note = String::from_utf8(body).unwrap();
            let verified = Checkpoint::from_note(&note).and_then(|c| {
                c.verify(&public_key)?;
                Ok(c.size)
            });
            let status = match verified {
                Ok(size) => {
                    record.lock().unwrap().push(size);
                    "200 OK"
                }
                Err(_) => "400 Bad Request",
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, accepted)
}

fn with_config(data: &Path, url: &str, args: &[&str]) -> std::process::Output {
    let config = data.join("witness.toml");
    std::fs::write(&config, format!("[audit]\nwitness_url = \"{url}\"\n")).unwrap();
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    phigate(data, &all)
}

fn failing(report: &Value) -> BTreeSet<String> {
    report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_checkpoint_reaches_the_witness_url_and_a_failing_one_fails_the_audit_control() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("pd");
    assert!(phigate(&dir, &["init"]).status.success());
    let key = CheckpointSigner::load_or_create(&dir.join("keys/audit-signing.pk8")).unwrap();
    let (url, accepted) = receiver(key.public_key_hex());

    let demo = with_config(&dir, &url, &["demo"]);
    assert!(demo.status.success());
    let latest = with_config(&dir, &url, &["audit", "prove", "inclusion", "--seq", "0"]);
    let proof: Value = serde_json::from_slice(&latest.stdout).unwrap();
    let size = proof["tree_size"].as_u64().unwrap();
    let sizes = accepted.lock().unwrap().clone();
    assert!(!sizes.is_empty());
    assert_eq!(
        sizes.iter().max(),
        Some(&size),
        "the latest checkpoint was delivered"
    );

    let report = with_config(&dir, &url, &["compliance", "report", "--json"]);
    let json: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(failing(&json), BTreeSet::new());
    assert!(report.status.success());
    let evidence = json.to_string();
    assert!(
        evidence.contains("delivered to http://127.0.0.1"),
        "{evidence}"
    );

    // A receiver that cannot be reached: appends go on, the report fails the audit control.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}/checkpoints", closed.local_addr().unwrap());
    drop(closed);
    let blocked = with_config(
        &dir,
        &gone,
        &["providers", "block", "echo", "--reason", "INC-7 test"],
    );
    assert!(
        blocked.status.success(),
        "appends do not wait for the witness"
    );
    let report = with_config(&dir, &gone, &["compliance", "report", "--json"]);
    let json: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(
        failing(&json),
        BTreeSet::from(["audit-controls".to_owned()])
    );
    assert!(!report.status.success());
    assert!(json.to_string().contains("could not connect"));
}
