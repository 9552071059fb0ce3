//! The one error type of the crate.
//!
//! Messages name what failed — a sequence number, a file, a checkpoint — and never carry event
//! contents, so they are safe to log.

use phigate_crypto::CryptoError;

/// Why an audit operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The audit database failed (open, query or commit).
    #[error("audit database error")]
    Database(#[from] rusqlite::Error),

    /// The signing key file could not be created or read, or is readable by others.
    #[error("audit signing key file")]
    KeyFile(#[from] CryptoError),

    /// The signing key file does not hold an Ed25519 PKCS#8 key.
    #[error("audit signing key is not a valid Ed25519 PKCS#8 key")]
    InvalidSigningKey,

    /// The random number generator or the signer failed.
    #[error("could not sign the checkpoint")]
    Signing,

    /// An event was refused before it was written.
    #[error("invalid audit event: {0}")]
    InvalidEvent(&'static str),

    /// An event could not be encoded, or a stored entry could not be decoded.
    #[error("audit entry encoding")]
    Encoding(#[from] serde_json::Error),

    /// A stored entry is not in the expected shape (the log may have been altered).
    #[error("audit entry {seq} is corrupt: {reason}")]
    Corrupt {
        /// The entry's sequence number.
        seq: u64,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A restore was aimed at a log that already holds entries.
    #[error("the audit log to restore into is not empty")]
    NotEmpty,

    /// The origin is empty, or contains whitespace or `+`.
    #[error("invalid log origin: it must be non-empty with no whitespace or '+'")]
    InvalidOrigin,

    /// The log was created under another origin.
    #[error("the audit log was created with origin {stored:?}, not {requested:?}")]
    OriginMismatch {
        /// The origin recorded in the log.
        stored: String,
        /// The origin that was asked for.
        requested: String,
    },

    /// The log's checkpoints were signed by another key.
    #[error("the audit log is signed by key {stored}, but the signing key given is {given}")]
    SignerMismatch {
        /// The key fingerprint recorded in the log.
        stored: String,
        /// The fingerprint of the key that was given.
        given: String,
    },

    /// A checkpoint note could not be parsed.
    #[error("malformed checkpoint note: {0}")]
    MalformedNote(&'static str),

    /// A public key was not 32 bytes of hex.
    #[error("public key must be 64 hex characters")]
    InvalidPublicKey,

    /// The checkpoint names a different key than the one it was checked against.
    #[error("checkpoint key id {found} does not match the public key (expected {expected})")]
    KeyMismatch {
        /// The key id the public key implies.
        expected: String,
        /// The key id in the checkpoint.
        found: String,
    },

    /// The checkpoint's signature does not verify.
    #[error("checkpoint signature does not verify")]
    BadSignature,

    /// The database was written by an older Phigate whose layout this one does not read.
    #[error(
        "the audit database uses an older layout (table audit_entries); keep it as an archive and start a new log file"
    )]
    OldFormat,

    /// The committer thread has stopped, so nothing more can be appended.
    #[error("the audit committer has stopped")]
    CommitterStopped,

    /// The batch this append was part of could not be committed; nothing of it is acknowledged.
    #[error("the audit batch could not be committed")]
    BatchFailed(#[source] std::sync::Arc<AuditError>),

    /// The PostgreSQL store failed (connect, query or commit).
    #[error("audit database error (PostgreSQL)")]
    Postgres(#[source] postgres::Error),

    /// A PostgreSQL schema or role name is not a plain lowercase identifier.
    #[error("PostgreSQL schema and role names must be lowercase letters, digits and '_'")]
    InvalidSchema,

    /// The operation needs the schema owner, not the application role.
    #[error("{0} on PostgreSQL needs the schema owner; run it as the owner role")]
    NeedsOwner(&'static str),

    /// The witness file could not be written or read.
    #[error("audit witness file {path}")]
    Witness {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A proof or listing was asked for outside the log.
    #[error("{what} is out of range for a log of {len} entries")]
    OutOfRange {
        /// Which argument was wrong.
        what: &'static str,
        /// How many entries the log has.
        len: u64,
    },
}

impl From<rusqlite::types::FromSqlError> for AuditError {
    fn from(err: rusqlite::types::FromSqlError) -> Self {
        Self::Database(err.into())
    }
}
