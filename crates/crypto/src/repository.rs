//! Where wrapped tenant and patient keys are kept, behind a trait the store crate implements.
//!
//! A repository only ever sees wrapped keys. It is trusted to keep them and to erase them on
//! `destroy`, not to keep them secret; what it holds is useless without the KMS.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::CryptoError;
use crate::key::SEALED_KEY_LEN;

/// Which key protects a value: the tenant's own key, or one patient's key within a tenant.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyScope {
    /// Values about no particular patient, and the wrapping of the tenant's patient keys.
    Tenant {
        /// The tenant.
        tenant: String,
    },
    /// Values about one patient; destroying these keys shreds that patient's data.
    Patient {
        /// The tenant the patient belongs to.
        tenant: String,
        /// The patient.
        patient: String,
    },
}

impl KeyScope {
    /// `"tenant"` or `"patient"`, for messages and storage.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Tenant { .. } => "tenant",
            Self::Patient { .. } => "patient",
        }
    }

    /// The tenant this scope belongs to.
    pub fn tenant(&self) -> &str {
        match self {
            Self::Tenant { tenant } | Self::Patient { tenant, .. } => tenant,
        }
    }

    /// The patient, for a patient scope.
    pub fn patient(&self) -> Option<&str> {
        match self {
            Self::Tenant { .. } => None,
            Self::Patient { patient, .. } => Some(patient),
        }
    }
}

impl fmt::Debug for KeyScope {
    // A patient identifier can itself identify a person, so it is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant { tenant } => f.debug_struct("Tenant").field("tenant", tenant).finish(),
            Self::Patient { tenant, .. } => f
                .debug_struct("Patient")
                .field("tenant", tenant)
                .field("patient", &"..")
                .finish(),
        }
    }
}

/// The life cycle of one key version: active, then decrypt-only after a rotation, then retired
/// once a rewrap has moved everything it protected to a newer version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Used for new writes (the highest active version wins) and for reads.
    Active,
    /// Used for reads only, after a rotation, until a rewrap moves its values on.
    DecryptOnly,
    /// Refused for reads and writes: a rewrap found nothing left under it. The wrapped key is
    /// kept, so a value restored from an old backup can still be recovered by moving the version
    /// back to decrypt-only in the repository.
    Retired,
    /// Erased; whatever it protected is unreadable. Terminal.
    Destroyed,
}

impl KeyState {
    /// `"active"`, `"retired"` or `"destroyed"`, for storage and status output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::DecryptOnly => "decrypt_only",
            Self::Retired => "retired",
            Self::Destroyed => "destroyed",
        }
    }

    /// The inverse of [`KeyState::as_str`].
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(Self::Active),
            "decrypt_only" => Some(Self::DecryptOnly),
            "retired" => Some(Self::Retired),
            "destroyed" => Some(Self::Destroyed),
            _ => None,
        }
    }
}

/// One version of a tenant or patient key, as stored: wrapped by the level above.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// Whose key this is.
    pub scope: KeyScope,
    /// Versions start at 1 and grow by one with each rotation.
    pub version: u32,
    /// The key wrapped by the KMS (tenant keys) or by a tenant key (patient keys); empty once
    /// destroyed.
    pub wrapped: Vec<u8>,
    /// Where the version is in its life cycle.
    pub state: KeyState,
    /// When the version was created, in Unix seconds.
    pub created_at: i64,
}

/// Format byte at the start of a patient key wrapped by a tenant key.
pub(crate) const PATIENT_WRAP_V1: u8 = 1;
/// Length of a wrapped patient key: format, tenant key version, sealed key.
pub(crate) const PATIENT_WRAP_LEN: usize = 1 + 4 + SEALED_KEY_LEN;

impl StoredKey {
    /// For a patient key, the version of the tenant key that wraps it; `None` for a tenant key
    /// or a destroyed one.
    pub fn parent_version(&self) -> Option<u32> {
        match self.scope {
            KeyScope::Patient { .. } if self.state != KeyState::Destroyed => {
                split_patient_wrap(&self.wrapped).ok().map(|(v, _)| v)
            }
            _ => None,
        }
    }
}

/// Splits a wrapped patient key into the tenant key version and the sealed key.
pub(crate) fn split_patient_wrap(wrapped: &[u8]) -> Result<(u32, &[u8]), CryptoError> {
    match wrapped.split_first() {
        Some((&PATIENT_WRAP_V1, rest)) if wrapped.len() == PATIENT_WRAP_LEN => {
            let (version, sealed) = rest.split_at(4);
            let mut bytes = [0u8; 4];
            bytes.copy_from_slice(version);
            Ok((u32::from_be_bytes(bytes), sealed))
        }
        Some((&PATIENT_WRAP_V1, _)) => Err(CryptoError::Malformed("wrapped patient key length")),
        Some((&other, _)) => Err(CryptoError::UnsupportedFormat(other)),
        None => Err(CryptoError::Malformed("empty wrapped patient key")),
    }
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("scope", &self.scope)
            .field("version", &self.version)
            .field("wrapped_len", &self.wrapped.len())
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// Storage for wrapped keys. Implementations must be safe to share between threads.
pub trait KeyRepository: Send + Sync {
    /// Every stored version of `scope`, in any order; empty if there are none.
    fn load(&self, scope: &KeyScope) -> Result<Vec<StoredKey>, CryptoError>;

    /// Stores a new version; fails with [`CryptoError::KeyExists`] if `(scope, version)` exists.
    fn insert(&self, key: &StoredKey) -> Result<(), CryptoError>;

    /// Moves one version to `state`. A destroyed version cannot be brought back.
    fn set_state(&self, scope: &KeyScope, version: u32, state: KeyState)
    -> Result<(), CryptoError>;

    /// Erases the wrapped bytes of every version of `scope` and marks them destroyed; returns
    /// how many versions were destroyed by this call.
    fn destroy(&self, scope: &KeyScope) -> Result<u32, CryptoError>;

    /// Replaces the wrapped bytes of one version if they are still `old` (a rewrap under a newer
    /// parent key); returns whether they were replaced. Destroyed versions are never changed.
    fn replace_wrapped(
        &self,
        scope: &KeyScope,
        version: u32,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool, CryptoError>;

    /// Every scope of `tenant` that has at least one stored version, the tenant's own first.
    fn scopes(&self, tenant: &str) -> Result<Vec<KeyScope>, CryptoError>;

    /// A value that changes whenever any version is destroyed or retired, by this process or
    /// another sharing the repository (a `phigate patient forget` beside a running server).
    /// A keyring reads it before using a cached key and drops its cache when it changed, so a
    /// forgotten patient's key stops opening anything at once. It must be cheap: one read.
    fn revocation_marker(&self) -> Result<Vec<u8>, CryptoError>;
}

/// An in-memory repository, for tests and examples.
#[derive(Default)]
pub struct MemoryKeyRepository {
    keys: Mutex<HashMap<KeyScope, Vec<StoredKey>>>,
    /// Counts destructions and retirements, for [`KeyRepository::revocation_marker`].
    revocations: AtomicU64,
}

impl MemoryKeyRepository {
    /// An empty repository.
    pub fn new() -> Self {
        Self::default()
    }

    fn keys(&self) -> MutexGuard<'_, HashMap<KeyScope, Vec<StoredKey>>> {
        // Every operation leaves the map consistent, so a panic elsewhere cannot corrupt it.
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryKeyRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryKeyRepository")
            .field("scopes", &self.keys().len())
            .finish()
    }
}

impl KeyRepository for MemoryKeyRepository {
    fn load(&self, scope: &KeyScope) -> Result<Vec<StoredKey>, CryptoError> {
        Ok(self.keys().get(scope).cloned().unwrap_or_default())
    }

    fn insert(&self, key: &StoredKey) -> Result<(), CryptoError> {
        let mut keys = self.keys();
        let versions = keys.entry(key.scope.clone()).or_default();
        if versions.iter().any(|stored| stored.version == key.version) {
            return Err(CryptoError::KeyExists {
                kind: key.scope.kind(),
                version: key.version,
            });
        }
        versions.push(key.clone());
        Ok(())
    }

    fn set_state(
        &self,
        scope: &KeyScope,
        version: u32,
        state: KeyState,
    ) -> Result<(), CryptoError> {
        let mut keys = self.keys();
        let stored = keys
            .get_mut(scope)
            .and_then(|versions| versions.iter_mut().find(|stored| stored.version == version))
            .ok_or(CryptoError::KeyNotFound {
                kind: scope.kind(),
                version,
            })?;
        if stored.state == KeyState::Destroyed && state != KeyState::Destroyed {
            return Err(CryptoError::KeyDestroyed { kind: scope.kind() });
        }
        if state == KeyState::Destroyed {
            stored.wrapped.zeroize();
        }
        stored.state = state;
        if matches!(state, KeyState::Destroyed | KeyState::Retired) {
            self.revocations.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn destroy(&self, scope: &KeyScope) -> Result<u32, CryptoError> {
        let mut keys = self.keys();
        let mut destroyed = 0;
        for stored in keys.get_mut(scope).into_iter().flatten() {
            if stored.state != KeyState::Destroyed {
                destroyed += 1;
            }
            stored.wrapped.zeroize();
            stored.state = KeyState::Destroyed;
        }
        self.revocations.fetch_add(1, Ordering::SeqCst);
        Ok(destroyed)
    }

    fn replace_wrapped(
        &self,
        scope: &KeyScope,
        version: u32,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool, CryptoError> {
        let mut keys = self.keys();
        let stored = keys
            .get_mut(scope)
            .and_then(|versions| versions.iter_mut().find(|stored| stored.version == version));
        match stored {
            Some(stored) if stored.state != KeyState::Destroyed && stored.wrapped == old => {
                stored.wrapped = new.to_vec();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn scopes(&self, tenant: &str) -> Result<Vec<KeyScope>, CryptoError> {
        let mut scopes: Vec<KeyScope> = self
            .keys()
            .keys()
            .filter(|scope| scope.tenant() == tenant)
            .cloned()
            .collect();
        scopes.sort_by_key(|scope| {
            (
                scope.patient().is_some(),
                scope.patient().map(str::to_owned),
            )
        });
        Ok(scopes)
    }

    fn revocation_marker(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(self
            .revocations
            .load(Ordering::SeqCst)
            .to_be_bytes()
            .to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(version: u32) -> StoredKey {
        StoredKey {
            scope: KeyScope::Tenant { tenant: "t".into() },
            version,
            wrapped: vec![1, 2, 3],
            state: KeyState::Active,
            created_at: 0,
        }
    }

    #[test]
    fn inserting_the_same_version_twice_fails() -> Result<(), CryptoError> {
        let repo = MemoryKeyRepository::new();
        repo.insert(&stored(1))?;
        let err = repo.insert(&stored(1)).err();
        assert!(matches!(
            err,
            Some(CryptoError::KeyExists { version: 1, .. })
        ));
        Ok(())
    }

    #[test]
    fn destroy_erases_every_version_and_counts_them_once() -> Result<(), CryptoError> {
        let repo = MemoryKeyRepository::new();
        repo.insert(&stored(1))?;
        repo.insert(&stored(2))?;
        let scope = stored(1).scope;
        assert_eq!(repo.destroy(&scope)?, 2);
        assert_eq!(repo.destroy(&scope)?, 0);
        for key in repo.load(&scope)? {
            assert!(key.wrapped.is_empty());
            assert_eq!(key.state, KeyState::Destroyed);
        }
        Ok(())
    }

    #[test]
    fn a_destroyed_version_cannot_be_reactivated() -> Result<(), CryptoError> {
        let repo = MemoryKeyRepository::new();
        repo.insert(&stored(1))?;
        let scope = stored(1).scope;
        repo.destroy(&scope)?;
        assert!(repo.set_state(&scope, 1, KeyState::Active).is_err());
        Ok(())
    }

    #[test]
    fn key_states_round_trip_through_their_names() {
        for state in [
            KeyState::Active,
            KeyState::DecryptOnly,
            KeyState::Retired,
            KeyState::Destroyed,
        ] {
            assert_eq!(KeyState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn debug_of_a_patient_scope_hides_the_patient() {
        let scope = KeyScope::Patient {
            tenant: "t".into(),
            patient: "MRN-1".into(),
        };
        assert!(!format!("{scope:?}").contains("MRN-1"));
    }
}
