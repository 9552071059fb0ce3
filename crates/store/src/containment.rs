//! Incident containment state: model providers blocked from receiving anything, and patients
//! whose data is frozen. Both are rows in the shared store, so every process reading it (each
//! `phigate serve` replica, `phigate run`) sees a change on its next request without a restart.
//!
//! Reasons are incident references written by an operator, kept in clear so that an auditor
//! can read them beside the audit log; the command line refuses reasons that look like PHI.

use crate::db::{Row, Sql, now};
use crate::{PatientRef, Store, StoreError, params};

/// A provider that may receive nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderBlock {
    /// The provider's name (`anthropic`, `echo`).
    pub provider: String,
    /// Why, as the operator gave it (an incident reference).
    pub reason: String,
    /// Who blocked it.
    pub blocked_by: String,
    /// When (Unix seconds).
    pub blocked_at: i64,
}

/// A patient whose data nothing may read, disclose or change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientFreeze {
    /// The patient, as the keyed reference.
    pub patient_ref: String,
    /// Why, as the operator gave it (an incident reference).
    pub reason: String,
    /// Who froze it.
    pub frozen_by: String,
    /// When (Unix seconds).
    pub frozen_at: i64,
}

impl Store {
    /// Blocks `provider` for `tenant`; `false` if it was already blocked (the first reason
    /// stays).
    pub fn block_provider(
        &self,
        tenant: &str,
        provider: &str,
        reason: &str,
        by: &str,
    ) -> Result<bool, StoreError> {
        let added = self.db.execute(
            "INSERT INTO provider_blocks (tenant, provider, reason, blocked_by, blocked_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, provider) DO NOTHING",
            params![tenant, provider, reason, by, now()],
        )?;
        Ok(added == 1)
    }

    /// Lifts a block; `false` if `provider` was not blocked.
    pub fn unblock_provider(&self, tenant: &str, provider: &str) -> Result<bool, StoreError> {
        let removed = self.db.execute(
            "DELETE FROM provider_blocks WHERE tenant = $1 AND provider = $2",
            params![tenant, provider],
        )?;
        Ok(removed == 1)
    }

    /// The block on `provider`, if any. Called on every request that would reach a provider.
    pub fn provider_block(
        &self,
        tenant: &str,
        provider: &str,
    ) -> Result<Option<ProviderBlock>, StoreError> {
        self.db
            .query_opt(
                "SELECT provider, reason, blocked_by, blocked_at FROM provider_blocks
                 WHERE tenant = $1 AND provider = $2",
                params![tenant, provider],
            )?
            .as_ref()
            .map(block_from_row)
            .transpose()
    }

    /// Every blocked provider of `tenant`, by name.
    pub fn provider_blocks(&self, tenant: &str) -> Result<Vec<ProviderBlock>, StoreError> {
        self.db
            .query_all(
                "SELECT provider, reason, blocked_by, blocked_at FROM provider_blocks
             WHERE tenant = $1 ORDER BY provider",
                params![tenant],
            )?
            .iter()
            .map(block_from_row)
            .collect()
    }

    /// Freezes `patient`; `false` if already frozen (the first reason stays).
    pub fn freeze_patient(
        &self,
        tenant: &str,
        patient: &PatientRef,
        reason: &str,
        by: &str,
    ) -> Result<bool, StoreError> {
        let added = self.db.execute(
            "INSERT INTO patient_freezes (tenant, patient_ref, reason, frozen_by, frozen_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, patient_ref) DO NOTHING",
            params![tenant, patient.as_str(), reason, by, now()],
        )?;
        Ok(added == 1)
    }

    /// Lifts a freeze; `false` if `patient` was not frozen.
    pub fn unfreeze_patient(&self, tenant: &str, patient: &PatientRef) -> Result<bool, StoreError> {
        let removed = self.db.execute(
            "DELETE FROM patient_freezes WHERE tenant = $1 AND patient_ref = $2",
            params![tenant, patient.as_str()],
        )?;
        Ok(removed == 1)
    }

    /// Whether `patient` is frozen. Called before any of the patient's data is read or changed.
    pub fn is_patient_frozen(
        &self,
        tenant: &str,
        patient: &PatientRef,
    ) -> Result<bool, StoreError> {
        let count: i64 = self
            .db
            .query_one(
                "SELECT COUNT(*) FROM patient_freezes WHERE tenant = $1 AND patient_ref = $2",
                params![tenant, patient.as_str()],
            )?
            .get(0)?;
        Ok(count > 0)
    }

    /// Every frozen patient of `tenant`, oldest freeze first.
    pub fn patient_freezes(&self, tenant: &str) -> Result<Vec<PatientFreeze>, StoreError> {
        self.db
            .query_all(
                "SELECT patient_ref, reason, frozen_by, frozen_at FROM patient_freezes
             WHERE tenant = $1 ORDER BY frozen_at, patient_ref",
                params![tenant],
            )?
            .iter()
            .map(freeze_from_row)
            .collect()
    }
}

fn block_from_row(row: &Row) -> Result<ProviderBlock, StoreError> {
    Ok(ProviderBlock {
        provider: row.get(0)?,
        reason: row.get(1)?,
        blocked_by: row.get(2)?,
        blocked_at: row.get(3)?,
    })
}

fn freeze_from_row(row: &Row) -> Result<PatientFreeze, StoreError> {
    Ok(PatientFreeze {
        patient_ref: row.get(0)?,
        reason: row.get(1)?,
        frozen_by: row.get(2)?,
        frozen_at: row.get(3)?,
    })
}
