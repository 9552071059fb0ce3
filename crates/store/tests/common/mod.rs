//! Runs a store test on every backend: an SQLite file in a temporary directory, then a schema of
//! its own on the PostgreSQL server at `127.0.0.1:5432` (trust authentication, database `test`),
//! dropped afterwards. Where no server answers, the PostgreSQL half says so loudly and is
//! skipped, unless `POSTGRES_TESTS_REQUIRED` is set (as `.ci/run` does), when it fails.

#![allow(
    dead_code,
    clippy::print_stderr,
    reason = "each test file uses a part; the backend and a skip must be visible"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_store::{PostgresConfig, Store};
use postgres::{Client, NoTls};

/// The server the PostgreSQL half runs against.
pub const SERVER: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

fn kms(root: &[u8; 32]) -> Arc<LocalKms> {
    Arc::new(LocalKms::from_key(KeyMaterial::from_bytes(root).unwrap()))
}

/// Runs `test` on a fresh SQLite store, then on a fresh PostgreSQL store.
pub fn each_backend(root: &[u8; 32], test: impl Fn(Store)) {
    each_backend_stored(root, |store, _| test(store));
}

/// Like [`each_backend`], also handing the test what the backend holds at rest.
pub fn each_backend_stored(root: &[u8; 32], test: impl Fn(Store, &Stored)) {
    let dir = tempfile::tempdir().unwrap();
    eprintln!("backend: sqlite");
    let stored = Stored::Files(dir.path().to_owned());
    test(
        Store::open(&dir.path().join("app.db"), kms(root)).unwrap(),
        &stored,
    );
    if let Some(schema) = Scratch::new() {
        eprintln!("backend: postgres (schema {})", schema.name);
        let store = schema.open(root);
        test(store, &Stored::Schema(&schema));
    }
}

/// Where a backend keeps its data, to look at it without the keys.
pub enum Stored<'a> {
    /// Every file of the SQLite database's directory.
    Files(std::path::PathBuf),
    /// Every table of the PostgreSQL schema.
    Schema(&'a Scratch),
}

impl Stored<'_> {
    /// Opens the same store again, as a fresh process would.
    pub fn reopen(&self, root: &[u8; 32]) -> Store {
        match self {
            Self::Files(dir) => Store::open(&dir.join("app.db"), kms(root)).unwrap(),
            Self::Schema(schema) => schema.open(root),
        }
    }

    /// Every byte stored: the files' contents, or every text and bytes value of every row.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Files(dir) => {
                let mut bytes = Vec::new();
                for entry in std::fs::read_dir(dir).unwrap() {
                    bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
                }
                bytes
            }
            Self::Schema(schema) => schema.row_bytes(),
        }
    }
}

/// A schema of the test's own on the server, dropped when it goes.
pub struct Scratch {
    /// The schema's name.
    pub name: String,
}

impl Scratch {
    /// `None` (after saying so) when no server answers and none is required.
    pub fn new() -> Option<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        if Client::connect(SERVER, NoTls).is_err() {
            assert!(
                std::env::var_os("POSTGRES_TESTS_REQUIRED").is_none(),
                "POSTGRES_TESTS_REQUIRED is set but no PostgreSQL answers at 127.0.0.1:5432"
            );
            eprintln!("\n*** SKIPPED the PostgreSQL half: no PostgreSQL at 127.0.0.1:5432 ***\n");
            return None;
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Some(Self {
            name: format!("store_test_{}_{nanos}_{n}", std::process::id()),
        })
    }

    /// The store's configuration for this schema, with a small pool.
    pub fn config(&self) -> PostgresConfig {
        let mut config = PostgresConfig::new(SERVER, &self.name);
        config.pool_size = 4;
        config
    }

    /// Opens (creating) the store in this schema.
    pub fn open(&self, root: &[u8; 32]) -> Store {
        Store::open_postgres(self.config(), kms(root)).unwrap()
    }

    /// A direct connection with this schema on its search path.
    pub fn client(&self) -> Client {
        let mut client = Client::connect(SERVER, NoTls).unwrap();
        client
            .batch_execute(&format!("SET search_path TO {}", self.name))
            .unwrap();
        client
    }
}

impl Scratch {
    /// Every text and bytes value of every row of every table in the schema, concatenated.
    pub fn row_bytes(&self) -> Vec<u8> {
        let mut client = self.client();
        let tables: Vec<String> = client
            .query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
                &[&self.name],
            )
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert!(!tables.is_empty(), "the schema has no tables");
        let mut bytes = Vec::new();
        for table in tables {
            for row in client
                .query(&format!("SELECT * FROM {table}"), &[])
                .unwrap()
            {
                for (index, column) in row.columns().iter().enumerate() {
                    let ty = column.type_();
                    if *ty == postgres::types::Type::BYTEA {
                        let value: Option<Vec<u8>> = row.get(index);
                        bytes.extend(value.unwrap_or_default());
                    } else if <String as postgres::types::FromSql>::accepts(ty) {
                        let value: Option<String> = row.get(index);
                        bytes.extend(value.unwrap_or_default().into_bytes());
                    }
                }
            }
        }
        bytes
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut client) = Client::connect(SERVER, NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
