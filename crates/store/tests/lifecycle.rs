//! The data lifecycle on both backends: idempotent import, legal holds, retention, deletion
//! requests with tombstones and re-import. The same scenario runs on SQLite and on PostgreSQL
//! (`127.0.0.1:5432`, trust authentication, database `test`, a schema of its own).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "tests"
)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_store::{
    Draft, DraftStatus, PatientRef, PostgresConfig, RetentionCutoffs, Store, StoreError,
};

const ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

fn kms() -> Arc<LocalKms> {
    Arc::new(LocalKms::from_key(
        KeyMaterial::from_bytes(&[9u8; 32]).unwrap(),
    ))
}

fn rows(version: u8) -> Vec<(String, String, Vec<u8>)> {
    vec![
        ("Patient".into(), "p1".into(), b"{\"id\":\"p1\"}".to_vec()),
        (
            "Condition".into(),
            "c1".into(),
            format!("{{\"v\":{version}}}").into_bytes(),
        ),
    ]
}

fn draft(id: &str, patient: &PatientRef, created_at: i64) -> Draft {
    Draft {
        id: id.into(),
        tenant: "t".into(),
        patient: patient.clone(),
        task: "clinical-note".into(),
        status: DraftStatus::AwaitingReview,
        created_by: "dr".into(),
        created_at,
        reviewed_by: None,
        reviewed_at: None,
    }
}

fn import(store: &Store, patient: &PatientRef, version: u8) -> phigate_store::ImportCounts {
    let prepared = store.prepare_import("t", patient, &rows(version)).unwrap();
    store.commit_import("t", &[prepared]).unwrap()
}

fn scenario(store: &Store) {
    let patient = store.patient_ref("t", "p1");
    assert_eq!(import(store, &patient, 1).created, 2);
    assert_eq!(
        import(store, &patient, 1).unchanged,
        2,
        "importing again changes nothing"
    );
    assert_eq!(import(store, &patient, 2).updated, 1);
    assert!(store.resource_exists("t", "Condition", "c1").unwrap());
    assert!(!store.resource_exists("t", "Condition", "c9").unwrap());

    store
        .create_draft(&draft("old", &patient, 100), b"n")
        .unwrap();
    store.save_vault("t", &patient, "conv", b"m").unwrap();
    let cutoffs = RetentionCutoffs {
        drafts_decided_before: 0,
        drafts_awaiting_before: 1_000,
        vaults_before: i64::MAX,
    };
    store.place_hold("t", &patient, "case 7", "admin").unwrap();
    assert_eq!(store.hold_reason("t", &patient).unwrap(), "case 7");
    let held = store.retention_purge("t", &cutoffs).unwrap();
    assert_eq!((held.drafts_awaiting, held.vaults, held.held), (0, 0, 2));
    let refused = store
        .erase_patient("t", &patient, "r1", "admin")
        .unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)));

    store.release_hold("t", &patient).unwrap();
    assert_eq!(
        store
            .retention_report("t", &cutoffs)
            .unwrap()
            .drafts_awaiting,
        1
    );
    let purged = store.retention_purge("t", &cutoffs).unwrap();
    assert_eq!(
        (purged.drafts_awaiting, purged.vaults, purged.held),
        (1, 1, 0)
    );

    store
        .create_draft(&draft("kept", &patient, i64::MAX / 2), b"n")
        .unwrap();
    let erased = store.erase_patient("t", &patient, "r1", "admin").unwrap();
    assert_eq!((erased.drafts_deleted, erased.resources_deleted), (1, 2));
    let tombstone = store.tombstone("t", &patient).unwrap().unwrap();
    assert_eq!(
        (tombstone.request_id.as_str(), tombstone.reimported_at),
        ("r1", None)
    );
    assert!(store.prepare_import("t", &patient, &rows(1)).is_err());
    store.allow_reimport("t", &patient).unwrap();
    assert_eq!(import(store, &patient, 1).created, 2);
    assert_eq!(store.load_patient("t", &patient).unwrap().len(), 2);
    assert_eq!(store.tombstones("t").unwrap().len(), 1);
}

#[test]
fn the_lifecycle_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("app.db"), kms()).unwrap();
    scenario(&store);
    assert!(store.snapshot_into(&dir.path().join("copy.db")).is_ok());
}

#[test]
fn the_lifecycle_on_postgres() {
    let mut admin = match postgres::Client::connect(ADMIN, postgres::NoTls) {
        Ok(client) => client,
        Err(_) => {
            assert!(
                std::env::var_os("POSTGRES_TESTS_REQUIRED").is_none(),
                "POSTGRES_TESTS_REQUIRED is set but no PostgreSQL answers at 127.0.0.1:5432"
            );
            eprintln!("\n*** SKIPPED: no PostgreSQL at 127.0.0.1:5432 ***\n");
            return;
        }
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("lifecycle_{}_{nanos}", std::process::id());
    let store = Store::open_postgres(PostgresConfig::new(ADMIN, &schema), kms()).unwrap();
    scenario(&store);
    let dir = tempfile::tempdir().unwrap();
    let refused = store
        .snapshot_into(&dir.path().join("copy.db"))
        .unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)));
    drop(store);
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
}
