//! Keeping extended-thinking blocks valid across turns.
//!
//! The API refuses a thinking block whose text is not exactly what it signed. The provider
//! signed the de-identified text (`[NAME_1] reports...`), but Phigate restores thinking for the
//! caller like any other output, so the caller sends back the restored text. To keep the block
//! valid, the gateway remembers, for each signature it relayed with restored text, the
//! de-identified original, and on the next request puts that original back — but only when the
//! caller's text is exactly what the gateway restored from it under the new request's vault.
//! Anything else is de-identified like any text; if that alters it, the provider refuses the
//! block, which is the safe failure.
//!
//! What is remembered holds no PHI: it is the provider's own output, with placeholders. The store
//! is in memory, bounded, and keyed by the SHA-256 of the signature. After a restart, or on
//! another replica, a block is de-identified again, which usually reproduces the original
//! exactly because its values are found again as known values of the conversation.
//!
//! Redacted thinking blocks (`redacted_thinking`) are opaque to Phigate and pass unchanged; the
//! egress gate still checks their bytes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

type Key = [u8; 32];

/// Remembered de-identified thinking, keyed by signature. `Debug` shows only the size.
pub struct ThinkingStore {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    masked: HashMap<Key, String>,
    order: VecDeque<Key>,
}

impl std::fmt::Debug for ThinkingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThinkingStore")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl ThinkingStore {
    /// A store keeping at most `capacity` blocks, forgetting the oldest first.
    pub fn new(capacity: usize) -> Self {
        ThinkingStore {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Remembers the de-identified text the provider signed with `signature`.
    pub fn remember(&self, signature: &str, masked: String) {
        if self.capacity == 0 || signature.is_empty() {
            return;
        }
        let key = key(signature);
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.masked.insert(key, masked).is_none() {
            inner.order.push_back(key);
        }
        while inner.order.len() > self.capacity {
            if let Some(oldest) = inner.order.pop_front() {
                inner.masked.remove(&oldest);
            }
        }
    }

    /// The de-identified text signed with `signature`, if remembered.
    pub fn masked_for(&self, signature: &str) -> Option<String> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.masked.get(&key(signature)).cloned()
    }

    /// How many blocks are remembered.
    pub fn len(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.masked.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn key(signature: &str) -> Key {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, signature.as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_blocks_are_forgotten_first() {
        let store = ThinkingStore::new(2);
        store.remember("s1", "one [NAME_1]".into());
        store.remember("s2", "two".into());
        store.remember("s3", "three".into());
        assert_eq!(store.masked_for("s1"), None);
        assert_eq!(store.masked_for("s3").as_deref(), Some("three"));
        assert_eq!(store.len(), 2);
    }
}
