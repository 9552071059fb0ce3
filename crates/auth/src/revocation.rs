//! Access tokens revoked before they expire, by `jti`.
//!
//! Entries are kept until the token would have expired anyway, then dropped. The list is in
//! memory; the OAuth server also writes each revocation to the store and reloads them at start,
//! so a restart does not forget them.

use std::collections::HashMap;
use std::sync::Mutex;

/// The revoked token ids and when each token expires.
#[derive(Debug, Default)]
pub struct RevocationList {
    entries: Mutex<HashMap<String, i64>>,
}

impl RevocationList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Revokes `jti` until `expires_at` (Unix seconds).
    pub fn revoke(&self, jti: &str, expires_at: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(jti.to_owned(), expires_at);
        }
    }

    /// Whether `jti` was revoked. A poisoned lock counts as revoked: fail closed.
    pub fn is_revoked(&self, jti: &str) -> bool {
        self.entries
            .lock()
            .map_or(true, |entries| entries.contains_key(jti))
    }

    /// Drops entries whose tokens have expired by `now` (with the verifier's leeway).
    pub fn purge(&self, now: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, exp| *exp + crate::token::LEEWAY_SECS > now);
        }
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |entries| entries.len())
    }

    /// Whether no entries are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_dropped_once_their_tokens_have_expired() {
        let list = RevocationList::new();
        list.revoke("a", 100);
        list.revoke("b", 1_000);
        list.purge(500);
        assert!(!list.is_revoked("a"));
        assert!(list.is_revoked("b"));
        assert_eq!(list.len(), 1);
    }
}
