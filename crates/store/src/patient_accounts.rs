//! Patient accounts: the one patient record a person of the patient role is bound to. The
//! binding is the record's keyed reference, never an identifier, and it is set once, when the
//! account is created; patient-facing routes read it from the access token, which carries it.

use crate::db::{Sql, now};
use crate::{PatientRef, Store, StoreError, params};

impl Store {
    /// Binds the account `user_id` of `tenant` to `patient`. An account is bound once: binding
    /// it again is a conflict, even to the same record.
    pub fn bind_patient_account(
        &self,
        user_id: &str,
        tenant: &str,
        patient: &PatientRef,
    ) -> Result<(), StoreError> {
        let added = self.db.execute(
            "INSERT INTO patient_accounts (user_id, tenant, patient_ref, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING",
            params![user_id, tenant, patient.as_str(), now()],
        )?;
        if added == 0 {
            return Err(StoreError::Conflict(
                "the account is already bound to a patient",
            ));
        }
        Ok(())
    }

    /// The patient record the account `user_id` of `tenant` is bound to, if any.
    pub fn patient_account(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> Result<Option<PatientRef>, StoreError> {
        let found = self.db.query_opt(
            "SELECT patient_ref FROM patient_accounts WHERE user_id = $1 AND tenant = $2",
            params![user_id, tenant],
        )?;
        Ok(match found {
            Some(row) => Some(PatientRef::from_stored(row.get(0)?)),
            None => None,
        })
    }

    /// Whether the tenant has this patient on record.
    pub fn has_patient(&self, tenant: &str, patient: &PatientRef) -> Result<bool, StoreError> {
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

    use phigate_crypto::{KeyMaterial, LocalKms};

    use super::*;

    #[test]
    fn an_account_is_bound_once_and_reads_back_its_own_patient_only() {
        let dir = tempfile::tempdir().unwrap();
        let kms = LocalKms::from_key(KeyMaterial::from_bytes(&[4u8; 32]).unwrap());
        let store = Store::open(&dir.path().join("app.db"), Arc::new(kms)).unwrap();
        let mine = store.patient_ref("t1", "p1");
        let other = store.patient_ref("t1", "p2");
        store.bind_patient_account("u1", "t1", &mine).unwrap();
        assert!(matches!(
            store.bind_patient_account("u1", "t1", &other),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.patient_account("t1", "u1").unwrap(), Some(mine));
        assert_eq!(store.patient_account("t2", "u1").unwrap(), None);
        assert_eq!(store.patient_account("t1", "u2").unwrap(), None);
        assert!(!store.has_patient("t1", &other).unwrap());
    }
}
