//! Vault maps (placeholder to original) per conversation, sealed under the patient's key so that
//! forgetting a patient also makes their vaults unreadable.

use phigate_crypto::AadContext;
use zeroize::Zeroizing;

use crate::db::{Sql, now};
use crate::params;
use crate::{PatientRef, Store, StoreError};

fn context(tenant: &str, patient: &PatientRef, conversation: &str) -> AadContext {
    AadContext::patient(
        tenant,
        patient.as_str(),
        &format!("vault/{conversation}"),
        "map",
    )
}

impl Store {
    /// Saves (or replaces) a conversation's vault bytes.
    pub fn save_vault(
        &self,
        tenant: &str,
        patient: &PatientRef,
        conversation: &str,
        vault: &[u8],
    ) -> Result<(), StoreError> {
        let sealed = self
            .keyring
            .seal(&context(tenant, patient, conversation), vault)?;
        self.db.execute(
            "INSERT INTO vaults (tenant, conversation, patient_ref, body, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant, conversation) DO UPDATE SET patient_ref = excluded.patient_ref,
               body = excluded.body, updated_at = excluded.updated_at",
            params![tenant, conversation, patient.as_str(), sealed, now()],
        )?;
        Ok(())
    }

    /// Loads a conversation's vault bytes, if it has one.
    pub fn load_vault(
        &self,
        tenant: &str,
        patient: &PatientRef,
        conversation: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let sealed: Option<Vec<u8>> = self
            .db
            .query_opt(
                "SELECT body FROM vaults
                 WHERE tenant = $1 AND conversation = $2 AND patient_ref = $3",
                params![tenant, conversation, patient.as_str()],
            )?
            .map(|mut row| row.take(0))
            .transpose()?;
        match sealed {
            None => Ok(None),
            Some(sealed) => Ok(Some(
                self.keyring
                    .open(&context(tenant, patient, conversation), &sealed)?,
            )),
        }
    }
}
