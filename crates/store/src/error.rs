use phigate_crypto::CryptoError;
use thiserror::Error;

/// Why a store operation failed. Messages never carry stored values.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database refused or failed the operation.
    #[error("database error")]
    Database(#[from] rusqlite::Error),
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
}
