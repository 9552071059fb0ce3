//! Moving a client's redirect URIs (what keeps the web console's client on the configured
//! issuer), on SQLite and on PostgreSQL (`127.0.0.1:5432`, trust authentication, database
//! `test`, a schema of the test's own, dropped afterwards; skipped loudly where no server runs
//! unless `POSTGRES_TESTS_REQUIRED` is set).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "tests"
)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_store::{ClientRecord, PostgresConfig, Store, StoreError};

const ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

fn kms() -> Arc<LocalKms> {
    Arc::new(LocalKms::from_key(
        KeyMaterial::from_bytes(&[4u8; 32]).unwrap(),
    ))
}

fn redirect_uris_move_within_their_tenant_only(store: &Store) {
    store
        .insert_client(&ClientRecord {
            id: "phigate-console".into(),
            tenant: "t1".into(),
            name: "Phigate console".into(),
            role: "clinician".into(),
            auth_method: "none".into(),
            secret_hash: None,
            jwks: None,
            redirect_uris: vec!["http://127.0.0.1:8080/console/callback".into()],
            scopes: vec!["draft/read".into()],
            revoked: false,
        })
        .unwrap();
    let moved = vec!["https://phigate.example/console/callback".to_owned()];
    store
        .set_client_redirect_uris("t1", "phigate-console", &moved)
        .unwrap();
    let client = store.client("phigate-console").unwrap().unwrap();
    assert_eq!(client.redirect_uris, moved);
    assert_eq!(client.scopes, ["draft/read"], "nothing else changes");
    for (tenant, id) in [("t2", "phigate-console"), ("t1", "cl_unknown")] {
        assert!(matches!(
            store.set_client_redirect_uris(tenant, id, &moved),
            Err(StoreError::NotFound(_))
        ));
    }
}

#[test]
fn redirect_uris_move_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("app.db"), kms()).unwrap();
    redirect_uris_move_within_their_tenant_only(&store);
}

#[test]
fn redirect_uris_move_on_postgres() {
    let Ok(mut admin) = postgres::Client::connect(ADMIN, postgres::NoTls) else {
        assert!(
            std::env::var_os("POSTGRES_TESTS_REQUIRED").is_none(),
            "POSTGRES_TESTS_REQUIRED is set but no PostgreSQL answers at 127.0.0.1:5432"
        );
        eprintln!("\n*** SKIPPED: no PostgreSQL at 127.0.0.1:5432 ***\n");
        return;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("store_console_{}_{nanos}", std::process::id());
    let config = PostgresConfig {
        url: ADMIN.into(),
        schema: schema.clone(),
        pool_size: 2,
        acquire_timeout: Duration::from_secs(10),
    };
    let store = Store::open_postgres(config, kms()).unwrap();
    redirect_uris_move_within_their_tenant_only(&store);
    drop(store);
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
}
