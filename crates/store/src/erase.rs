//! Deletion requests: crypto-shredding a patient, deleting every row that held their data, and
//! leaving a tombstone (the keyed reference, when, who, the request id; no PHI) so that the
//! deletion stays on record and a later import of the same patient is noticed.

use crate::db::{Row, Sql, now};
use crate::params;
use crate::{PatientRef, Store, StoreError};

/// The record a deletion request leaves behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    /// The deleted patient's keyed reference.
    pub patient: PatientRef,
    /// The deletion request's id.
    pub request_id: String,
    /// Who asked for it.
    pub requested_by: String,
    /// When the patient was forgotten (Unix seconds).
    pub forgotten_at: i64,
    /// When the patient was imported again on purpose, if they were.
    pub reimported_at: Option<i64>,
}

/// What a deletion request did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureReport {
    /// Key versions destroyed.
    pub key_versions_destroyed: u32,
    /// Vault maps deleted.
    pub vaults_deleted: u64,
    /// Draft rows deleted.
    pub drafts_deleted: u64,
    /// Resource rows deleted.
    pub resources_deleted: u64,
}

impl Store {
    /// Runs a deletion request: refuses a patient under legal hold ([`StoreError::Conflict`]),
    /// destroys the patient's keys and vault maps ([`Store::forget_patient`]), then deletes
    /// their drafts and resources and writes the tombstone in one transaction. A patient the
    /// store has never seen, or already deleted, is [`StoreError::NotFound`].
    pub fn erase_patient(
        &self,
        tenant: &str,
        patient: &PatientRef,
        request_id: &str,
        requested_by: &str,
    ) -> Result<ErasureReport, StoreError> {
        if self.is_held(tenant, patient)? {
            return Err(StoreError::Conflict("the patient is under legal hold"));
        }
        let forgotten = self.forget_patient(tenant, patient)?;
        let at = now();
        let (drafts_deleted, resources_deleted) = self.db.transaction(|tx| {
            let p = params![tenant, patient.as_str()];
            let drafts = tx.execute(
                "DELETE FROM drafts WHERE tenant = $1 AND patient_ref = $2",
                p,
            )?;
            let resources = tx.execute(
                "DELETE FROM resources WHERE tenant = $1 AND patient_ref = $2",
                p,
            )?;
            tx.execute(
                "DELETE FROM patients WHERE tenant = $1 AND patient_ref = $2",
                p,
            )?;
            tx.execute(
                "INSERT INTO tombstones
                 (tenant, patient_ref, request_id, requested_by, forgotten_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant, patient_ref) DO UPDATE SET
                   request_id = excluded.request_id, requested_by = excluded.requested_by,
                   forgotten_at = excluded.forgotten_at, reimported_at = NULL",
                params![tenant, patient.as_str(), request_id, requested_by, at],
            )?;
            Ok((drafts, resources))
        })?;
        // With SQLite's secure_delete the deleted rows are zeroed in their pages; this moves
        // those pages home and empties the log that still holds the old ones.
        self.db.flush_deleted()?;
        Ok(ErasureReport {
            key_versions_destroyed: forgotten.key_versions_destroyed,
            vaults_deleted: forgotten.vaults_deleted,
            drafts_deleted,
            resources_deleted,
        })
    }

    /// The tombstone of a patient, if a deletion request ran for them.
    pub fn tombstone(
        &self,
        tenant: &str,
        patient: &PatientRef,
    ) -> Result<Option<Tombstone>, StoreError> {
        self.db
            .query_opt(
                "SELECT patient_ref, request_id, requested_by, forgotten_at, reimported_at
                 FROM tombstones WHERE tenant = $1 AND patient_ref = $2",
                params![tenant, patient.as_str()],
            )?
            .map(tombstone_from_row)
            .transpose()
    }

    /// Every tombstone of the tenant, oldest first.
    pub fn tombstones(&self, tenant: &str) -> Result<Vec<Tombstone>, StoreError> {
        self.db
            .query_all(
                "SELECT patient_ref, request_id, requested_by, forgotten_at, reimported_at
                 FROM tombstones WHERE tenant = $1 ORDER BY forgotten_at, patient_ref",
                params![tenant],
            )?
            .into_iter()
            .map(tombstone_from_row)
            .collect()
    }

    /// Lets a deleted patient be imported again: clears the destroyed key versions (so a new
    /// key is made on the next write) and marks the tombstone, which stays on record.
    pub fn allow_reimport(&self, tenant: &str, patient: &PatientRef) -> Result<(), StoreError> {
        let at = now();
        self.db.transaction(|tx| {
            let marked = tx.execute(
                "UPDATE tombstones SET reimported_at = $3
                 WHERE tenant = $1 AND patient_ref = $2 AND reimported_at IS NULL",
                params![tenant, patient.as_str(), at],
            )?;
            if marked == 0 {
                return Err(StoreError::NotFound("tombstone"));
            }
            tx.execute(
                "DELETE FROM keys WHERE kind = 'patient' AND tenant = $1 AND patient = $2
                 AND state = 'destroyed'",
                params![tenant, patient.as_str()],
            )?;
            Ok(())
        })
    }
}

fn tombstone_from_row(mut r: Row) -> Result<Tombstone, StoreError> {
    Ok(Tombstone {
        patient: PatientRef::from_stored(r.take(0)?),
        request_id: r.take(1)?,
        requested_by: r.take(2)?,
        forgotten_at: r.take(3)?,
        reimported_at: r.take(4)?,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use phigate_crypto::LocalKms;

    use super::*;
    use crate::{Draft, DraftStatus};

    fn store_with_patient() -> (tempfile::TempDir, Store, PatientRef) {
        let dir = tempfile::tempdir().unwrap();
        let kms = Arc::new(LocalKms::create(&dir.path().join("root.key")).unwrap());
        let store = Store::open(&dir.path().join("app.db"), kms).unwrap();
        let patient = store.patient_ref("t", "p1");
        let rows = vec![
            ("Patient".into(), "p1".into(), b"{}".to_vec()),
            ("Condition".into(), "c1".into(), b"{}".to_vec()),
        ];
        store.put_patient("t", &patient, &rows).unwrap();
        store.save_vault("t", &patient, "conv-1", b"map").unwrap();
        let draft = Draft {
            id: "d1".into(),
            tenant: "t".into(),
            patient: patient.clone(),
            task: "clinical-note".into(),
            status: DraftStatus::AwaitingReview,
            created_by: "u".into(),
            created_at: 1,
            reviewed_by: None,
            reviewed_at: None,
        };
        store.create_draft(&draft, b"note").unwrap();
        (dir, store, patient)
    }

    #[test]
    fn a_deletion_request_shreds_deletes_every_row_and_leaves_a_tombstone() {
        let (_dir, store, patient) = store_with_patient();
        let report = store
            .erase_patient("t", &patient, "req-1", "admin")
            .unwrap();
        assert!(report.key_versions_destroyed >= 1);
        assert_eq!(
            (
                report.vaults_deleted,
                report.drafts_deleted,
                report.resources_deleted
            ),
            (1, 1, 2)
        );
        assert!(store.drafts("t").unwrap().is_empty());
        assert!(matches!(
            store.load_patient("t", &patient),
            Err(StoreError::NotFound(_))
        ));
        let tombstone = store.tombstone("t", &patient).unwrap().unwrap();
        assert_eq!(tombstone.request_id, "req-1");
        assert_eq!(tombstone.reimported_at, None);
        let again = store
            .erase_patient("t", &patient, "req-2", "admin")
            .unwrap_err();
        assert!(matches!(again, StoreError::NotFound(_)));
    }

    #[test]
    fn a_held_patient_is_not_deleted() {
        let (_dir, store, patient) = store_with_patient();
        store.place_hold("t", &patient, "case", "admin").unwrap();
        let err = store
            .erase_patient("t", &patient, "req-1", "admin")
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)));
        assert_eq!(store.load_patient("t", &patient).unwrap().len(), 2);
    }

    #[test]
    fn a_deleted_patient_can_be_imported_again_only_once_allowed() {
        let (_dir, store, patient) = store_with_patient();
        store
            .erase_patient("t", &patient, "req-1", "admin")
            .unwrap();
        let rows = vec![("Patient".into(), "p1".into(), b"{\"new\":1}".to_vec())];
        assert!(store.prepare_import("t", &patient, &rows).is_err());
        store.allow_reimport("t", &patient).unwrap();
        let prepared = store.prepare_import("t", &patient, &rows).unwrap();
        store.commit_import("t", &[prepared]).unwrap();
        assert_eq!(store.load_patient("t", &patient).unwrap().len(), 1);
        let tombstone = store.tombstone("t", &patient).unwrap().unwrap();
        assert!(tombstone.reimported_at.is_some());
    }
}
