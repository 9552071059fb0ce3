//! Incidents: a rule firing again for the same subject merges into the open incident, patients
//! are counted once, and acknowledging moves only an open incident.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

use std::sync::Arc;

use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_store::{NewIncident, Store};

fn open(dir: &tempfile::TempDir) -> Store {
    let root = KeyMaterial::from_bytes(&[7u8; 32]).unwrap();
    Store::open(
        &dir.path().join("app.db"),
        Arc::new(LocalKms::from_key(root)),
    )
    .unwrap()
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
    let store = open(&dir);
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
    let store = open(&dir);
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
