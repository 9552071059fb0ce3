use std::time::Duration;

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
    /// The token is not valid yet (`nbf` or `iat` in the future).
    #[error("token not yet valid")]
    NotYetValid,
    /// The token was revoked before it expired.
    #[error("token revoked")]
    Revoked,
    /// The caller is known but lacks a scope the action needs.
    #[error("permission denied: missing scope {missing}")]
    Denied {
        /// The first missing scope (scope names are not secret).
        missing: String,
    },
    /// A role name that Phigate does not define.
    #[error("unknown role {0:?}")]
    UnknownRole(String),
    /// A scope that is not in the SMART v2 or Phigate grammar.
    #[error("malformed scope")]
    InvalidScope,
    /// A one-time code that was already used.
    #[error("one-time code already used")]
    TotpReplayed,
    /// The account needs a second factor and none was given (or none is enrolled).
    #[error("a second factor is required")]
    MfaRequired,
    /// The account is locked after repeated failures; an administrator must enable it.
    #[error("account locked")]
    Locked,
    /// Too many recent failures: the next attempt must wait.
    #[error("too many failed attempts; retry in {} s", retry_after.as_secs())]
    Backoff {
        /// How long to wait.
        retry_after: Duration,
    },
    /// A break-glass request was not acceptable (no reason, bad duration).
    #[error("break-glass refused: {0}")]
    BreakGlassRefused(&'static str),
    /// Key material could not be generated or parsed.
    #[error("key error: {0}")]
    Key(&'static str),
    /// The password hasher failed (for example out of memory).
    #[error("password hashing failed")]
    Hashing,
}
