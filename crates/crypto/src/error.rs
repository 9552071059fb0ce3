//! The one error type of the crate.
//!
//! Messages name what failed and, where it helps an operator, which file or which kind of key;
//! they never carry key bytes, plaintext, or a patient identifier.

use std::error::Error as StdError;
use std::path::PathBuf;

/// Why a cryptographic operation, a key file or a key repository failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,

    /// Key material had the wrong length.
    #[error("key material must be {expected} bytes, got {actual}")]
    KeyLength {
        /// The length the algorithm needs.
        expected: usize,
        /// The length that was supplied.
        actual: usize,
    },

    /// AES-GCM refused to seal (only possible for absurdly large inputs).
    #[error("encryption failed")]
    Encrypt,

    /// Authentication failed: the bytes were altered, or were sealed for another context or key.
    #[error("decryption failed: the ciphertext was altered or belongs to another context")]
    Decrypt,

    /// The ciphertext's data key does not open in this context: the value belongs to another
    /// tenant, patient, record or field, or the bytes naming its key were altered.
    #[error("decryption failed: the ciphertext belongs to another context")]
    WrongContext,

    /// The data key opened but the value did not: its body or tag was altered.
    #[error("decryption failed: the ciphertext body or tag was altered")]
    Tampered,

    /// The ciphertext is shorter than its layout says it must be.
    #[error("truncated ciphertext: expected {expected} bytes, got {actual}")]
    Truncated {
        /// How long it must be.
        expected: usize,
        /// How long it is.
        actual: usize,
    },

    /// The ciphertext or wrapped key is too short or otherwise not in the expected layout.
    #[error("malformed ciphertext: {0}")]
    Malformed(&'static str),

    /// The ciphertext or wrapped key was written by a format this build does not know.
    #[error("unsupported format version {0}")]
    UnsupportedFormat(u8),

    /// The ciphertext was sealed under one kind of key and the context names another.
    #[error("ciphertext was sealed under a {sealed} key but the context needs a {expected} key")]
    ScopeMismatch {
        /// The kind of key named in the ciphertext header.
        sealed: &'static str,
        /// The kind of key the context asks for.
        expected: &'static str,
    },

    /// The repository has no such key version.
    #[error("no {kind} key with version {version}")]
    KeyNotFound {
        /// `tenant` or `patient`.
        kind: &'static str,
        /// The version that was asked for.
        version: u32,
    },

    /// The key version was retired after its values were rewrapped; it opens nothing now.
    #[error("{kind} key version {version} is retired; rewrap data before retiring its key")]
    KeyRetired {
        /// `tenant` or `patient`.
        kind: &'static str,
        /// The retired version.
        version: u32,
    },

    /// The ciphertext names a key version whose stored key has a different fingerprint: the key
    /// repository and the data come from different deployments or backups.
    #[error("{kind} key version {version} is not the key this ciphertext was sealed under")]
    KeyMismatch {
        /// `tenant` or `patient`.
        kind: &'static str,
        /// The version named in the ciphertext.
        version: u32,
    },

    /// The key was destroyed (crypto-shredding): what it protected can no longer be read.
    #[error("the {kind} key has been destroyed; data sealed under it cannot be read")]
    KeyDestroyed {
        /// `tenant` or `patient`.
        kind: &'static str,
    },

    /// A key version was inserted twice (two writers raced, or a bug).
    #[error("{kind} key version {version} already exists")]
    KeyExists {
        /// `tenant` or `patient`.
        kind: &'static str,
        /// The version that already exists.
        version: u32,
    },

    /// A key file was to be created but something is already at that path.
    #[error("key file {path} already exists; refusing to overwrite it")]
    KeyFileExists {
        /// The path that was asked for.
        path: PathBuf,
    },

    /// A key file can be read by group or others.
    #[error(
        "key file {path} has mode {mode:04o}; it must be readable by its owner only (chmod 600)"
    )]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// A key file could not be created, read or synced.
    #[error("key file {path}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// A key file holds something other than what was expected.
    #[error("key file {path} is not a valid key: {reason}")]
    KeyFileContent {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it (never its content).
        reason: &'static str,
    },

    /// A key in an environment variable is missing or malformed.
    #[error("environment variable {var}: {reason}")]
    Env {
        /// The variable's name.
        var: String,
        /// What is wrong with it (never its value).
        reason: &'static str,
    },

    /// A key repository implementation failed.
    #[error("key repository failed")]
    Repository(#[source] Box<dyn StdError + Send + Sync>),

    /// A certificate could not be generated.
    #[error("certificate generation failed: {0}")]
    Certificate(String),

    /// A KMS backend failed.
    #[error("KMS backend failed")]
    Kms(#[source] Box<dyn StdError + Send + Sync>),
}
