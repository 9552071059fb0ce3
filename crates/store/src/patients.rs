//! Patient records: each FHIR resource sealed on its own under the patient's key.

use phigate_crypto::{AadContext, KeyMaterial, hmac_sha256_hex};
use zeroize::Zeroizing;

use crate::db::{Sql, now};
use crate::params;
use crate::{Store, StoreError};

/// A keyed hash standing for a patient in rows, key scopes and the audit log. Without the index
/// key it cannot be linked back to the patient's identifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PatientRef(String);

impl PatientRef {
    pub(crate) fn derive(key: &KeyMaterial, tenant: &str, patient_id: &str) -> Self {
        Self(hmac_sha256_hex(
            key,
            format!("patient\0{tenant}\0{patient_id}").as_bytes(),
        ))
    }

    /// The hex form stored and logged.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One decrypted resource. Holds PHI, so it has no `Debug`.
pub struct StoredResource {
    /// FHIR resource type.
    pub resource_type: String,
    /// The resource's JSON.
    pub json: Zeroizing<Vec<u8>>,
}

/// What forgetting a patient did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgetReport {
    /// Key versions destroyed by this call (0 if the patient was already forgotten).
    pub key_versions_destroyed: u32,
    /// Vault maps deleted.
    pub vaults_deleted: u64,
    /// Resource and draft rows left in place, now unreadable.
    pub rows_kept: u64,
}

impl Store {
    pub(crate) fn resource_ref(&self, tenant: &str, resource_type: &str, id: &str) -> String {
        hmac_sha256_hex(
            &self.index,
            format!("resource\0{tenant}\0{resource_type}\0{id}").as_bytes(),
        )
    }

    /// Writes a patient's resources in one transaction: either all are stored or none.
    /// Writing the same resource again replaces it, so importing twice is harmless.
    pub fn put_patient(
        &self,
        tenant: &str,
        patient: &PatientRef,
        resources: &[(String, String, Vec<u8>)],
    ) -> Result<usize, StoreError> {
        let mut sealed = Vec::with_capacity(resources.len());
        for (resource_type, id, json) in resources {
            let rref = self.resource_ref(tenant, resource_type, id);
            let ctx = AadContext::patient(
                tenant,
                patient.as_str(),
                &format!("{resource_type}/{rref}"),
                "body",
            );
            sealed.push((resource_type, rref, self.keyring.seal(&ctx, json)?));
        }
        let at = now();
        self.db.transaction(|tx| {
            tx.execute(
                "INSERT INTO patients (tenant, patient_ref, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant, patient_ref) DO NOTHING",
                params![tenant, patient.as_str(), at],
            )?;
            for (resource_type, rref, body) in &sealed {
                tx.execute(
                    "INSERT INTO resources
                     (tenant, patient_ref, resource_type, resource_ref, body, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (tenant, patient_ref, resource_type, resource_ref)
                     DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                    params![tenant, patient.as_str(), resource_type, rref, body, at],
                )?;
            }
            Ok(())
        })?;
        Ok(sealed.len())
    }

    /// Reads and decrypts every resource of a patient.
    pub fn load_patient(
        &self,
        tenant: &str,
        patient: &PatientRef,
    ) -> Result<Vec<StoredResource>, StoreError> {
        let rows = self.db.query_all(
            "SELECT resource_type, resource_ref, body FROM resources
             WHERE tenant = $1 AND patient_ref = $2 ORDER BY rowid",
            params![tenant, patient.as_str()],
        )?;
        if rows.is_empty() {
            return Err(StoreError::NotFound("patient"));
        }
        rows.into_iter()
            .map(|mut row| {
                let resource_type: String = row.take(0)?;
                let rref: String = row.take(1)?;
                let body: Vec<u8> = row.take(2)?;
                let ctx = AadContext::patient(
                    tenant,
                    patient.as_str(),
                    &format!("{resource_type}/{rref}"),
                    "body",
                );
                let json = self.keyring.open(&ctx, &body)?;
                Ok(StoredResource {
                    resource_type,
                    json,
                })
            })
            .collect()
    }

    /// Crypto-shreds one patient: destroys every version of their key, deletes their vault
    /// maps, and flushes the write-ahead log so the destroyed wrapped keys leave it too.
    ///
    /// Their resource and draft rows stay, sealed under a key that no longer exists. A patient
    /// the store has never seen is refused with [`StoreError::NotFound`].
    pub fn forget_patient(
        &self,
        tenant: &str,
        patient: &PatientRef,
    ) -> Result<ForgetReport, StoreError> {
        let known: u64 = self
            .db
            .query_one(
                "SELECT COUNT(*) FROM patients WHERE tenant = $1 AND patient_ref = $2",
                params![tenant, patient.as_str()],
            )?
            .get(0)?;
        if known == 0 {
            return Err(StoreError::NotFound("patient"));
        }
        let key_versions_destroyed = self.keyring.forget_patient(tenant, patient.as_str())?;
        let vaults_deleted = self.db.execute(
            "DELETE FROM vaults WHERE tenant = $1 AND patient_ref = $2",
            params![tenant, patient.as_str()],
        )?;
        let rows_kept = self
            .db
            .query_one(
                "SELECT (SELECT COUNT(*) FROM resources WHERE tenant = $1 AND patient_ref = $2)
                      + (SELECT COUNT(*) FROM drafts WHERE tenant = $1 AND patient_ref = $2)",
                params![tenant, patient.as_str()],
            )?
            .get(0)?;
        // The destroyed key rows were overwritten in place; on SQLite (secure_delete on) the
        // checkpoint writes the zeroed pages home and empties the log that held the old ones.
        self.db.flush_deleted()?;
        Ok(ForgetReport {
            key_versions_destroyed,
            vaults_deleted,
            rows_kept,
        })
    }

    /// How many patients the tenant has on record.
    pub fn patient_count(&self, tenant: &str) -> Result<u64, StoreError> {
        self.db
            .query_one(
                "SELECT COUNT(*) FROM patients WHERE tenant = $1",
                params![tenant],
            )?
            .get(0)
    }
}

impl PatientRef {
    /// Wraps a reference read back from storage.
    pub(crate) fn from_stored(value: String) -> Self {
        Self(value)
    }
}
