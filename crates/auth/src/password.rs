//! Argon2id password hashing with the OWASP-recommended parameters (19 MiB, 2 passes, 1 lane).

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::AuthError;

/// A PHC-format Argon2id hash string, safe to store.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored PHC string.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string to store.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

fn hasher() -> Result<Argon2<'static>, AuthError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|_| AuthError::Hashing)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with a fresh random salt.
pub fn hash_password(password: &str) -> Result<PasswordHash, AuthError> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| AuthError::Key("no randomness"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| AuthError::Hashing)?;
    let hash = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|_| AuthError::Hashing)?;
    Ok(PasswordHash(hash.to_string()))
}

/// Checks a password against a stored hash in constant time.
pub fn verify_password(stored: &PasswordHash, password: &str) -> Result<(), AuthError> {
    let parsed = argon2::PasswordHash::new(&stored.0).map_err(|_| AuthError::InvalidCredentials)?;
    hasher()?
        .verify_password(password.as_bytes(), &parsed)
        .map_err(|_| AuthError::InvalidCredentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let hash = hash_password("correct horse battery staple").unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(&hash, "correct horse battery staple").is_ok());
        assert!(verify_password(&hash, "correct horse battery stapl").is_err());
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        assert_ne!(hash_password("pw").unwrap(), hash_password("pw").unwrap());
    }

    #[test]
    fn a_corrupt_stored_hash_is_a_failed_sign_in_not_a_panic() {
        let stored = PasswordHash::from_stored("not a phc string".into());
        assert!(matches!(
            verify_password(&stored, "x"),
            Err(AuthError::InvalidCredentials)
        ));
        assert_eq!(format!("{stored:?}"), "PasswordHash(..)");
    }
}
