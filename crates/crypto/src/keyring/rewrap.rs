//! Moving what older key versions protect to the active version, and retiring the versions
//! nothing needs any more.
//!
//! A rotation only changes which version seals new values. The rewrap job then walks the stored
//! values: for each one under an older version it unwraps the data key and wraps it again under
//! the active version, leaving the encrypted body as it is. Patient keys wrapped by an older
//! tenant key version are rewrapped the same way. Once a count finds nothing left under a
//! decrypt-only version, it is retired and opens nothing more.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Keyring, labels, unix_now, wrap_patient_key};
use crate::aad::key_aad;
use crate::envelope::{Envelope, FORMAT_V1, Header};
use crate::repository::split_patient_wrap;
use crate::{AadContext, CryptoError, KeyScope, KeyState, StoredKey, key};

/// What rewrapping one value did.
#[derive(Debug, PartialEq, Eq)]
pub enum RewrapOutcome {
    /// The value is already under the active version; nothing to write.
    Current,
    /// The value under the active version, to store in place of the old one.
    Rewrapped(Vec<u8>),
}

impl Keyring {
    /// Moves a value sealed for `ctx` under an older key version to the active version.
    ///
    /// The data key is unwrapped with the old version and wrapped with the active one; the body
    /// and its tag are copied unchanged (opening the result still checks them). A value in the
    /// old format 1, whose body was bound to its key version, is opened and sealed again.
    pub fn rewrap(
        &self,
        ctx: &AadContext,
        ciphertext: &[u8],
    ) -> Result<RewrapOutcome, CryptoError> {
        let envelope = Envelope::parse(ciphertext)?;
        let header = envelope.header;
        let (active_version, active) = self.active_key(&ctx.scope())?;
        if header.format != FORMAT_V1 && header.version == active_version {
            return Ok(RewrapOutcome::Current);
        }
        if header.format == FORMAT_V1 {
            let plaintext = self.open(ctx, ciphertext)?;
            return Ok(RewrapOutcome::Rewrapped(self.seal(ctx, &plaintext)?));
        }

        let data_key = self.unwrap_data_key(ctx, &envelope)?;
        let moved = Header::v2(header.patient, active_version, active.id, header.body_len);
        let (key_label, _) = labels(moved.format);
        let wrapped = key::wrap_key(
            &active.key,
            &ctx.encode(key_label, &moved.to_bytes()),
            &data_key,
        )?;
        Ok(RewrapOutcome::Rewrapped(Envelope::encode(
            moved,
            envelope.nonce,
            &wrapped,
            envelope.ciphertext,
        )))
    }

    /// Wraps every live version of a patient key again under the tenant's active key version.
    /// Returns how many versions were rewrapped.
    pub fn rewrap_patient_key(&self, scope: &KeyScope) -> Result<u32, CryptoError> {
        let KeyScope::Patient { tenant, .. } = scope else {
            return Ok(0);
        };
        let tenant_scope = KeyScope::Tenant {
            tenant: tenant.clone(),
        };
        let (tenant_version, tenant_key) = self.active_key(&tenant_scope)?;
        let mut rewrapped = 0;
        for stored in self.repo.load(scope)? {
            if stored.state == KeyState::Destroyed {
                continue;
            }
            let (parent, sealed) = split_patient_wrap(&stored.wrapped)?;
            if parent == tenant_version {
                continue;
            }
            let old_parent = self.key_at(&tenant_scope, parent)?;
            let aad = key_aad(scope, stored.version, Some(parent));
            let key = key::unwrap_key(&old_parent.key, &aad, sealed)?;
            let wrapped =
                wrap_patient_key(scope, stored.version, tenant_version, &tenant_key, &key)?;
            if self
                .repo
                .replace_wrapped(scope, stored.version, &stored.wrapped, &wrapped)?
            {
                rewrapped += 1;
            }
        }
        Ok(rewrapped)
    }

    /// Retires the decrypt-only versions of `scope` that are not in `in_use` (the versions a
    /// count of stored values still found) and were superseded at least `grace` ago; returns
    /// them, lowest first.
    ///
    /// The grace period covers writers that took the active key just before a rotation and
    /// store their value just after the count: without it their value could land under a
    /// version retired a moment earlier.
    pub fn retire_unused(
        &self,
        scope: &KeyScope,
        in_use: &BTreeSet<u32>,
        grace: Duration,
    ) -> Result<Vec<u32>, CryptoError> {
        let mut retired = Vec::new();
        let mut versions = self.repo.load(scope)?;
        versions.sort_unstable_by_key(|stored| stored.version);
        let now = unix_now();
        let grace_secs = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
        for (index, stored) in versions.iter().enumerate() {
            // The next version's creation is when this one stopped sealing new values. Times
            // are whole seconds, so a non-zero grace must be exceeded, not merely reached.
            let superseded_at = versions.get(index + 1).map(|next| next.created_at);
            let settled = superseded_at
                .is_some_and(|at| grace.is_zero() || now.saturating_sub(at) > grace_secs);
            if stored.state == KeyState::DecryptOnly && settled && !in_use.contains(&stored.version)
            {
                self.repo
                    .set_state(scope, stored.version, KeyState::Retired)?;
                self.cache.purge_version(scope, stored.version);
                retired.push(stored.version);
            }
        }
        Ok(retired)
    }

    /// Every stored version of every key scope of `tenant`, the tenant's own first: what
    /// `keys status` reports. The wrapped bytes are useless without the KMS.
    pub fn stored_keys(&self, tenant: &str) -> Result<Vec<StoredKey>, CryptoError> {
        let mut keys = Vec::new();
        for scope in self.repo.scopes(tenant)? {
            let mut versions = self.repo.load(&scope)?;
            versions.sort_unstable_by_key(|stored| stored.version);
            keys.extend(versions);
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{KeyMaterial, LocalKms, MemoryKeyRepository, inspect};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn keyring() -> Result<Keyring, CryptoError> {
        let kms = Arc::new(LocalKms::from_key(KeyMaterial::generate()?));
        Ok(Keyring::new(kms, Arc::new(MemoryKeyRepository::new())))
    }

    fn shared() -> Result<(Arc<LocalKms>, Arc<MemoryKeyRepository>), CryptoError> {
        Ok((
            Arc::new(LocalKms::from_key(KeyMaterial::generate()?)),
            Arc::new(MemoryKeyRepository::new()),
        ))
    }

    fn ctx() -> AadContext {
        AadContext::patient("clinic", "patient-7", "obs-1", "body")
    }

    #[test]
    fn a_rewrapped_value_names_the_active_version_and_opens_to_the_same_bytes() -> TestResult {
        let keyring = keyring()?;
        let old = keyring.seal(&ctx(), b"sodium 139")?;
        keyring.rotate(&ctx().scope())?;
        let RewrapOutcome::Rewrapped(new) = keyring.rewrap(&ctx(), &old)? else {
            return Err("an old value was not rewrapped".into());
        };
        assert_eq!(inspect(&new)?.version, 2);
        assert_eq!(keyring.open(&ctx(), &new)?.as_slice(), b"sodium 139");
        // The body and its tag are carried over untouched.
        assert_eq!(old[old.len() - 26..], new[new.len() - 26..]);
        assert_eq!(keyring.rewrap(&ctx(), &new)?, RewrapOutcome::Current);
        Ok(())
    }

    #[test]
    fn rewrap_refuses_a_value_moved_from_another_context() -> TestResult {
        let keyring = keyring()?;
        let old = keyring.seal(&ctx(), b"x")?;
        keyring.rotate(&ctx().scope())?;
        let elsewhere = AadContext::patient("clinic", "patient-7", "obs-2", "body");
        assert!(matches!(
            keyring.rewrap(&elsewhere, &old),
            Err(CryptoError::WrongContext)
        ));
        Ok(())
    }

    #[test]
    fn a_retired_version_opens_nothing_and_says_so() -> TestResult {
        let keyring = keyring()?;
        let old = keyring.seal(&ctx(), b"x")?;
        keyring.rotate(&ctx().scope())?;
        assert_eq!(
            keyring.retire_unused(&ctx().scope(), &BTreeSet::new(), Duration::ZERO)?,
            [1]
        );
        assert!(matches!(
            keyring.open(&ctx(), &old),
            Err(CryptoError::KeyRetired {
                kind: "patient",
                version: 1
            })
        ));
        Ok(())
    }

    #[test]
    fn a_version_superseded_within_the_grace_period_is_not_retired() -> TestResult {
        let keyring = keyring()?;
        keyring.seal(&ctx(), b"x")?;
        keyring.rotate(&ctx().scope())?;
        let grace = Duration::from_secs(3600);
        assert!(
            keyring
                .retire_unused(&ctx().scope(), &BTreeSet::new(), grace)?
                .is_empty()
        );
        Ok(())
    }

    #[test]
    fn a_version_still_in_use_is_not_retired() -> TestResult {
        let keyring = keyring()?;
        let old = keyring.seal(&ctx(), b"x")?;
        keyring.rotate(&ctx().scope())?;
        let retired =
            keyring.retire_unused(&ctx().scope(), &BTreeSet::from([1]), Duration::ZERO)?;
        assert!(retired.is_empty());
        assert_eq!(keyring.open(&ctx(), &old)?.as_slice(), b"x");
        Ok(())
    }

    #[test]
    fn patient_keys_move_to_a_new_tenant_version_and_the_old_one_can_retire() -> TestResult {
        let (kms, repo) = shared()?;
        let keyring = Keyring::new(kms.clone(), repo.clone());
        let sealed = keyring.seal(&ctx(), b"potassium 4.2")?;
        let tenant = KeyScope::Tenant {
            tenant: "clinic".into(),
        };
        keyring.rotate(&tenant)?;
        assert_eq!(keyring.rewrap_patient_key(&ctx().scope())?, 1);
        assert_eq!(keyring.rewrap_patient_key(&ctx().scope())?, 0);
        let parents: BTreeSet<u32> = keyring
            .stored_keys("clinic")?
            .iter()
            .filter_map(StoredKey::parent_version)
            .collect();
        assert_eq!(parents, BTreeSet::from([2]));
        assert_eq!(
            keyring.retire_unused(&tenant, &parents, Duration::ZERO)?,
            [1]
        );

        // Tenant versions 1 and 2, patient version 1.
        assert_eq!(keyring.stored_keys("clinic")?.len(), 3);
        // A keyring with nothing cached must reach the patient key through tenant version 2.
        let fresh = Keyring::new(kms, repo);
        assert_eq!(fresh.open(&ctx(), &sealed)?.as_slice(), b"potassium 4.2");
        Ok(())
    }
}
