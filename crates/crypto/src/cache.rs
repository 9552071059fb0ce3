//! A small, time-bounded cache of unwrapped tenant and patient keys.
//!
//! Unwrapping a patient key costs a repository read and two AES-GCM operations; caching keeps
//! that off the hot path. Entries expire after a fixed time and the cache has a hard size bound,
//! so a key stays in memory only briefly after its last use. Keys are shared as
//! `Arc<KeyMaterial>` and wiped when the last holder drops them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::envelope::KEY_ID_LEN;
use crate::{KeyMaterial, KeyScope, digest};

/// An unwrapped tenant or patient key with its fingerprint, the key id written in ciphertexts.
pub(crate) struct ScopeKey {
    pub(crate) key: KeyMaterial,
    pub(crate) id: [u8; KEY_ID_LEN],
}

impl ScopeKey {
    pub(crate) fn new(key: KeyMaterial) -> Self {
        // A keyed fingerprint: it names the key and says nothing about its bytes.
        let tag = digest::hmac_sha256(&key, b"phigate/key-id/v1");
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&tag[..KEY_ID_LEN]);
        Self { key, id }
    }
}

struct Entry {
    key: Arc<ScopeKey>,
    inserted: Instant,
}

pub(crate) struct KeyCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<(KeyScope, u32), Entry>>,
    /// Bumped by [`KeyCache::clear`]. A key unwrapped from a repository read made before a
    /// clear is not cached, so a read that raced a destruction cannot refill the cache.
    generation: AtomicU64,
}

impl KeyCache {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// The current generation; take it before reading the repository and hand it to
    /// [`KeyCache::insert`].
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Drops every entry, and makes inserts of keys read before now do nothing.
    pub(crate) fn clear(&self) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<(KeyScope, u32), Entry>> {
        // The map is never left half-updated, so a panic elsewhere cannot corrupt it.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn get(&self, scope: &KeyScope, version: u32) -> Option<Arc<ScopeKey>> {
        let mut entries = self.entries();
        let slot = (scope.clone(), version);
        let found = match entries.get(&slot) {
            Some(entry) if entry.inserted.elapsed() < self.ttl => Some(Arc::clone(&entry.key)),
            Some(_) => {
                entries.remove(&slot);
                None
            }
            None => None,
        };
        phigate_telemetry::metrics().key_cache(found.is_some());
        found
    }

    /// Caches `key` (unless the cache is disabled, or was cleared since `generation` was
    /// taken) and returns a shared handle to it.
    pub(crate) fn insert(
        &self,
        scope: &KeyScope,
        version: u32,
        key: KeyMaterial,
        generation: u64,
    ) -> Arc<ScopeKey> {
        let key = Arc::new(ScopeKey::new(key));
        if self.capacity == 0 || self.ttl.is_zero() {
            return key;
        }

        let mut entries = self.entries();
        if self.generation() != generation {
            return key;
        }
        entries.retain(|_, entry| entry.inserted.elapsed() < self.ttl);
        if entries.len() >= self.capacity {
            let oldest = entries
                .iter()
                .min_by_key(|(_, entry)| entry.inserted)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            (scope.clone(), version),
            Entry {
                key: Arc::clone(&key),
                inserted: Instant::now(),
            },
        );
        key
    }

    /// Drops every cached version of `scope`.
    pub(crate) fn purge(&self, scope: &KeyScope) {
        self.entries().retain(|(cached, _), _| cached != scope);
    }

    /// Drops one cached version of `scope`.
    pub(crate) fn purge_version(&self, scope: &KeyScope, version: u32) {
        self.entries().remove(&(scope.clone(), version));
    }

    pub(crate) fn len(&self) -> usize {
        self.entries().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CryptoError;

    fn scope(name: &str) -> KeyScope {
        KeyScope::Tenant {
            tenant: name.into(),
        }
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() -> Result<(), CryptoError> {
        let cache = KeyCache::new(Duration::from_secs(60), 2);
        for name in ["a", "b", "c"] {
            cache.insert(&scope(name), 1, KeyMaterial::generate()?, 0);
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&scope("c"), 1).is_some());
        Ok(())
    }

    #[test]
    fn expired_keys_are_not_returned() -> Result<(), CryptoError> {
        let cache = KeyCache::new(Duration::from_nanos(1), 8);
        cache.insert(&scope("a"), 1, KeyMaterial::generate()?, 0);
        std::thread::sleep(Duration::from_millis(2));
        assert!(cache.get(&scope("a"), 1).is_none());
        Ok(())
    }

    #[test]
    fn purging_a_scope_leaves_other_scopes_cached() -> Result<(), CryptoError> {
        let cache = KeyCache::new(Duration::from_secs(60), 8);
        cache.insert(&scope("a"), 1, KeyMaterial::generate()?, 0);
        cache.insert(&scope("a"), 2, KeyMaterial::generate()?, 0);
        cache.insert(&scope("b"), 1, KeyMaterial::generate()?, 0);
        cache.purge(&scope("a"));
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&scope("b"), 1).is_some());
        Ok(())
    }

    #[test]
    fn a_key_read_before_a_clear_is_not_cached_after_it() -> Result<(), CryptoError> {
        let cache = KeyCache::new(Duration::from_secs(60), 8);
        cache.insert(&scope("a"), 1, KeyMaterial::generate()?, 0);
        let before = cache.generation();
        cache.clear();
        assert_eq!(cache.len(), 0);
        cache.insert(&scope("a"), 1, KeyMaterial::generate()?, before);
        assert!(
            cache.get(&scope("a"), 1).is_none(),
            "a stale read refilled the cache"
        );
        cache.insert(&scope("a"), 1, KeyMaterial::generate()?, cache.generation());
        assert!(cache.get(&scope("a"), 1).is_some());
        Ok(())
    }
}
