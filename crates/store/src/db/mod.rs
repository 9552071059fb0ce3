//! The one database interface every part of the store is written against, and its backends.
//!
//! # How to write store code
//!
//! Every query is written once, in SQL that SQLite and PostgreSQL both accept, with `$1`-style
//! parameters, and run through the [`Sql`] trait, which [`Database`] (one statement, committed on
//! its own) and [`Tx`] (a statement inside [`Database::transaction`]) both implement:
//!
//! ```ignore
//! use crate::db::Sql;
//! use crate::params;
//!
//! self.db.execute(
//!     "INSERT INTO vaults (tenant, conversation, patient_ref, body, updated_at)
//!      VALUES ($1, $2, $3, $4, $5)
//!      ON CONFLICT (tenant, conversation) DO UPDATE SET body = excluded.body",
//!     params![tenant, conversation, patient.as_str(), sealed, now()],
//! )?;
//! let row = self.db.query_opt("SELECT body FROM vaults WHERE tenant = $1", params![tenant])?;
//! let body: Option<Vec<u8>> = row.map(|r| r.get(0)).transpose()?;
//!
//! let moved = self.db.transaction(|tx| {
//!     let n = tx.execute("UPDATE ...", params![...])?;
//!     tx.execute("INSERT ...", params![...])?;
//!     Ok(n)
//! })?;
//! ```
//!
//! Parameters and columns are [`Value`]s: integers, text, bytes and null. Booleans are stored as
//! 0 and 1. Rows come back as [`Row`]s read by column index with [`Row::get`] or [`Row::take`].
//!
//! The portable subset, in practice:
//!
//! - `INSERT ... ON CONFLICT (cols) DO NOTHING` / `DO UPDATE SET c = excluded.c`, never
//!   `INSERT OR IGNORE` / `INSERT OR REPLACE`. In `DO UPDATE SET`, qualify the old row's columns
//!   with the table name (`failures = user_security.failures + 1`).
//! - `RETURNING` is fine (use a `query_*` method for it, not `execute`).
//! - No boolean operators on integer columns (`locked OR $4`): write
//!   `CASE WHEN locked = 1 OR $4 = 1 THEN 1 ELSE 0 END`. Comparisons in a `SELECT` list are fine;
//!   they read back as booleans.
//! - A parameter whose type nothing else in the statement fixes needs a cast
//!   (`CAST($4 AS TEXT) IS NULL`).
//! - No blob literals (`x''`): bind the bytes. No `PRAGMA`: a backend-specific step is a method
//!   here (see [`Database::flush_deleted`]).
//! - `rowid` exists only on tables whose migration marks it (`{rowid}`, see `migrations.rs`).
//!
//! Schema changes are new entries at the end of `migrations.rs`, written in the same dialect.
//!
//! Transactions run the closure until it commits: on PostgreSQL at `SERIALIZABLE`, retried
//! when the server reports a serialisation failure; on SQLite under `BEGIN IMMEDIATE`. So a
//! closure may run more than once and must do nothing outside the database that it cannot
//! repeat. An `Err` from the closure rolls the transaction back.

mod migrations;

/// How many schema versions this build knows (the newest it migrates to).
pub const MIGRATION_COUNT: usize = migrations::MIGRATIONS.len();
mod postgres;
mod sqlite;
mod value;

use std::path::Path;

pub use postgres::PostgresConfig;
pub use value::{FromValue, Row, ToValue, Value};

use crate::StoreError;

/// A shared handle on the application database, whichever backend holds it. Cloning is cheap.
#[derive(Clone)]
pub struct Database {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// Which backend a [`Database`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendKind {
    /// An SQLite file (the embedded default).
    Sqlite,
    /// A schema on a PostgreSQL server, shareable by several replicas.
    Postgres,
}

/// Statements that can run on a database or inside a transaction.
pub trait Sql {
    /// Runs one statement and returns how many rows it changed.
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;

    /// Runs one query and returns every row.
    fn query_all(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;

    /// Runs one query and returns its first row, if any.
    fn query_opt(&self, sql: &str, params: &[Value]) -> Result<Option<Row>, StoreError> {
        Ok(self.query_all(sql, params)?.into_iter().next())
    }

    /// Runs one query that always returns a row (`SELECT COUNT(*)`, `RETURNING`).
    fn query_one(&self, sql: &str, params: &[Value]) -> Result<Row, StoreError> {
        self.query_opt(sql, params)?.ok_or(StoreError::NoRow)
    }
}

impl Database {
    /// Opens or creates the SQLite database at `path`, applies its settings (WAL, full sync,
    /// foreign keys, secure delete, a five-second busy timeout) and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            backend: Backend::Sqlite(sqlite::Sqlite::open(path)?),
        })
    }

    /// Opens an existing SQLite database read-only and without migrating it, for reports that
    /// must not write. A database written by a newer build is refused.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            backend: Backend::Sqlite(sqlite::Sqlite::open_read_only(path)?),
        })
    }

    /// Connects to a PostgreSQL server with a pool of connections, creates the schema if
    /// needed and migrates it, refusing a schema written by a newer build.
    pub fn open_postgres(config: PostgresConfig) -> Result<Self, StoreError> {
        Ok(Self {
            backend: Backend::Postgres(postgres::Postgres::open(config)?),
        })
    }

    /// Which backend this is.
    pub fn kind(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Runs `f` in one transaction and commits what it did if it returns `Ok`. See the module
    /// documentation: `f` may run more than once.
    pub fn transaction<T: Send>(
        &self,
        mut f: impl FnMut(&Tx<'_>) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.transaction(|tx| f(&Tx(tx))),
            Backend::Postgres(db) => db.transaction(|tx| f(&Tx(tx))),
        }
    }

    /// Runs `f` in one read-only snapshot: everything it reads is as of one moment, while
    /// other processes keep writing. On PostgreSQL a `REPEATABLE READ READ ONLY` transaction;
    /// on SQLite an immediate transaction (it also keeps other writers out while it runs, so
    /// it is for reading files nobody else writes, such as a backup).
    pub fn snapshot<T: Send>(
        &self,
        mut f: impl FnMut(&Tx<'_>) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.transaction(|tx| f(&Tx(tx))),
            Backend::Postgres(db) => db.snapshot(|tx| f(&Tx(tx))),
        }
    }

    /// After rows holding secrets were overwritten or deleted (destroyed keys), makes sure the
    /// old bytes leave the backend's own logs where it can: SQLite checkpoints and truncates
    /// its write-ahead log. PostgreSQL keeps old row versions until `VACUUM` reuses their
    /// space, which no statement here can force; the wrapped keys in them are useless without
    /// the KMS.
    pub fn flush_deleted(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.checkpoint(),
            Backend::Postgres(_) => Ok(()),
        }
    }
}

impl Sql for Database {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.execute(sql, params),
            Backend::Postgres(db) => db.execute(sql, params),
        }
    }

    fn query_all(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.query_all(sql, params),
            Backend::Postgres(db) => db.query_all(sql, params),
        }
    }
}

/// An open transaction, handed to the closure of [`Database::transaction`].
pub struct Tx<'a>(&'a (dyn Sql + 'a));

impl Sql for Tx<'_> {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        self.0.execute(sql, params)
    }

    fn query_all(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        self.0.query_all(sql, params)
    }
}

/// The current time in Unix seconds.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;

    #[test]
    fn a_database_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        drop(Database::open(&path).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Database::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::SchemaTooNew { found: 99, .. }));
    }

    #[test]
    fn reopening_does_not_migrate_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        drop(Database::open(&path).unwrap());
        assert!(Database::open(&path).is_ok());
    }

    #[test]
    fn a_failed_transaction_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("app.db")).unwrap();
        let result: Result<(), StoreError> = db.transaction(|tx| {
            tx.execute(
                "INSERT INTO meta (name, value) VALUES ($1, $2)",
                params!["a", b"x".as_slice()],
            )?;
            Err(StoreError::Conflict("stop"))
        });
        assert!(matches!(result, Err(StoreError::Conflict("stop"))));
        let count: i64 = db
            .query_one("SELECT COUNT(*) FROM meta WHERE name = $1", params!["a"])
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn values_round_trip_by_kind_and_a_wrong_kind_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("app.db")).unwrap();
        let row = db
            .query_one(
                "SELECT $1, $2, $3, $4, $2 = 7",
                params![7i64, "text", b"\x00\xff".as_slice(), None::<i64>],
            )
            .unwrap();
        assert_eq!(row.get::<i64>(0).unwrap(), 7);
        assert_eq!(row.get::<String>(1).unwrap(), "text");
        assert_eq!(row.get::<Vec<u8>>(2).unwrap(), b"\x00\xff");
        assert_eq!(row.get::<Option<i64>>(3).unwrap(), None);
        assert!(!row.get::<bool>(4).unwrap());
        assert!(matches!(
            row.get::<i64>(1),
            Err(StoreError::Column { index: 1, .. })
        ));
        assert!(row.get::<i64>(9).is_err());
    }
}
