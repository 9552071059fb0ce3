//! Incidents, on SQLite and on PostgreSQL (`127.0.0.1:5432`, trust authentication, database
//! `test`, a schema of the test's own): a rule firing again for the same subject merges into
//! the open incident, patients are counted once, and acknowledging moves only an open incident.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "a failed step fails the test; a skip must be visible"
)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_store::{NewIncident, PostgresConfig, Store};

const POSTGRES: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

fn kms() -> Arc<LocalKms> {
    Arc::new(LocalKms::from_key(
        KeyMaterial::from_bytes(&[7u8; 32]).unwrap(),
    ))
}

/// Drops the test's PostgreSQL schema when the test ends.
struct Scratch(Option<String>);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(schema) = self.0.take()
            && let Ok(mut admin) = postgres::Client::connect(POSTGRES, postgres::NoTls)
        {
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// The store on SQLite, and on PostgreSQL when a server answers (loudly skipped otherwise,
/// unless `POSTGRES_TESTS_REQUIRED` is set).
fn stores(dir: &tempfile::TempDir, tag: &str) -> (Vec<Store>, Scratch) {
    let mut stores = vec![Store::open(&dir.path().join("app.db"), kms()).unwrap()];
    let mut scratch = Scratch(None);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("incidents_{tag}_{}_{nanos}", std::process::id());
    match Store::open_postgres(PostgresConfig::new(POSTGRES, schema.clone()), kms()) {
        Ok(store) => {
            stores.push(store);
            scratch.0 = Some(schema);
        }
        Err(err) => {
            assert!(
                std::env::var_os("POSTGRES_TESTS_REQUIRED").is_none(),
                "POSTGRES_TESTS_REQUIRED is set but PostgreSQL failed: {err}"
            );
            eprintln!("\n*** SKIPPED the PostgreSQL half: no PostgreSQL at 127.0.0.1:5432 ***\n");
        }
    }
    (stores, scratch)
}

fn firing<'a>(id: &'a str, subject: &'a str, at: i64, patients: &'a [String]) -> NewIncident<'a> {
    NewIncident {
        id,
        tenant: "t1",
        rule: "bulk_patient_read",
        subject,
        severity: "high",
        summary: "one user read many patients",
        at,
        patient_refs: patients,
    }
}

#[test]
fn a_second_firing_merges_into_the_open_incident_and_counts_patients_once() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _scratch) = stores(&dir, "merge");
    for store in &stores {
        merges(store);
    }
}

fn merges(store: &Store) {
    let first = vec!["a".repeat(64), "b".repeat(64)];
    let second = vec!["b".repeat(64), "c".repeat(64)];
    let (opened, new) = store
        .record_incident(&firing("inc-1", "u-1", 1000, &first), 600)
        .unwrap();
    assert!(new);
    assert_eq!((opened.count, opened.patients), (1, 2));
    let (merged, new) = store
        .record_incident(&firing("inc-2", "u-1", 1300, &second), 600)
        .unwrap();
    assert!(!new);
    assert_eq!(merged.id, "inc-1");
    assert_eq!((merged.count, merged.patients), (2, 3));
    assert_eq!((merged.opened_at, merged.last_seen_at), (1000, 1300));
    assert_eq!(store.incident_patients("t1", "inc-1").unwrap().len(), 3);

    // Another user, or the same one after the merge window, opens a new incident.
    let (other, new) = store
        .record_incident(&firing("inc-3", "u-2", 1300, &second), 600)
        .unwrap();
    assert!(new && other.id == "inc-3");
    let (late, new) = store
        .record_incident(&firing("inc-4", "u-1", 5000, &second), 600)
        .unwrap();
    assert!(new && late.id == "inc-4");
    let all = store.incidents("t1", None, 100).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].id, "inc-4", "newest first");
    assert!(store.incidents("t2", None, 100).unwrap().is_empty());
}

#[test]
fn acknowledging_moves_an_open_incident_once_and_stops_merging_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _scratch) = stores(&dir, "ack");
    for store in &stores {
        acknowledges(store);
    }
}

fn acknowledges(store: &Store) {
    store
        .record_incident(&firing("inc-1", "u-1", 1000, &[]), 600)
        .unwrap();
    let acked = store
        .acknowledge_incident("t1", "inc-1", "auditor-1", 1100)
        .unwrap()
        .unwrap();
    assert_eq!(acked.status, "acknowledged");
    assert_eq!(acked.acknowledged_by.as_deref(), Some("auditor-1"));
    let again = store
        .acknowledge_incident("t1", "inc-1", "auditor-2", 1200)
        .unwrap()
        .unwrap();
    assert_eq!(again.acknowledged_by.as_deref(), Some("auditor-1"));
    assert!(
        store
            .acknowledge_incident("t2", "inc-1", "auditor-1", 1200)
            .unwrap()
            .is_none()
    );
    let (next, new) = store
        .record_incident(&firing("inc-2", "u-1", 1150, &[]), 600)
        .unwrap();
    assert!(new && next.id == "inc-2");
    assert_eq!(store.incidents("t1", Some("open"), 10).unwrap().len(), 1);
    assert_eq!(
        store
            .incidents("t1", Some("acknowledged"), 10)
            .unwrap()
            .len(),
        1
    );
}
