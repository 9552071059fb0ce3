//! Opaque refresh tokens. The token is 256 random bits; only its SHA-256 is stored, so a copy
//! of the database yields nothing that can be presented. Rotation, families and reuse
//! detection are kept by the store under [`RefreshPolicy`].

use std::time::Duration;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use zeroize::Zeroizing;

use crate::AuthError;

/// How long refresh-token families live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// A family unused for this long is dead: automatic logoff of an idle session.
    pub idle: Duration,
    /// A family older than this is dead however active: people sign in again each shift.
    pub absolute: Duration,
    /// How long after a rotation presenting the immediate predecessor is treated as a retry of
    /// the same request (refused, family kept) rather than as theft (family revoked).
    pub grace: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
            grace: Duration::from_secs(10),
        }
    }
}

/// A refresh token as handed to the client. Bearer credential: `Debug` shows nothing.
pub struct RefreshToken(Zeroizing<String>);

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(..)")
    }
}

impl RefreshToken {
    /// A new random token.
    pub fn generate() -> Result<Self, AuthError> {
        Ok(Self(random_token("phr_")?))
    }

    /// The token's text, to send to the client once.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps.
    pub fn hash(&self) -> String {
        hash_refresh_token(&self.0)
    }
}

/// `prefix` followed by 256 random bits in base64url: for refresh tokens, authorization codes,
/// client secrets and CSRF tokens.
pub fn random_token(prefix: &str) -> Result<Zeroizing<String>, AuthError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(bytes.as_mut())
        .map_err(|_| AuthError::Key("no randomness"))?;
    Ok(Zeroizing::new(format!(
        "{prefix}{}",
        B64.encode(bytes.as_ref())
    )))
}

/// The SHA-256 of a presented opaque token, in hex, as stored.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let a = RefreshToken::generate().unwrap();
        let b = RefreshToken::generate().unwrap();
        assert_ne!(a.as_str(), b.as_str());
        assert!(a.as_str().starts_with("phr_") && a.as_str().len() == 47);
        assert_eq!(a.hash(), hash_refresh_token(a.as_str()));
        assert!(!a.hash().contains(&a.as_str()[4..]));
        assert_eq!(format!("{a:?}"), "RefreshToken(..)");
    }
}
