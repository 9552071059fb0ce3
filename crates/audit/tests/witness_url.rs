//! Delivery of checkpoints to a witness URL, against a receiver on loopback that checks each
//! note's signature: appends never wait for the receiver, and everything signed reaches it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use phigate_audit::witness_url::{WitnessStatus, WitnessUrl};
use phigate_audit::{
    Action, Actor, AuditEvent, AuditLog, Checkpoint, CheckpointSigner, LogOptions, Outcome,
};

/// Reads one HTTP request; its body.
fn read_request(stream: &mut TcpStream) -> String {
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

/// A receiver that holds its first request until `release` says so, then answers each note
/// `200` if its signature verifies under `public_key` and `400` otherwise, recording the sizes
/// it accepted.
fn receiver(public_key: String, release: Receiver<()>) -> (String, Arc<Mutex<Vec<u64>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/witness", listener.local_addr().unwrap());
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&accepted);
    std::thread::spawn(move || {
        let mut first = true;
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let note = read_request(&mut stream);
            if first {
                release.recv().unwrap();
                first = false;
            }
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

fn event(n: u64) -> AuditEvent {
    let actor = Actor {
        user_id: format!("user-{n}"),
        role: "clinician".into(),
        client_id: None,
        address: None,
    };
    AuditEvent::new(actor, Action::Read, Outcome::Success)
}

#[test]
fn appends_never_wait_for_the_witness_and_every_checkpoint_reaches_it_signed() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("audit.key");
    let signer = CheckpointSigner::load_or_create(&key).unwrap();
    let public_key = signer.public_key_hex();
    let (release, held) = channel();
    let (url, accepted) = receiver(public_key, held);
    let status_file = dir.path().join("witness.json");
    // A timeout longer than the test, so the held request is not retried.
    let mut target = WitnessUrl::new(&url, &status_file);
    target.timeout = Duration::from_secs(300);
    let options = LogOptions {
        checkpoint_every: 10,
        witness_url: Some(target),
        ..LogOptions::default()
    };
    let log =
        AuditLog::open_with(&dir.path().join("audit.db"), signer, "test/audit", options).unwrap();

    // The receiver answers nothing yet, and still every append is acknowledged.
    for n in 0..55 {
        log.append(event(n)).unwrap();
    }
    let last = log.checkpoint().unwrap();
    assert_eq!(last.size, 55);
    assert!(
        accepted.lock().unwrap().is_empty(),
        "nothing was acknowledged yet"
    );

    // Closing the log delivers what is queued, in order, each signature checked by the receiver.
    release.send(()).unwrap();
    drop(log);
    let sizes = accepted.lock().unwrap().clone();
    assert_eq!(sizes, vec![10, 20, 30, 40, 50, 55]);
    let status = WitnessStatus::read(&status_file).unwrap().unwrap();
    assert_eq!(status.delivered, 6);
    assert_eq!(status.delivered_size, 55);
    assert_eq!(status.failures, 0);
    assert!(!status.failing);
}

#[test]
fn a_receiver_that_cannot_be_reached_is_counted_as_failing_and_appends_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/witness", closed.local_addr().unwrap());
    drop(closed);
    let status_file = dir.path().join("witness.json");
    let mut target = WitnessUrl::new(&url, &status_file);
    target.retries = 1;
    target.timeout = Duration::from_secs(1);
    let options = LogOptions {
        witness_url: Some(target),
        ..LogOptions::default()
    };
    let signer = CheckpointSigner::load_or_create(&dir.path().join("audit.key")).unwrap();
    let log =
        AuditLog::open_with(&dir.path().join("audit.db"), signer, "test/audit", options).unwrap();
    log.append(event(1)).unwrap();
    log.checkpoint().unwrap();
    log.append(event(2)).unwrap();
    log.checkpoint().unwrap();
    drop(log);
    let status = WitnessStatus::read(&status_file).unwrap().unwrap();
    assert_eq!((status.delivered, status.failures), (0, 2));
    assert!(status.failing);
    assert_eq!(status.last_error.as_deref(), Some("could not connect"));
}
