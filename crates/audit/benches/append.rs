//! Durable appends per second with many concurrent appenders, and the time to verify a log of
//! a million entries, on SQLite (and on PostgreSQL when `PHIGATE_BENCH_POSTGRES` names a server).
//!
//! `cargo bench -p phigate-audit --bench append`. Sizes can be changed with
//! `PHIGATE_BENCH_APPENDERS` (default 256), `PHIGATE_BENCH_APPENDS` (default 200000) and
//! `PHIGATE_BENCH_VERIFY` (default 1000000). Set `PHIGATE_BENCH_POSTGRES=1` to run the same
//! against PostgreSQL at 127.0.0.1:5432 (user postgres, database test) after SQLite.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark prints its figures and stops on failure"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use phigate_audit::{Action, Actor, AuditEvent, AuditLog, CheckpointSigner, Outcome};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn event(n: u64) -> AuditEvent {
    let actor = Actor {
        user_id: format!("user-{}", n % 50),
        role: "clinician".into(),
        client_id: Some("ehr".into()),
        address: Some("127.0.0.1".into()),
    };
    let mut event = AuditEvent::new(actor, Action::Disclosure, Outcome::Success);
    event.patient_ref = Some(format!("{:064x}", n % 1000));
    event.task = Some("soap-note".into());
    event.provider = Some("anthropic".into());
    event.purpose = Some("treatment".into());
    event.request_id = Some(format!("req_{n:032x}"));
    event.sent_sha256 = Some(format!("{:064x}", n));
    event
}

/// Appends `total` events from `appenders` threads; returns appends per second.
fn append_load(log: &Arc<AuditLog>, appenders: u64, total: u64) -> f64 {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..appenders)
        .map(|_| {
            let log = Arc::clone(log);
            let next = Arc::clone(&next);
            std::thread::spawn(move || {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        break;
                    }
                    log.append(event(n)).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let appenders = env_or("PHIGATE_BENCH_APPENDERS", 256);
    let appends = env_or("PHIGATE_BENCH_APPENDS", 200_000);
    let verify_entries = env_or("PHIGATE_BENCH_VERIFY", 1_000_000);

    let dir = tempfile::tempdir().unwrap();
    let signer = CheckpointSigner::load_or_create(&dir.path().join("audit.key")).unwrap();
    let log =
        Arc::new(AuditLog::open(&dir.path().join("audit.db"), signer, "bench/audit").unwrap());
    let rate = append_load(&log, appenders, appends);
    println!("sqlite: {appends} durable appends from {appenders} threads: {rate:.0} appends/s");

    let more = verify_entries.saturating_sub(appends);
    if more > 0 {
        append_load(&log, appenders, more);
    }
    let start = Instant::now();
    let report = log.verify().unwrap();
    let took = start.elapsed();
    assert!(report.ok, "{report}");
    println!(
        "sqlite: verified {} entries and {} checkpoints in {:.2} s",
        report.entries,
        report.checkpoints_checked,
        took.as_secs_f64()
    );
    drop(log);

    if std::env::var_os("PHIGATE_BENCH_POSTGRES").is_some() {
        postgres_bench(
            appenders,
            appends,
            verify_entries,
            &dir.path().join("audit.key"),
        );
    }
}

/// The same on PostgreSQL at 127.0.0.1:5432, in a schema and role made for the run and dropped
/// after it.
fn postgres_bench(appenders: u64, appends: u64, verify_entries: u64, key: &std::path::Path) {
    const ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";
    let unique = format!("bench_{}", std::process::id());
    let (schema, role) = (format!("audit_{unique}"), format!("audit_app_{unique}"));
    let mut admin = postgres::Client::connect(ADMIN, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("CREATE ROLE {role} LOGIN"))
        .unwrap();
    phigate_audit::postgres::create_schema(&mut admin, &schema, &role).unwrap();

    let url = format!("host=127.0.0.1 port=5432 user={role} dbname=test");
    let signer = CheckpointSigner::load_or_create(key).unwrap();
    let log = Arc::new(
        AuditLog::open_postgres(&url, &schema, signer, "bench/audit", Default::default()).unwrap(),
    );
    let rate = append_load(&log, appenders, appends);
    println!("postgres: {appends} durable appends from {appenders} threads: {rate:.0} appends/s");
    let more = verify_entries.saturating_sub(appends);
    if more > 0 {
        append_load(&log, appenders, more);
    }
    let start = Instant::now();
    let report = log.verify().unwrap();
    let took = start.elapsed();
    assert!(report.ok, "{report}");
    println!(
        "postgres: verified {} entries and {} checkpoints in {:.2} s",
        report.entries,
        report.checkpoints_checked,
        took.as_secs_f64()
    );
    drop(log);
    admin
        .batch_execute(&format!(
            "DROP SCHEMA {schema} CASCADE; DROP OWNED BY {role}; DROP ROLE {role};"
        ))
        .unwrap();
}
