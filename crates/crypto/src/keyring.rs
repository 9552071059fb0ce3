//! The key hierarchy: root (KMS) → tenant keys → patient keys → one fresh data key per value.
//!
//! Tenant and patient keys are versioned. The highest active version seals new values; every
//! version that is not destroyed still opens old ones. Keys are created on first use, so callers
//! only ever name a context. Forgetting a patient destroys all of their key versions, which makes
//! everything sealed for them unreadable (crypto-shredding).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zeroize::Zeroizing;

use crate::aad::key_aad;
use crate::cache::{KeyCache, ScopeKey};
use crate::envelope::{Envelope, FORMAT_V1, Header};
use crate::key;
use crate::repository::{PATIENT_WRAP_LEN, PATIENT_WRAP_V1, split_patient_wrap};
use crate::{
    AadContext, CryptoError, KeyMaterial, KeyRepository, KeyScope, KeyState, Kms, StoredKey,
};

mod rewrap;

pub use rewrap::RewrapOutcome;

/// How long an unwrapped key may stay in memory after it was unwrapped.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(5 * 60);
/// How many unwrapped keys may be cached at once.
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

/// The labels of the two associated-data encodings, by ciphertext format.
fn labels(format: u8) -> (&'static str, &'static str) {
    if format == FORMAT_V1 {
        ("phigate/data-key/v1", "phigate/data/v1")
    } else {
        ("phigate/data-key/v2", "phigate/data/v2")
    }
}

/// Seals and opens values under the key hierarchy.
pub struct Keyring {
    kms: Arc<dyn Kms>,
    repo: Arc<dyn KeyRepository>,
    cache: KeyCache,
    /// Serialises key creation in this process, so concurrent first writes make one key.
    creating: Mutex<()>,
    /// The repository's revocation marker when the cache was last known current.
    seen_marker: Mutex<Option<Vec<u8>>>,
}

impl Keyring {
    /// A keyring with the default cache policy (five minutes, 1024 keys).
    pub fn new(kms: Arc<dyn Kms>, repo: Arc<dyn KeyRepository>) -> Self {
        Self::with_cache_policy(kms, repo, DEFAULT_CACHE_TTL, DEFAULT_CACHE_CAPACITY)
    }

    /// A keyring whose unwrapped keys live at most `ttl`, at most `capacity` at a time. A zero
    /// for either disables caching.
    pub fn with_cache_policy(
        kms: Arc<dyn Kms>,
        repo: Arc<dyn KeyRepository>,
        ttl: Duration,
        capacity: usize,
    ) -> Self {
        Self {
            kms,
            repo,
            cache: KeyCache::new(ttl, capacity),
            creating: Mutex::new(()),
            seen_marker: Mutex::new(None),
        }
    }

    /// Seals `plaintext` for `ctx` under a fresh data key, creating the tenant and patient keys
    /// on first use.
    pub fn seal(&self, ctx: &AadContext, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let scope = ctx.scope();
        let (version, scope_key) = self.active_key(&scope)?;
        let body_len = u32::try_from(plaintext.len()).map_err(|_| CryptoError::Encrypt)?;
        let header = Header::v2(ctx.patient.is_some(), version, scope_key.id, body_len);
        let (key_label, data_label) = labels(header.format);

        let data_key = KeyMaterial::generate()?;
        let wrapped_key = key::wrap_key(
            &scope_key.key,
            &ctx.encode(key_label, &header.to_bytes()),
            &data_key,
        )?;
        let sealed = key::seal(
            &data_key,
            &ctx.encode(data_label, &header.body_binding()),
            plaintext,
        )?;

        Ok(Envelope::encode(
            header,
            &sealed.nonce,
            &wrapped_key,
            &sealed.ciphertext,
        ))
    }

    /// Opens a value sealed for exactly `ctx`; any other context, or any altered byte, fails.
    ///
    /// The error says which check failed: [`CryptoError::Truncated`] for a cut-off value,
    /// [`CryptoError::KeyNotFound`], [`CryptoError::KeyRetired`] or
    /// [`CryptoError::KeyDestroyed`] for a key version that cannot be used,
    /// [`CryptoError::KeyMismatch`] for a key id that is not the stored key's,
    /// [`CryptoError::WrongContext`] when the data key does not open in `ctx`, and
    /// [`CryptoError::Tampered`] when it does but the value's body or tag was altered.
    pub fn open(
        &self,
        ctx: &AadContext,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let envelope = Envelope::parse(ciphertext)?;
        let header = envelope.header;
        let data_key = self.unwrap_data_key(ctx, &envelope)?;
        let (_, data_label) = labels(header.format);
        key::open(
            &data_key,
            &ctx.encode(data_label, &header.body_binding()),
            envelope.nonce,
            envelope.ciphertext,
        )
        .map_err(|err| match err {
            CryptoError::Decrypt => CryptoError::Tampered,
            other => other,
        })
    }

    /// Finds the key an envelope names and unwraps its data key in `ctx`.
    fn unwrap_data_key(
        &self,
        ctx: &AadContext,
        envelope: &Envelope<'_>,
    ) -> Result<KeyMaterial, CryptoError> {
        let header = envelope.header;
        let scope = ctx.scope();
        if header.kind() != scope.kind() {
            return Err(CryptoError::ScopeMismatch {
                sealed: header.kind(),
                expected: scope.kind(),
            });
        }
        let scope_key = self.key_at(&scope, header.version)?;
        if header.format != FORMAT_V1 && scope_key.id != header.key_id {
            return Err(CryptoError::KeyMismatch {
                kind: scope.kind(),
                version: header.version,
            });
        }
        let (key_label, _) = labels(header.format);
        key::unwrap_key(
            &scope_key.key,
            &ctx.encode(key_label, &header.to_bytes()),
            envelope.wrapped_key,
        )
        .map_err(|err| match err {
            CryptoError::Decrypt => CryptoError::WrongContext,
            other => other,
        })
    }

    /// Adds a new active version of `scope` for writes and makes the older active ones
    /// decrypt-only: they still open what they sealed until a rewrap moves it and retires them.
    /// Returns the new version.
    pub fn rotate(&self, scope: &KeyScope) -> Result<u32, CryptoError> {
        let parent = self.parent_key(scope)?;
        let _creating = self.creating.lock().unwrap_or_else(PoisonError::into_inner);

        let versions = self.repo.load(scope)?;
        refuse_if_forgotten(scope, &versions)?;
        let next = next_version(scope, &versions)?;
        self.create_version(scope, next, parent.as_ref())?;

        for old in versions
            .iter()
            .filter(|stored| stored.state == KeyState::Active)
        {
            self.repo
                .set_state(scope, old.version, KeyState::DecryptOnly)?;
        }
        Ok(next)
    }

    /// Destroys every key version of one patient and drops them from the cache. Everything
    /// sealed for that patient becomes unreadable, and nothing new can be sealed for them.
    /// Returns how many versions were destroyed.
    ///
    /// Other keyrings sharing the repository (other replicas, a running server beside the CLI)
    /// drop their cached copy on their next use of a cached key: the repository's revocation
    /// marker changed with the destruction, and a cached key is used only while it has not.
    pub fn forget_patient(&self, tenant: &str, patient: &str) -> Result<u32, CryptoError> {
        let scope = KeyScope::Patient {
            tenant: tenant.into(),
            patient: patient.into(),
        };
        let _creating = self.creating.lock().unwrap_or_else(PoisonError::into_inner);
        let destroyed = self.repo.destroy(&scope)?;
        self.cache.purge(&scope);
        Ok(destroyed)
    }

    /// The non-secret name of the root key's KMS.
    pub fn kms_id(&self) -> &str {
        self.kms.id()
    }

    /// Checks that the KMS answers: wraps a fresh throwaway key and unwraps it again. Costs one
    /// round trip each way with a remote KMS; nothing is stored.
    pub fn probe_kms(&self) -> Result<(), CryptoError> {
        let probe = KeyMaterial::generate()?;
        let aad = b"phigate/kms-probe/v1";
        let wrapped = self.kms.wrap(&probe, aad)?;
        let unwrapped = self.kms.unwrap(&wrapped, aad)?;
        if unwrapped.expose_secret() == probe.expose_secret() {
            Ok(())
        } else {
            Err(CryptoError::Kms("the KMS unwrapped a different key".into()))
        }
    }

    /// Every version of `scope` with its state, lowest version first.
    pub fn key_status(&self, scope: &KeyScope) -> Result<Vec<(u32, KeyState)>, CryptoError> {
        let mut status: Vec<_> = self
            .repo
            .load(scope)?
            .iter()
            .map(|stored| (stored.version, stored.state))
            .collect();
        status.sort_unstable_by_key(|(version, _)| *version);
        Ok(status)
    }

    /// The version and key that seal new values for `scope`, creating version 1 if needed.
    fn active_key(&self, scope: &KeyScope) -> Result<(u32, Arc<ScopeKey>), CryptoError> {
        if let Some(found) = self.current_active(scope)? {
            return Ok(found);
        }

        // The tenant key is fetched before taking the lock, which creating it also needs.
        let parent = self.parent_key(scope)?;
        let _creating = self.creating.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = self.current_active(scope)? {
            return Ok(found);
        }
        let versions = self.repo.load(scope)?;
        let next = next_version(scope, &versions)?;
        match self.create_version(scope, next, parent.as_ref()) {
            Ok(key) => Ok((next, key)),
            // Another process won the race; use what it created.
            Err(err @ CryptoError::KeyExists { .. }) => self.current_active(scope)?.ok_or(err),
            Err(err) => Err(err),
        }
    }

    /// The highest active version of `scope`, if there is one.
    fn current_active(
        &self,
        scope: &KeyScope,
    ) -> Result<Option<(u32, Arc<ScopeKey>)>, CryptoError> {
        let generation = self.cache.generation();
        let versions = self.repo.load(scope)?;
        refuse_if_forgotten(scope, &versions)?;
        let active = versions
            .iter()
            .filter(|stored| stored.state == KeyState::Active)
            .max_by_key(|stored| stored.version);
        match active {
            Some(stored) => Ok(Some((
                stored.version,
                self.unwrap_stored(stored, generation)?,
            ))),
            None => Ok(None),
        }
    }

    /// The key of one version of `scope`, from the cache or the repository.
    fn key_at(&self, scope: &KeyScope, version: u32) -> Result<Arc<ScopeKey>, CryptoError> {
        if let Some(key) = self.cache.get(scope, version)
            && self.cache_is_current()?
        {
            return Ok(key);
        }
        let generation = self.cache.generation();
        let versions = self.repo.load(scope)?;
        let stored = versions
            .iter()
            .find(|stored| stored.version == version)
            .ok_or(CryptoError::KeyNotFound {
                kind: scope.kind(),
                version,
            })?;
        self.unwrap_stored(stored, generation)
    }

    /// Whether cached keys may still be used: no version was destroyed or retired, by any
    /// process, since the repository's revocation marker was last read. If one was, the whole
    /// cache is dropped and the caller reads the repository, which knows the new states. This
    /// costs one small repository read per use of a cached key, instead of a load and an
    /// unwrap; it is what makes a forget by another process take effect at once.
    fn cache_is_current(&self) -> Result<bool, CryptoError> {
        let marker = self.repo.revocation_marker()?;
        let mut seen = self
            .seen_marker
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if seen.as_deref() == Some(marker.as_slice()) {
            return Ok(true);
        }
        self.cache.clear();
        *seen = Some(marker);
        Ok(false)
    }

    /// Unwraps a stored version (or finds it in the cache), refusing destroyed and retired ones.
    /// `generation` is the cache's, taken before `stored` was read from the repository.
    fn unwrap_stored(
        &self,
        stored: &StoredKey,
        generation: u64,
    ) -> Result<Arc<ScopeKey>, CryptoError> {
        let scope = &stored.scope;
        match stored.state {
            KeyState::Destroyed => return Err(CryptoError::KeyDestroyed { kind: scope.kind() }),
            KeyState::Retired => {
                return Err(CryptoError::KeyRetired {
                    kind: scope.kind(),
                    version: stored.version,
                });
            }
            KeyState::Active | KeyState::DecryptOnly => {}
        }
        if let Some(key) = self.cache.get(scope, stored.version) {
            return Ok(key);
        }

        let key = match scope {
            KeyScope::Tenant { .. } => self
                .kms
                .unwrap(&stored.wrapped, &key_aad(scope, stored.version, None))?,
            KeyScope::Patient { tenant, .. } => {
                let (tenant_version, sealed) = split_patient_wrap(&stored.wrapped)?;
                let tenant_scope = KeyScope::Tenant {
                    tenant: tenant.clone(),
                };
                let tenant_key = self.key_at(&tenant_scope, tenant_version)?;
                let aad = key_aad(scope, stored.version, Some(tenant_version));
                key::unwrap_key(&tenant_key.key, &aad, sealed)?
            }
        };
        Ok(self.cache.insert(scope, stored.version, key, generation))
    }

    /// For a patient scope, the tenant's active key that will wrap a new patient key.
    fn parent_key(&self, scope: &KeyScope) -> Result<Option<(u32, Arc<ScopeKey>)>, CryptoError> {
        match scope {
            KeyScope::Tenant { .. } => Ok(None),
            KeyScope::Patient { tenant, .. } => self
                .active_key(&KeyScope::Tenant {
                    tenant: tenant.clone(),
                })
                .map(Some),
        }
    }

    /// Generates, wraps and stores a new active version. The caller holds `creating`.
    fn create_version(
        &self,
        scope: &KeyScope,
        version: u32,
        parent: Option<&(u32, Arc<ScopeKey>)>,
    ) -> Result<Arc<ScopeKey>, CryptoError> {
        let key = KeyMaterial::generate()?;
        let wrapped = match parent {
            None => self.kms.wrap(&key, &key_aad(scope, version, None))?,
            Some((tenant_version, tenant_key)) => {
                wrap_patient_key(scope, version, *tenant_version, tenant_key, &key)?
            }
        };

        self.repo.insert(&StoredKey {
            scope: scope.clone(),
            version,
            wrapped,
            state: KeyState::Active,
            created_at: unix_now(),
        })?;
        // A version just created was never destroyed: the current generation is right.
        Ok(self
            .cache
            .insert(scope, version, key, self.cache.generation()))
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("kms", &self.kms.id())
            .field("cached_keys", &self.cache.len())
            .finish_non_exhaustive()
    }
}

/// A scope whose every version is destroyed was forgotten: it opens nothing and seals nothing.
fn refuse_if_forgotten(scope: &KeyScope, versions: &[StoredKey]) -> Result<(), CryptoError> {
    let forgotten = !versions.is_empty()
        && versions
            .iter()
            .all(|stored| stored.state == KeyState::Destroyed);
    if forgotten {
        Err(CryptoError::KeyDestroyed { kind: scope.kind() })
    } else {
        Ok(())
    }
}

fn next_version(scope: &KeyScope, versions: &[StoredKey]) -> Result<u32, CryptoError> {
    let highest = versions
        .iter()
        .map(|stored| stored.version)
        .max()
        .unwrap_or(0);
    highest.checked_add(1).ok_or(CryptoError::KeyExists {
        kind: scope.kind(),
        version: highest,
    })
}

/// Wraps a patient key under one tenant key version: format, tenant version, sealed key.
fn wrap_patient_key(
    scope: &KeyScope,
    version: u32,
    tenant_version: u32,
    tenant_key: &ScopeKey,
    key: &KeyMaterial,
) -> Result<Vec<u8>, CryptoError> {
    let aad = key_aad(scope, version, Some(tenant_version));
    let sealed = key::wrap_key(&tenant_key.key, &aad, key)?;
    let mut wrapped = Vec::with_capacity(PATIENT_WRAP_LEN);
    wrapped.push(PATIENT_WRAP_V1);
    wrapped.extend_from_slice(&tenant_version.to_be_bytes());
    wrapped.extend_from_slice(&sealed);
    Ok(wrapped)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
