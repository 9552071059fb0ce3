//! Identity for Phigate: who a caller is and what they may do.
//!
//! This crate owns password hashing (Argon2id) with backoff and lockout, TOTP second factors,
//! roles and SMART v2 scopes, the permission table for every endpoint, task and tool, the
//! principal a request runs as, short-lived EdDSA-signed access tokens with their key rotation,
//! JWKS and revocation list, and opaque refresh tokens. It holds no storage and no HTTP routing:
//! callers fetch records from the store and hand them here, and the HTTP layers turn an
//! [`AuthError`] into a response once, at the edge.

mod break_glass;
mod error;
mod keys;
mod lockout;
mod password;
mod permission;
mod principal;
mod ratelimit;
mod refresh;
mod revocation;
mod role;
pub mod scope;
mod token;
mod totp;
mod verified;

pub use break_glass::{BREAK_GLASS_SCOPE, BreakGlassPolicy};
pub use error::AuthError;
pub use keys::TokenKeys;
pub use lockout::{FailureState, LockoutPolicy};
pub use password::{PasswordHash, hash_password, verify_password};
pub use permission::{PERMISSIONS, Permission, Target, permission};
pub use principal::Principal;
pub use ratelimit::{RateLimit, RateLimiter, SharedBuckets};
pub use refresh::{RefreshPolicy, RefreshToken, hash_refresh_token, random_token};
pub use revocation::RevocationList;
pub use role::{Role, scopes};
pub use scope::Scope;
pub use token::{Claims, MAX_ACCESS_TOKEN_TTL, TokenSigner, TokenVerifier};
pub use totp::{TOTP_STEP_SECS, Totp, TotpAlgorithm, base32_decode, base32_encode};
pub use verified::VerifiedTokens;
