//! Key rotation over the whole store: rotating a tenant's keys, the rewrap job that moves every
//! sealed value to the active key versions and retires the versions left empty, and the counts
//! `phigate keys status` reports.
//!
//! Counting reads only ciphertext headers, which name the key kind and version in clear; no key
//! is needed and nothing is decrypted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use crate::db::{Sql, Value};
use crate::{Store, StoreError, params};
use phigate_crypto::{AadContext, CryptoError, KeyScope, KeyState, RewrapOutcome, inspect};

/// How many rows one step of the rewrap job reads at a time.
const BATCH: i64 = 256;

/// A table with a sealed column, and how to name the record each row's value is bound to. The
/// record names must match the ones used when sealing (see `patients`, `drafts`, `vaults`,
/// `break_glass`, `holds`, `security`). Every sealed column of the schema is listed here, so
/// rotation, rewrap and status cover all of them.
struct SealedColumn {
    /// Selects `key, patient_ref, record, value` for a tenant, after a key, in key order. The
    /// key is unique in the table; `patient_ref` is empty for a value sealed under the tenant.
    select: &'static str,
    /// Replaces the value of the row with key `$2` if it still holds `$3`.
    update: &'static str,
    /// The key before every row: 0 for a `rowid`, the empty string for a text key.
    first: fn() -> Value,
    field: &'static str,
    /// Whether the value is sealed under the patient's key (else under the tenant's).
    patient: bool,
}

const SEALED: &[SealedColumn] = &[
    SealedColumn {
        select: "SELECT rowid, patient_ref, resource_type || '/' || resource_ref, body
                 FROM resources WHERE tenant = $1 AND rowid > $2 ORDER BY rowid LIMIT $3",
        update: "UPDATE resources SET body = $1 WHERE rowid = $2 AND body = $3",
        first: || Value::Integer(0),
        field: "body",
        patient: true,
    },
    SealedColumn {
        select: "SELECT rowid, patient_ref, 'draft/' || id, body
                 FROM drafts WHERE tenant = $1 AND rowid > $2 ORDER BY rowid LIMIT $3",
        update: "UPDATE drafts SET body = $1 WHERE rowid = $2 AND body = $3",
        first: || Value::Integer(0),
        field: "body",
        patient: true,
    },
    SealedColumn {
        select: "SELECT rowid, patient_ref, 'vault/' || conversation, body
                 FROM vaults WHERE tenant = $1 AND rowid > $2 ORDER BY rowid LIMIT $3",
        update: "UPDATE vaults SET body = $1 WHERE rowid = $2 AND body = $3",
        first: || Value::Integer(0),
        field: "map",
        patient: true,
    },
    SealedColumn {
        select: "SELECT id, patient_ref, 'break-glass/' || id, reason
                 FROM break_glass WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3",
        update: "UPDATE break_glass SET reason = $1 WHERE id = $2 AND reason = $3",
        first: || Value::Text(String::new()),
        field: "reason",
        patient: true,
    },
    SealedColumn {
        select: "SELECT patient_ref, '', 'legal-hold/' || patient_ref, reason
                 FROM legal_holds WHERE tenant = $1 AND patient_ref > $2
                 ORDER BY patient_ref LIMIT $3",
        update: "UPDATE legal_holds SET reason = $1 WHERE patient_ref = $2 AND reason = $3",
        first: || Value::Text(String::new()),
        field: "reason",
        patient: false,
    },
    SealedColumn {
        select: "SELECT s.user_id, '', 'user/' || s.user_id, s.totp_secret
                 FROM user_security s JOIN users u ON u.id = s.user_id
                 WHERE u.tenant = $1 AND s.totp_secret IS NOT NULL AND s.user_id > $2
                 ORDER BY s.user_id LIMIT $3",
        update: "UPDATE user_security SET totp_secret = $1 WHERE user_id = $2
                 AND totp_secret = $3",
        first: || Value::Text(String::new()),
        field: "totp",
        patient: false,
    },
];

impl SealedColumn {
    /// The associated data the row's value was sealed under.
    fn context(&self, tenant: &str, row: &SealedRow) -> AadContext {
        if self.patient {
            AadContext::patient(tenant, &row.patient_ref, &row.record, self.field)
        } else {
            AadContext::tenant(tenant, &row.record, self.field)
        }
    }
}

/// One sealed row as read for the rewrap job.
struct SealedRow {
    key: Value,
    patient_ref: String,
    record: String,
    body: Vec<u8>,
}

/// What `rotate_tenant` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// The tenant key's new version.
    pub tenant_version: u32,
    /// How many patient keys got a new version.
    pub patient_keys_rotated: u64,
}

/// What the rewrap job did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewrapReport {
    /// Patient keys wrapped again under the tenant's active key.
    pub patient_keys_rewrapped: u64,
    /// Sealed values moved to their scope's active key version.
    pub values_rewrapped: u64,
    /// Sealed values already under the active version.
    pub values_current: u64,
    /// Values of forgotten patients, which nothing can move.
    pub values_shredded: u64,
    /// Values that could not be moved for another reason (altered or damaged); they keep their
    /// key version from being retired.
    pub values_failed: u64,
    /// Versions retired, as (`tenant` or `patient`, version, how many scopes).
    pub retired: Vec<(&'static str, u32, u64)>,
}

/// Key versions and what each protects, for `phigate keys status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyStatus {
    /// Tenant key versions: version, state, and how many live patient keys it wraps.
    pub tenant: Vec<(u32, KeyState, u64)>,
    /// Patient key versions, over all patients: (version, state) → how many patients.
    pub patient: BTreeMap<(u32, KeyState), u64>,
    /// Sealed values by (`tenant` or `patient`, key version).
    pub ciphertexts: BTreeMap<(&'static str, u32), u64>,
    /// Sealed values by ciphertext format.
    pub formats: BTreeMap<u8, u64>,
    /// Values whose header could not be read.
    pub unreadable: u64,
}

impl Store {
    /// Gives the tenant key a new version for writes and, unless `tenant_only`, every live
    /// patient key too. Older versions become decrypt-only until `rewrap` moves their values.
    pub fn rotate_tenant(
        &self,
        tenant: &str,
        tenant_only: bool,
    ) -> Result<RotationReport, StoreError> {
        let tenant_scope = KeyScope::Tenant {
            tenant: tenant.to_owned(),
        };
        let tenant_version = self.keyring.rotate(&tenant_scope)?;
        let mut patient_keys_rotated = 0;
        if !tenant_only {
            for scope in self.live_patient_scopes(tenant)? {
                self.keyring.rotate(&scope)?;
                patient_keys_rotated += 1;
            }
        }
        Ok(RotationReport {
            tenant_version,
            patient_keys_rotated,
        })
    }

    /// The rewrap job: moves patient keys and sealed values of `tenant` to the active key
    /// versions, counts what is left under each version, and retires the decrypt-only versions
    /// that protect nothing and were superseded at least `grace` ago.
    ///
    /// Each row is replaced only if it still holds the bytes that were read, so a concurrent
    /// write is never overwritten; it was sealed under the active version anyway.
    pub fn rewrap(&self, tenant: &str, grace: Duration) -> Result<RewrapReport, StoreError> {
        let mut report = RewrapReport::default();
        for scope in self.live_patient_scopes(tenant)? {
            report.patient_keys_rewrapped += u64::from(self.keyring.rewrap_patient_key(&scope)?);
        }
        for column in SEALED {
            self.rewrap_column(tenant, column, &mut report)?;
        }
        self.retire_unused(tenant, grace, &mut report)?;
        Ok(report)
    }

    /// Versions, states and counts of sealed values per version.
    pub fn key_status(&self, tenant: &str) -> Result<KeyStatus, StoreError> {
        let mut status = KeyStatus::default();
        let mut wrapped_by: HashMap<u32, u64> = HashMap::new();
        for stored in self.keyring.stored_keys(tenant)? {
            match stored.scope {
                KeyScope::Tenant { .. } => status.tenant.push((stored.version, stored.state, 0)),
                KeyScope::Patient { .. } => {
                    *status
                        .patient
                        .entry((stored.version, stored.state))
                        .or_default() += 1;
                    if let Some(parent) = stored.parent_version() {
                        *wrapped_by.entry(parent).or_default() += 1;
                    }
                }
            }
        }
        for (version, _, count) in &mut status.tenant {
            *count = wrapped_by.get(version).copied().unwrap_or(0);
        }
        for column in SEALED {
            self.for_each_row(tenant, column, |row| {
                match inspect(&row.body) {
                    Ok(info) => {
                        *status
                            .ciphertexts
                            .entry((info.kind, info.version))
                            .or_default() += 1;
                        *status.formats.entry(info.format).or_default() += 1;
                    }
                    Err(_) => status.unreadable += 1,
                }
                Ok(())
            })?;
        }
        Ok(status)
    }

    /// Patient scopes of `tenant` with at least one version that is not destroyed.
    fn live_patient_scopes(&self, tenant: &str) -> Result<Vec<KeyScope>, StoreError> {
        // Stored keys come scope by scope, so one look at the last scope taken suffices.
        let mut scopes: Vec<KeyScope> = Vec::new();
        for stored in self.keyring.stored_keys(tenant)? {
            let live = stored.scope.patient().is_some() && stored.state != KeyState::Destroyed;
            if live && scopes.last() != Some(&stored.scope) {
                scopes.push(stored.scope);
            }
        }
        Ok(scopes)
    }

    fn rewrap_column(
        &self,
        tenant: &str,
        column: &SealedColumn,
        report: &mut RewrapReport,
    ) -> Result<(), StoreError> {
        self.for_each_row(tenant, column, |row| {
            match self
                .keyring
                .rewrap(&column.context(tenant, &row), &row.body)
            {
                Ok(RewrapOutcome::Current) => report.values_current += 1,
                Ok(RewrapOutcome::Rewrapped(new)) => {
                    self.db
                        .execute(column.update, params![new, row.key, row.body])?;
                    report.values_rewrapped += 1;
                }
                Err(CryptoError::KeyDestroyed { .. }) => report.values_shredded += 1,
                Err(_) => report.values_failed += 1,
            }
            Ok(())
        })
    }

    /// Counts the versions still in use and retires the rest.
    fn retire_unused(
        &self,
        tenant: &str,
        grace: Duration,
        report: &mut RewrapReport,
    ) -> Result<(), StoreError> {
        let mut patient_versions: HashMap<String, BTreeSet<u32>> = HashMap::new();
        let mut tenant_versions = BTreeSet::new();
        for column in SEALED {
            self.for_each_row(tenant, column, |row| {
                // An unreadable header protects nothing a key could open.
                if let Ok(info) = inspect(&row.body) {
                    if info.kind == "patient" {
                        patient_versions
                            .entry(row.patient_ref.clone())
                            .or_default()
                            .insert(info.version);
                    } else {
                        tenant_versions.insert(info.version);
                    }
                }
                Ok(())
            })?;
        }

        let mut retired: BTreeMap<(&'static str, u32), u64> = BTreeMap::new();
        let empty = BTreeSet::new();
        for scope in self.live_patient_scopes(tenant)? {
            let patient = scope.patient().unwrap_or_default();
            let in_use = patient_versions.get(patient).unwrap_or(&empty);
            for version in self.keyring.retire_unused(&scope, in_use, grace)? {
                *retired.entry(("patient", version)).or_default() += 1;
            }
        }
        // Patient keys are wrapped by tenant keys: a tenant version is in use while one wraps.
        for stored in self.keyring.stored_keys(tenant)? {
            if let Some(parent) = stored.parent_version() {
                tenant_versions.insert(parent);
            }
        }
        let tenant_scope = KeyScope::Tenant {
            tenant: tenant.to_owned(),
        };
        for version in self
            .keyring
            .retire_unused(&tenant_scope, &tenant_versions, grace)?
        {
            *retired.entry(("tenant", version)).or_default() += 1;
        }
        report.retired = retired
            .into_iter()
            .map(|((kind, version), count)| (kind, version, count))
            .collect();
        Ok(())
    }

    /// Calls `each` for every row of a sealed column of `tenant`, a batch at a time, without
    /// holding the database lock while `each` runs.
    fn for_each_row(
        &self,
        tenant: &str,
        column: &SealedColumn,
        mut each: impl FnMut(SealedRow) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut after = (column.first)();
        loop {
            let rows = self
                .db
                .query_all(column.select, params![tenant, after, BATCH])?
                .into_iter()
                .map(|mut row| {
                    Ok(SealedRow {
                        key: row.take(0)?,
                        patient_ref: row.take(1)?,
                        record: row.take(2)?,
                        body: row.take(3)?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = last.key.clone();
            for row in rows {
                each(row)?;
            }
        }
    }
}
