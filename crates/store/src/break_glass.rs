//! Break-glass grants. The stated reason is free text that may well mention the patient, so it
//! is sealed under the patient's key: forgetting the patient shreds it too.

use crate::db::Sql;
use crate::{PatientRef, Store, StoreError, params};
use phigate_crypto::AadContext;

/// One grant, as the auditor report shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct BreakGlassRecord {
    /// Grant id.
    pub id: String,
    /// Who used it.
    pub user_id: String,
    /// In which role.
    pub role: String,
    /// The patient, as the keyed reference.
    pub patient_ref: String,
    /// The stated reason (opened from its sealed form).
    pub reason: String,
    /// When it was granted (Unix seconds).
    pub created_at: i64,
    /// When it ends (Unix seconds).
    pub expires_at: i64,
}

impl std::fmt::Debug for BreakGlassRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreakGlassRecord")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

fn context(tenant: &str, patient: &str, id: &str) -> AadContext {
    AadContext::patient(tenant, patient, &format!("break-glass/{id}"), "reason")
}

/// What a new grant records.
pub struct NewBreakGlass<'a> {
    /// Grant id.
    pub id: &'a str,
    /// Tenant.
    pub tenant: &'a str,
    /// Who asked.
    pub user_id: &'a str,
    /// Their role.
    pub role: &'a str,
    /// The patient.
    pub patient: &'a PatientRef,
    /// The stated reason.
    pub reason: &'a str,
    /// Granted at.
    pub created_at: i64,
    /// Ends at.
    pub expires_at: i64,
}

impl Store {
    /// Records a grant.
    pub fn insert_break_glass(&self, grant: &NewBreakGlass<'_>) -> Result<(), StoreError> {
        let patient = grant.patient.as_str();
        let sealed = self.keyring.seal(
            &context(grant.tenant, patient, grant.id),
            grant.reason.as_bytes(),
        )?;
        self.db.execute(
            "INSERT INTO break_glass (id, tenant, user_id, role, patient_ref, reason, created_at,
               expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            params![
                grant.id,
                grant.tenant,
                grant.user_id,
                grant.role,
                patient,
                sealed,
                grant.created_at,
                grant.expires_at
            ],
        )?;
        Ok(())
    }

    /// Whether `user_id` holds an unexpired grant for `patient` at `now`.
    pub fn has_break_glass(
        &self,
        tenant: &str,
        user_id: &str,
        patient: &PatientRef,
        now: i64,
    ) -> Result<bool, StoreError> {
        let count: i64 = self
            .db
            .query_one(
                "SELECT COUNT(*) FROM break_glass WHERE tenant = $1 AND user_id = $2
                 AND patient_ref = $3 AND created_at <= $4 AND expires_at > $4",
                params![tenant, user_id, patient.as_str(), now],
            )?
            .get(0)?;
        Ok(count > 0)
    }

    /// Every grant made since `since`, oldest first, for the auditor report. A reason whose
    /// patient was forgotten shows as `(shredded)`.
    pub fn break_glass_report(
        &self,
        tenant: &str,
        since: i64,
    ) -> Result<Vec<BreakGlassRecord>, StoreError> {
        let rows = self.db.query_all(
            "SELECT id, user_id, role, patient_ref, reason, created_at, expires_at
             FROM break_glass WHERE tenant = $1 AND created_at >= $2 ORDER BY created_at, id",
            params![tenant, since],
        )?;
        rows.into_iter()
            .map(|mut row| {
                let id: String = row.take(0)?;
                let patient_ref: String = row.take(3)?;
                let sealed: Vec<u8> = row.take(4)?;
                let reason = self
                    .keyring
                    .open(&context(tenant, &patient_ref, &id), &sealed)
                    .ok()
                    .and_then(|plain| String::from_utf8(plain.to_vec()).ok())
                    .unwrap_or_else(|| "(shredded)".to_owned());
                Ok(BreakGlassRecord {
                    id,
                    user_id: row.take(1)?,
                    role: row.take(2)?,
                    patient_ref,
                    reason,
                    created_at: row.get(5)?,
                    expires_at: row.get(6)?,
                })
            })
            .collect()
    }
}
