//! Identity for Phigate: who a caller is and what they may do.
//!
//! This crate owns password hashing (Argon2id), roles and their scopes, the principal a request
//! runs as, and short-lived EdDSA-signed access tokens. It holds no storage and no HTTP routing:
//! callers fetch user records from the store and hand them here, and the gateway turns an
//! [`AuthError`] into a response once, at the edge.

mod error;
mod password;
mod principal;
mod role;
mod token;

pub use error::AuthError;
pub use password::{PasswordHash, hash_password, verify_password};
pub use principal::Principal;
pub use role::{Role, scopes};
pub use token::{Claims, MAX_ACCESS_TOKEN_TTL, TokenSigner, TokenVerifier};
