//! The crate's error type. Messages never carry a value that could be PHI.

use thiserror::Error;

/// What can go wrong inside the de-identification crate.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DeidError {
    /// A regular expression or automaton could not be built (a bug or a bad configuration).
    #[error("failed to build the {what} matcher")]
    Build {
        /// Which matcher failed, e.g. "date patterns".
        what: &'static str,
    },
    /// A restricted ZIP3 prefix in the configuration is not three ASCII digits.
    #[error("restricted ZIP3 prefix #{index} is not three digits")]
    BadZip3 {
        /// Position of the bad entry in the configured list.
        index: usize,
    },
    /// Serialized vault bytes could not be read back.
    #[error("vault bytes are malformed or of an unsupported version")]
    VaultFormat,
    /// A line of an evaluation corpus is not a gold record.
    #[error("corpus line {line}: {reason}")]
    Corpus {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it (never a value from the line).
        reason: &'static str,
    },
}
