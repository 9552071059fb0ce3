use thiserror::Error;

/// Why authentication or authorization failed. Messages never contain secrets or tokens.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The password or token did not prove who the caller claimed to be.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The token is malformed, badly signed, for another audience, or too long-lived.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// The token was valid once but has expired.
    #[error("token expired")]
    Expired,
    /// The caller is known but lacks a scope the action needs.
    #[error("permission denied: missing scope {missing}")]
    Denied {
        /// The first missing scope (scope names are not secret).
        missing: String,
    },
    /// A role name that Phigate does not define.
    #[error("unknown role {0:?}")]
    UnknownRole(String),
    /// Key material could not be generated or parsed.
    #[error("key error: {0}")]
    Key(&'static str),
    /// The password hasher failed (for example out of memory).
    #[error("password hashing failed")]
    Hashing,
}
