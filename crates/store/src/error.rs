use phigate_crypto::CryptoError;
use thiserror::Error;

/// Why a store operation failed. Messages never carry stored values.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The SQLite database refused or failed the operation.
    #[error("database error")]
    Database(#[from] rusqlite::Error),
    /// The PostgreSQL server refused or failed the operation.
    #[error("database error")]
    Postgres(#[from] postgres::Error),
    /// The configured PostgreSQL schema is not a plain lowercase identifier.
    #[error("the store's PostgreSQL schema must be a lowercase identifier (a-z, 0-9, _)")]
    InvalidSchema,
    /// No pooled connection came free in time.
    #[error("no database connection came free in time")]
    PoolExhausted,
    /// A value could not be sealed or opened.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The database was written by a newer Phigate.
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// Version found in the file.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// The requested row does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The row exists but is in a state that forbids the change.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A stored value could not be decoded.
    #[error("stored {0} is corrupt")]
    Corrupt(&'static str),
    /// A lock was poisoned by a panic in another thread.
    #[error("store lock poisoned")]
    Poisoned,
    /// A query that always returns a row returned none.
    #[error("database returned no row")]
    NoRow,
    /// A column held another kind of value than the code reads.
    #[error("column {index} is not {expected}")]
    Column {
        /// Column index, from 0.
        index: usize,
        /// What the code expected.
        expected: &'static str,
    },
}
