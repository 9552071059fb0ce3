//! What replicas sharing one database rely on: rate-limit buckets drawn down atomically by
//! concurrent takers, and a PostgreSQL schema from a newer build refused at start.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

use std::sync::Arc;
use std::time::Duration;

use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_store::{Database, Store, StoreError};

mod common;
use common::{Scratch, each_backend};

const ROOT: [u8; 32] = [5u8; 32];
const T0: i64 = 1_800_000_000_000;

#[test]
fn a_shared_bucket_allows_its_burst_then_refills_at_its_rate() {
    each_backend(&ROOT, |store| {
        for _ in 0..3 {
            assert_eq!(store.take_rate_token("p/1", 3, 2.0, T0).unwrap(), None);
        }
        assert_eq!(
            store.take_rate_token("p/1", 3, 2.0, T0).unwrap(),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            store.take_rate_token("p/2", 3, 2.0, T0).unwrap(),
            None,
            "buckets are per key"
        );
        assert_eq!(
            store.take_rate_token("p/1", 3, 2.0, T0 + 500).unwrap(),
            None
        );
        assert!(
            store
                .take_rate_token("p/1", 3, 2.0, T0 + 500)
                .unwrap()
                .is_some()
        );
        // A long quiet period refills to the burst, no further; a clock behind the last use
        // refills nothing.
        let later = T0 + 3_600_000;
        for _ in 0..3 {
            assert_eq!(store.take_rate_token("p/1", 3, 2.0, later).unwrap(), None);
        }
        assert!(
            store
                .take_rate_token("p/1", 3, 2.0, later)
                .unwrap()
                .is_some()
        );
        assert!(store.take_rate_token("p/1", 3, 2.0, T0).unwrap().is_some());
        assert_eq!(store.purge_rate_buckets(later).unwrap(), 1);
        assert_eq!(store.purge_rate_buckets(later + 1).unwrap(), 1);
    });
}

#[test]
fn concurrent_takers_never_spend_more_than_the_burst() {
    each_backend(&ROOT, |store| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    (0..10)
                        .filter(|_| {
                            store
                                .take_rate_token("tenant/t1", 25, 0.001, T0)
                                .unwrap()
                                .is_none()
                        })
                        .count()
                })
            })
            .collect();
        let allowed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(allowed, 25, "80 concurrent takes of a 25-token bucket");
    });
}

#[test]
fn a_postgres_schema_from_a_newer_build_is_refused() {
    let Some(schema) = Scratch::new() else {
        return;
    };
    drop(schema.open(&ROOT));
    schema
        .client()
        .batch_execute("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)")
        .unwrap();
    let kms = Arc::new(LocalKms::from_key(KeyMaterial::from_bytes(&ROOT).unwrap()));
    let err = Store::open_postgres(schema.config(), kms).err().unwrap();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("newer than this build supports"));
}

#[test]
fn replicas_starting_together_migrate_once_and_share_one_index_key() {
    let Some(schema) = Scratch::new() else {
        return;
    };
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let config = schema.config();
            std::thread::spawn(move || {
                let kms = Arc::new(LocalKms::from_key(KeyMaterial::from_bytes(&ROOT).unwrap()));
                let store = Store::open_postgres(config, kms).unwrap();
                store.patient_ref("t", "p").as_str().to_owned()
            })
        })
        .collect();
    let refs: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(refs.windows(2).all(|w| w[0] == w[1]), "replicas disagree");
    let versions: i64 = schema
        .client()
        .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(versions, phigate_store::db::MIGRATION_COUNT as i64);
}

#[test]
fn a_schema_name_that_is_not_a_plain_identifier_is_refused() {
    let config = phigate_store::PostgresConfig::new(common::SERVER, "x; DROP TABLE y");
    assert!(matches!(
        Database::open_postgres(config),
        Err(StoreError::InvalidSchema)
    ));
}
