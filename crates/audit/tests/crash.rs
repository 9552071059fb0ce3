//! A process appending under load is killed with SIGKILL at random moments; after each kill
//! the log is reopened and every append that had been acknowledged must be there, and the log
//! must verify.
//!
//! The child is this same test binary, started with an environment variable that turns the
//! `crash_child_appends_until_killed` test into an appender printing `ack SEQ REQUEST_ID` for
//! each acknowledged append.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "tests"
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use phigate_audit::{Action, Actor, AuditEvent, AuditLog, CheckpointSigner, Outcome};

const CHILD_ENV: &str = "PHIGATE_AUDIT_CRASH_CHILD_DIR";
const ROUNDS: u32 = 6;

fn open(dir: &Path) -> AuditLog {
    let signer = CheckpointSigner::load_or_create(&dir.join("audit.key")).unwrap();
    AuditLog::open(&dir.join("audit.db"), signer, "crash/audit").unwrap()
}

fn event(request_id: String) -> AuditEvent {
    let actor = Actor {
        user_id: "crash-test".into(),
        role: "service".into(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::Disclosure, Outcome::Success);
    event.request_id = Some(request_id);
    event
}

/// The child: eight threads append as fast as they can until the process is killed.
#[test]
fn crash_child_appends_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let log = Arc::new(open(Path::new(&dir)));
    let round = std::env::var("PHIGATE_AUDIT_CRASH_ROUND").unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = Arc::clone(&log);
            let round = round.clone();
            std::thread::spawn(move || {
                for n in 0.. {
                    let request_id = format!("r{round}-t{t}-n{n}");
                    let receipt = log.append(event(request_id.clone())).unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ack {} {request_id}", receipt.seq).unwrap();
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
}

/// A pseudo-random delay between 30 and 400 ms, different on every call.
fn random_delay() -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed = u64::from(nanos).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    Duration::from_millis(30 + mixed % 370)
}

#[test]
fn every_acknowledged_append_survives_sigkill_and_the_log_verifies() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged = BTreeMap::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child_appends_until_killed", "--nocapture"])
            .env(CHILD_ENV, dir.path())
            .env("PHIGATE_AUDIT_CRASH_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut parts = line.split(' ');
                if parts.next() == Some("ack") {
                    let seq: u64 = parts.next().unwrap().parse().unwrap();
                    acks.push((seq, parts.next().unwrap().to_owned()));
                }
            }
            acks
        });
        // Let it get going, then kill it mid-write.
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(300) + random_delay());
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let acks = reader.join().unwrap();
        assert!(
            !acks.is_empty(),
            "round {round}: the child acknowledged nothing in {:?}",
            start.elapsed()
        );
        for (seq, request_id) in acks {
            assert!(
                acknowledged.insert(seq, request_id).is_none(),
                "seq {seq} acknowledged twice"
            );
        }

        // Restart: everything acknowledged so far is there, and the log verifies.
        let log = open(dir.path());
        let report = log.verify().unwrap();
        assert!(report.ok, "round {round}: {report}");
        let entries = log.entries(0, u64::MAX >> 1).unwrap();
        for (seq, request_id) in &acknowledged {
            let entry = entries
                .get(*seq as usize)
                .unwrap_or_else(|| panic!("round {round}: acknowledged entry {seq} is missing"));
            assert_eq!(entry.seq, *seq);
            assert_eq!(
                entry.event.as_ref().unwrap().request_id.as_deref(),
                Some(request_id.as_str()),
                "round {round}: entry {seq}"
            );
        }
        println!(
            "round {round}: {} acknowledged so far, {} entries in the log",
            acknowledged.len(),
            report.entries
        );
    }
}
