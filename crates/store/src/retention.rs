//! Retention of the store's data classes: decided drafts, drafts left awaiting review, and
//! vault maps, each purged once older than its cutoff. Patients under legal hold are skipped.
//! The report and the purge count the same rows, so a report says exactly what a purge would
//! delete at that moment. Only counts leave this module, never content.

use crate::db::Sql;
use crate::params;
use crate::{Store, StoreError};

/// The cutoffs of one purge (Unix seconds): rows older than these go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionCutoffs {
    /// Signed or rejected drafts reviewed before this.
    pub drafts_decided_before: i64,
    /// Drafts still awaiting review created before this.
    pub drafts_awaiting_before: i64,
    /// Vault maps last written before this.
    pub vaults_before: i64,
}

/// Rows per data class past their retention.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionCounts {
    /// Signed or rejected drafts.
    pub drafts_decided: u64,
    /// Drafts awaiting review.
    pub drafts_awaiting: u64,
    /// Vault maps.
    pub vaults: u64,
    /// Rows of every class past retention but kept because their patient is under legal hold.
    pub held: u64,
}

const NOT_HELD: &str = "patient_ref NOT IN (SELECT patient_ref FROM legal_holds WHERE tenant = $1)";
const HELD: &str = "patient_ref IN (SELECT patient_ref FROM legal_holds WHERE tenant = $1)";

/// Each class: its table and the condition (with `$2` the cutoff) selecting rows past retention.
fn classes(c: &RetentionCutoffs) -> [(&'static str, &'static str, i64); 3] {
    [
        (
            "drafts",
            "status IN ('signed', 'rejected') AND reviewed_at < $2",
            c.drafts_decided_before,
        ),
        (
            "drafts",
            "status = 'awaiting_review' AND created_at < $2",
            c.drafts_awaiting_before,
        ),
        ("vaults", "updated_at < $2", c.vaults_before),
    ]
}

fn count(
    db: &dyn Sql,
    tenant: &str,
    (table, condition, cutoff): (&str, &str, i64),
    hold: &str,
) -> Result<u64, StoreError> {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant = $1 AND {condition} AND {hold}");
    db.query_one(&sql, params![tenant, cutoff])?.get(0)
}

impl Store {
    /// What a purge with these cutoffs would delete now, per class, and what holds keep.
    pub fn retention_report(
        &self,
        tenant: &str,
        cutoffs: &RetentionCutoffs,
    ) -> Result<RetentionCounts, StoreError> {
        let mut counts = [0u64; 3];
        let mut held = 0;
        for (i, class) in classes(cutoffs).into_iter().enumerate() {
            counts[i] = count(&self.db, tenant, class, NOT_HELD)?;
            held += count(&self.db, tenant, class, HELD)?;
        }
        Ok(RetentionCounts {
            drafts_decided: counts[0],
            drafts_awaiting: counts[1],
            vaults: counts[2],
            held,
        })
    }

    /// Deletes every row past retention, except held patients', in one transaction, and
    /// returns what was deleted (and what holds kept).
    pub fn retention_purge(
        &self,
        tenant: &str,
        cutoffs: &RetentionCutoffs,
    ) -> Result<RetentionCounts, StoreError> {
        let (counts, held) = self.db.transaction(|tx| {
            let mut counts = [0u64; 3];
            let mut held = 0;
            for (i, class) in classes(cutoffs).into_iter().enumerate() {
                held += count(tx, tenant, class, HELD)?;
                let (table, condition, cutoff) = class;
                let sql =
                    format!("DELETE FROM {table} WHERE tenant = $1 AND {condition} AND {NOT_HELD}");
                counts[i] = tx.execute(&sql, params![tenant, cutoff])?;
            }
            Ok((counts, held))
        })?;
        Ok(RetentionCounts {
            drafts_decided: counts[0],
            drafts_awaiting: counts[1],
            vaults: counts[2],
            held,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use phigate_crypto::LocalKms;

    use super::*;
    use crate::{Draft, DraftStatus, PatientRef};

    fn draft(id: &str, patient: &PatientRef, created_at: i64) -> Draft {
        Draft {
            id: id.into(),
            tenant: "t".into(),
            patient: patient.clone(),
            task: "clinical-note".into(),
            status: DraftStatus::AwaitingReview,
            created_by: "u".into(),
            created_at,
            reviewed_by: None,
            reviewed_at: None,
        }
    }

    fn set_vault_age(store: &Store, at: i64) {
        store
            .db
            .execute("UPDATE vaults SET updated_at = $1", params![at])
            .unwrap();
    }

    #[test]
    fn old_rows_are_reported_then_purged_and_held_patients_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let kms = Arc::new(LocalKms::create(&dir.path().join("root.key")).unwrap());
        let store = Store::open(&dir.path().join("app.db"), kms).unwrap();
        let (a, b) = (store.patient_ref("t", "a"), store.patient_ref("t", "b"));
        for p in [&a, &b] {
            let rows = vec![("Patient".into(), "x".into(), b"{}".to_vec())];
            store.put_patient("t", p, &rows).unwrap();
            store
                .save_vault("t", p, &format!("c-{}", p.as_str()), b"m")
                .unwrap();
        }
        store.create_draft(&draft("old-a", &a, 100), b"x").unwrap();
        store.create_draft(&draft("old-b", &b, 100), b"x").unwrap();
        store
            .create_draft(&draft("new-a", &a, 10_000), b"x")
            .unwrap();
        store
            .review_draft("t", "new-a", DraftStatus::Signed, "dr")
            .unwrap();
        set_vault_age(&store, 100);
        store.place_hold("t", &b, "case", "admin").unwrap();

        let cutoffs = RetentionCutoffs {
            drafts_decided_before: 0,
            drafts_awaiting_before: 1_000,
            vaults_before: 1_000,
        };
        let report = store.retention_report("t", &cutoffs).unwrap();
        let expected = RetentionCounts {
            drafts_decided: 0,
            drafts_awaiting: 1,
            vaults: 1,
            held: 2,
        };
        assert_eq!(report, expected);
        assert_eq!(store.retention_purge("t", &cutoffs).unwrap(), expected);
        let left: Vec<String> = store
            .drafts("t")
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(left, ["old-b", "new-a"]);
        assert!(
            store
                .load_vault("t", &b, &format!("c-{}", b.as_str()))
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .load_vault("t", &a, &format!("c-{}", a.as_str()))
                .unwrap()
                .is_none()
        );
        let nothing = store.retention_report("t", &cutoffs).unwrap();
        assert_eq!((nothing.drafts_awaiting, nothing.vaults), (0, 0));
    }
}
