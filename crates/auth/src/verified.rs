//! Tokens whose signature was already checked, so that a caller sending the same access token
//! on every request pays for one Ed25519 verification per token rather than one per request.
//!
//! What is remembered is only what the signature proved: these exact bytes, signed by this key,
//! carry these claims. A token's claims never change, so that fact holds for as long as the key
//! is trusted. Everything that can change is still checked on every request by
//! [`TokenVerifier::verify_remembered`](crate::TokenVerifier::verify_remembered): that the
//! verifier in use still trusts the same key id with the same public key (a rotated-out or
//! replaced key invalidates what it signed), the issuer and audience, the time window and the
//! revocation list. A token that fails verification is never remembered.
//!
//! The set is bounded: when it is full it is emptied and refills from the next requests, so a
//! flood of distinct valid tokens costs at worst a verification each, as without the set.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::Claims;

/// How many tokens are remembered at most, by default: far more than the callers one gateway
/// serves within a token's lifetime, and a few megabytes at most.
const DEFAULT_CAPACITY: usize = 4096;

/// The key a remembered token was verified with.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SignedBy {
    pub(crate) kid: String,
    pub(crate) public_key: Vec<u8>,
}

#[derive(Clone)]
struct Entry {
    claims: Claims,
    signed_by: SignedBy,
}

/// Access tokens whose signatures were verified, with their claims.
pub struct VerifiedTokens {
    entries: Mutex<HashMap<String, Entry>>,
    capacity: usize,
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the tokens themselves: they are credentials.
        f.debug_struct("VerifiedTokens")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl VerifiedTokens {
    /// An empty set that remembers at most `capacity` tokens (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// How many tokens are remembered now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no token is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The claims `token` was verified to carry and the key that signed it, if remembered.
    pub(crate) fn get(&self, token: &str) -> Option<(Claims, SignedBy)> {
        self.lock()
            .get(token)
            .map(|entry| (entry.claims.clone(), entry.signed_by.clone()))
    }

    /// Remembers that `token`, signed by `signed_by`, carries `claims`.
    pub(crate) fn insert(&self, token: &str, claims: &Claims, signed_by: SignedBy) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(token) {
            entries.clear();
        }
        entries.insert(
            token.to_owned(),
            Entry {
                claims: claims.clone(),
                signed_by,
            },
        );
    }
}

#[cfg(test)]
mod tests;
