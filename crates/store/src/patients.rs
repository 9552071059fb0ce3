//! Patient records: each FHIR resource sealed on its own under the patient's key.

use phigate_crypto::{AadContext, KeyMaterial, hmac_sha256_hex};
use rusqlite::params;
use zeroize::Zeroizing;

use crate::db::now;
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
        let mut conn = self.db.lock()?;
        let tx = conn.transaction()?;
        let at = now();
        tx.execute(
            "INSERT OR IGNORE INTO patients (tenant, patient_ref, created_at) VALUES (?1, ?2, ?3)",
            params![tenant, patient.as_str(), at],
        )?;
        for (resource_type, rref, body) in &sealed {
            tx.execute(
                "INSERT OR REPLACE INTO resources
                 (tenant, patient_ref, resource_type, resource_ref, body, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![tenant, patient.as_str(), resource_type, rref, body, at],
            )?;
        }
        tx.commit()?;
        Ok(sealed.len())
    }

    /// Reads and decrypts every resource of a patient.
    pub fn load_patient(
        &self,
        tenant: &str,
        patient: &PatientRef,
    ) -> Result<Vec<StoredResource>, StoreError> {
        let rows: Vec<(String, String, Vec<u8>)> = {
            let conn = self.db.lock()?;
            let mut stmt = conn.prepare(
                "SELECT resource_type, resource_ref, body FROM resources
                 WHERE tenant = ?1 AND patient_ref = ?2 ORDER BY rowid",
            )?;
            let rows = stmt.query_map(params![tenant, patient.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        if rows.is_empty() {
            return Err(StoreError::NotFound("patient"));
        }
        rows.into_iter()
            .map(|(resource_type, rref, body)| {
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

    /// How many patients the tenant has on record.
    pub fn patient_count(&self, tenant: &str) -> Result<u64, StoreError> {
        let conn = self.db.lock()?;
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM patients WHERE tenant = ?1",
            params![tenant],
            |r| r.get(0),
        )?)
    }
}

impl PatientRef {
    /// Wraps a reference read back from storage.
    pub(crate) fn from_stored(value: String) -> Self {
        Self(value)
    }
}
