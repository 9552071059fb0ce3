//! The monitor against real stores and a loopback receiver: an appended safety alert opens an
//! incident that is stored, audited and alerted; a failing receiver is retried a bounded number
//! of times; a receiver that never answers costs at most the timeout per attempt.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use phigate_audit::{Action, Actor, AuditEvent, AuditLog, CheckpointSigner, Outcome, Query};
use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_incidents::{IncidentBook, Monitor, MonitorConfig, RuleConfig, WebhookConfig};
use phigate_store::Store;

struct Fixture {
    _dir: tempfile::TempDir,
    audit: Arc<AuditLog>,
    book: IncidentBook,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = KeyMaterial::from_bytes(&[7u8; 32]).unwrap();
    let store = Store::open(
        &dir.path().join("app.db"),
        Arc::new(LocalKms::from_key(root)),
    )
    .unwrap();
    let signer = CheckpointSigner::load_or_create(&dir.path().join("audit.key")).unwrap();
    let audit = Arc::new(AuditLog::open(&dir.path().join("audit.db"), signer, "test").unwrap());
    Fixture {
        _dir: dir,
        audit,
        book: IncidentBook::new(store, "t1"),
    }
}

/// A receiver answering every request with `status` after `delay`; counts requests.
fn receiver(status: u16, delay: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            // A thread per connection, so that a slow answer does not hold up the next one.
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                std::thread::sleep(delay);
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                );
            });
        }
    });
    (url, count)
}

/// Waits (at most two seconds) for the receiver to have counted `expected` requests, then checks
/// that no more arrive.
fn settle(count: &AtomicUsize, expected: usize) {
    let started = Instant::now();
    while count.load(Ordering::SeqCst) < expected && started.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(count.load(Ordering::SeqCst), expected);
}

fn safety_alert() -> AuditEvent {
    let actor = Actor {
        user_id: "nurse-1".into(),
        role: "nurse".into(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::SafetyAlert, Outcome::Success);
    event.patient_ref = Some("ab".repeat(32));
    event
}

fn start(f: &Fixture, url: String, retries: u32, timeout: Duration) -> Monitor {
    Monitor::start(
        f.book.clone(),
        f.audit.clone(),
        MonitorConfig {
            rules: RuleConfig::default(),
            merge_within: Duration::from_secs(3600),
            webhook: Some(WebhookConfig {
                url,
                timeout,
                retries,
                backoff: Duration::from_millis(50),
            }),
        },
    )
    .unwrap()
}

#[test]
fn a_safety_alert_opens_an_audited_high_incident_and_is_alerted_once() {
    let f = fixture();
    let (url, count) = receiver(200, Duration::ZERO);
    let monitor = start(&f, url, 3, Duration::from_secs(2));
    f.audit.append(safety_alert()).unwrap();
    monitor.stop();

    let incidents = f.book.list(None).unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].rule, "safety_alert");
    assert_eq!(incidents[0].severity, "high");
    assert_eq!(incidents[0].patients, 1);
    settle(&count, 1);
    let query = Query {
        action: Some(Action::Incident),
        limit: 100,
        ..Query::default()
    };
    let audited = f.audit.search(&query).unwrap();
    assert_eq!(audited.len(), 1);
    let detail = audited[0].event.as_ref().unwrap().detail.clone().unwrap();
    assert!(detail.contains(&incidents[0].id));
}

#[test]
fn a_failing_receiver_is_tried_once_plus_the_retries_and_no_more() {
    let f = fixture();
    let (url, count) = receiver(500, Duration::ZERO);
    let monitor = start(&f, url, 2, Duration::from_secs(2));
    f.audit.append(safety_alert()).unwrap();
    monitor.stop();
    settle(&count, 3);
}

#[test]
fn a_receiver_that_never_answers_costs_at_most_the_timeout_per_attempt() {
    let f = fixture();
    let (url, count) = receiver(200, Duration::from_secs(60));
    let timeout = Duration::from_secs(2);
    let monitor = start(&f, url, 1, timeout);
    let started = Instant::now();
    // The append never waits for the alert, which takes two timeouts here.
    f.audit.append(safety_alert()).unwrap();
    assert!(started.elapsed() < timeout, "{:?}", started.elapsed());
    monitor.stop();
    let took = started.elapsed();
    assert!(took >= timeout * 2, "{took:?}");
    assert!(took < timeout * 2 + Duration::from_secs(5), "{took:?}");
    settle(&count, 2);
}
