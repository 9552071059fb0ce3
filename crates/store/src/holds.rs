//! Legal holds: a held patient's data is neither purged by retention nor deleted on request
//! until the hold is released. The stated reason is free text, so it is sealed under the tenant
//! key (it must outlive anything done to the patient's own key).

use phigate_crypto::AadContext;

use crate::db::{Sql, now};
use crate::params;
use crate::{PatientRef, Store, StoreError};

/// One hold, without its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegalHold {
    /// The held patient.
    pub patient: PatientRef,
    /// Who placed it.
    pub held_by: String,
    /// When (Unix seconds).
    pub held_at: i64,
}

fn context(tenant: &str, patient: &PatientRef) -> AadContext {
    AadContext::tenant(
        tenant,
        &format!("legal-hold/{}", patient.as_str()),
        "reason",
    )
}

impl Store {
    /// Places a hold on a patient the store knows. A patient already held is refused with
    /// [`StoreError::Conflict`]; an unknown one with [`StoreError::NotFound`].
    pub fn place_hold(
        &self,
        tenant: &str,
        patient: &PatientRef,
        reason: &str,
        held_by: &str,
    ) -> Result<(), StoreError> {
        if !self.patient_known(tenant, patient)? {
            return Err(StoreError::NotFound("patient"));
        }
        let sealed = self
            .keyring
            .seal(&context(tenant, patient), reason.as_bytes())?;
        let inserted = self.db.execute(
            "INSERT INTO legal_holds (tenant, patient_ref, reason, held_by, held_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, patient_ref) DO NOTHING",
            params![tenant, patient.as_str(), sealed, held_by, now()],
        )?;
        if inserted == 0 {
            return Err(StoreError::Conflict(
                "the patient is already under legal hold",
            ));
        }
        Ok(())
    }

    /// Releases a patient's hold; [`StoreError::NotFound`] if there is none.
    pub fn release_hold(&self, tenant: &str, patient: &PatientRef) -> Result<(), StoreError> {
        let deleted = self.db.execute(
            "DELETE FROM legal_holds WHERE tenant = $1 AND patient_ref = $2",
            params![tenant, patient.as_str()],
        )?;
        if deleted == 0 {
            return Err(StoreError::NotFound("legal hold"));
        }
        Ok(())
    }

    /// Whether the patient is under legal hold.
    pub fn is_held(&self, tenant: &str, patient: &PatientRef) -> Result<bool, StoreError> {
        let found = self.db.query_opt(
            "SELECT 1 FROM legal_holds WHERE tenant = $1 AND patient_ref = $2",
            params![tenant, patient.as_str()],
        )?;
        Ok(found.is_some())
    }

    /// Every hold of the tenant, oldest first.
    pub fn legal_holds(&self, tenant: &str) -> Result<Vec<LegalHold>, StoreError> {
        let rows = self.db.query_all(
            "SELECT patient_ref, held_by, held_at FROM legal_holds WHERE tenant = $1
             ORDER BY held_at, patient_ref",
            params![tenant],
        )?;
        rows.into_iter()
            .map(|mut r| {
                Ok(LegalHold {
                    patient: PatientRef::from_stored(r.take(0)?),
                    held_by: r.take(1)?,
                    held_at: r.take(2)?,
                })
            })
            .collect()
    }

    /// The stated reason of a patient's hold, opened.
    pub fn hold_reason(&self, tenant: &str, patient: &PatientRef) -> Result<String, StoreError> {
        let sealed: Vec<u8> = self
            .db
            .query_opt(
                "SELECT reason FROM legal_holds WHERE tenant = $1 AND patient_ref = $2",
                params![tenant, patient.as_str()],
            )?
            .ok_or(StoreError::NotFound("legal hold"))?
            .take(0)?;
        let reason = self.keyring.open(&context(tenant, patient), &sealed)?;
        String::from_utf8(reason.to_vec()).map_err(|_| StoreError::Corrupt("legal hold reason"))
    }

    pub(crate) fn patient_known(
        &self,
        tenant: &str,
        patient: &PatientRef,
    ) -> Result<bool, StoreError> {
        let found = self.db.query_opt(
            "SELECT 1 FROM patients WHERE tenant = $1 AND patient_ref = $2",
            params![tenant, patient.as_str()],
        )?;
        Ok(found.is_some())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use phigate_crypto::LocalKms;

    use super::*;

    fn store_with_patient() -> (tempfile::TempDir, Store, PatientRef) {
        let dir = tempfile::tempdir().unwrap();
        let kms = Arc::new(LocalKms::create(&dir.path().join("root.key")).unwrap());
        let store = Store::open(&dir.path().join("app.db"), kms).unwrap();
        let patient = store.patient_ref("t", "p1");
        let rows = vec![("Patient".into(), "p1".into(), b"{}".to_vec())];
        store.put_patient("t", &patient, &rows).unwrap();
        (dir, store, patient)
    }

    #[test]
    fn a_hold_is_placed_once_listed_and_released() {
        let (_dir, store, patient) = store_with_patient();
        store
            .place_hold("t", &patient, "litigation 7", "admin")
            .unwrap();
        assert!(store.is_held("t", &patient).unwrap());
        let again = store
            .place_hold("t", &patient, "again", "admin")
            .unwrap_err();
        assert!(matches!(again, StoreError::Conflict(_)));
        assert_eq!(store.hold_reason("t", &patient).unwrap(), "litigation 7");
        assert_eq!(store.legal_holds("t").unwrap().len(), 1);
        store.release_hold("t", &patient).unwrap();
        assert!(!store.is_held("t", &patient).unwrap());
        let err = store.release_hold("t", &patient).unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)));
    }

    #[test]
    fn an_unknown_patient_cannot_be_held() {
        let (_dir, store, _) = store_with_patient();
        let stranger = store.patient_ref("t", "nobody");
        let err = store.place_hold("t", &stranger, "x", "admin").unwrap_err();
        assert!(matches!(err, StoreError::NotFound("patient")));
    }
}
