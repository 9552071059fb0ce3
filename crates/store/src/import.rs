//! Importing many patients' resources from one input file: each patient's resources are sealed
//! and compared with what is stored first, then the whole file is written in one transaction.
//!
//! A resource already stored with the same JSON is left untouched (same sealed bytes, same
//! time), so importing the same data twice changes nothing. A resource whose JSON differs
//! replaces the stored one, as a FHIR update would.

use phigate_crypto::AadContext;

use crate::db::{Sql, now};
use crate::params;
use crate::{PatientRef, Store, StoreError};

/// What an import did, or would do, to the stored resources.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// Patients the input touched.
    pub patients: usize,
    /// Resources not stored before.
    pub created: usize,
    /// Resources stored before with different content, now replaced.
    pub updated: usize,
    /// Resources stored before with the same content, left as they were.
    pub unchanged: usize,
}

impl ImportCounts {
    /// Adds another set of counts to these.
    pub fn add(&mut self, other: ImportCounts) {
        self.patients += other.patients;
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

/// One patient's resources, sealed and compared with the store, ready to be written. Holds no
/// plaintext.
pub struct PreparedPatient {
    patient: PatientRef,
    writes: Vec<(String, String, Vec<u8>)>,
    counts: ImportCounts,
}

impl PreparedPatient {
    /// What writing this patient will do.
    pub fn counts(&self) -> ImportCounts {
        self.counts
    }
}

fn context(tenant: &str, patient: &PatientRef, resource_type: &str, rref: &str) -> AadContext {
    AadContext::patient(
        tenant,
        patient.as_str(),
        &format!("{resource_type}/{rref}"),
        "body",
    )
}

impl Store {
    /// Whether a resource of this type and id is stored for any patient of the tenant.
    pub fn resource_exists(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let rref = self.resource_ref(tenant, resource_type, id);
        let found = self.db.query_opt(
            "SELECT 1 FROM resources
             WHERE tenant = $1 AND resource_type = $2 AND resource_ref = $3 LIMIT 1",
            params![tenant, resource_type, rref],
        )?;
        Ok(found.is_some())
    }

    /// Seals one patient's resources (`(type, id, JSON)`), skipping those stored with the same
    /// JSON already. Nothing is written until [`Store::commit_import`].
    pub fn prepare_import(
        &self,
        tenant: &str,
        patient: &PatientRef,
        resources: &[(String, String, Vec<u8>)],
    ) -> Result<PreparedPatient, StoreError> {
        let mut counts = ImportCounts {
            patients: 1,
            ..ImportCounts::default()
        };
        let mut writes = Vec::new();
        for (resource_type, id, json) in resources {
            let rref = self.resource_ref(tenant, resource_type, id);
            let ctx = context(tenant, patient, resource_type, &rref);
            match self.stored_body(tenant, patient, resource_type, &rref)? {
                // A stored body that no longer opens (its key destroyed) is replaced.
                Some(sealed) => match self.keyring.open(&ctx, &sealed) {
                    Ok(old) if old.as_slice() == json.as_slice() => {
                        counts.unchanged += 1;
                        continue;
                    }
                    _ => counts.updated += 1,
                },
                None => counts.created += 1,
            }
            writes.push((resource_type.clone(), rref, self.keyring.seal(&ctx, json)?));
        }
        Ok(PreparedPatient {
            patient: patient.clone(),
            writes,
            counts,
        })
    }

    /// Writes prepared patients in one transaction: all of them or none.
    pub fn commit_import(
        &self,
        tenant: &str,
        prepared: &[PreparedPatient],
    ) -> Result<ImportCounts, StoreError> {
        let at = now();
        self.db.transaction(|tx| {
            for patient in prepared {
                let patient_ref = patient.patient.as_str();
                tx.execute(
                    "INSERT INTO patients (tenant, patient_ref, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (tenant, patient_ref) DO NOTHING",
                    params![tenant, patient_ref, at],
                )?;
                for (resource_type, rref, body) in &patient.writes {
                    tx.execute(
                        "INSERT INTO resources
                         (tenant, patient_ref, resource_type, resource_ref, body, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (tenant, patient_ref, resource_type, resource_ref)
                         DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                        params![tenant, patient_ref, resource_type, rref, body, at],
                    )?;
                }
            }
            Ok(())
        })?;
        let mut counts = ImportCounts::default();
        for patient in prepared {
            counts.add(patient.counts);
        }
        Ok(counts)
    }

    fn stored_body(
        &self,
        tenant: &str,
        patient: &PatientRef,
        resource_type: &str,
        rref: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.db
            .query_opt(
                "SELECT body FROM resources WHERE tenant = $1 AND patient_ref = $2
                 AND resource_type = $3 AND resource_ref = $4",
                params![tenant, patient.as_str(), resource_type, rref],
            )?
            .map(|mut row| row.take(0))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use phigate_crypto::LocalKms;

    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let kms = Arc::new(LocalKms::create(&dir.path().join("root.key")).unwrap());
        let store = Store::open(&dir.path().join("app.db"), kms).unwrap();
        (dir, store)
    }

    fn rows(value: &str) -> Vec<(String, String, Vec<u8>)> {
        vec![
            ("Patient".into(), "p1".into(), b"{\"id\":\"p1\"}".to_vec()),
            ("Condition".into(), "c1".into(), value.as_bytes().to_vec()),
        ]
    }

    fn bodies(store: &Store) -> Vec<(String, Vec<u8>, i64)> {
        let rows = store
            .db
            .query_all(
                "SELECT resource_ref, body, updated_at FROM resources ORDER BY resource_ref",
                params![],
            )
            .unwrap();
        rows.into_iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
            .collect()
    }

    #[test]
    fn importing_the_same_resources_twice_leaves_the_sealed_rows_untouched() {
        let (_dir, store) = store();
        let patient = store.patient_ref("t", "p1");
        let first = store
            .prepare_import("t", &patient, &rows("{\"v\":1}"))
            .unwrap();
        assert_eq!(first.counts().created, 2);
        store.commit_import("t", &[first]).unwrap();
        let before = bodies(&store);

        let again = store
            .prepare_import("t", &patient, &rows("{\"v\":1}"))
            .unwrap();
        assert_eq!(again.counts().unchanged, 2);
        assert_eq!(again.counts().created + again.counts().updated, 0);
        store.commit_import("t", &[again]).unwrap();
        assert_eq!(bodies(&store), before);
    }

    #[test]
    fn a_changed_resource_replaces_the_stored_one() {
        let (_dir, store) = store();
        let patient = store.patient_ref("t", "p1");
        let first = store
            .prepare_import("t", &patient, &rows("{\"v\":1}"))
            .unwrap();
        store.commit_import("t", &[first]).unwrap();
        let changed = store
            .prepare_import("t", &patient, &rows("{\"v\":2}"))
            .unwrap();
        assert_eq!(
            (changed.counts().updated, changed.counts().unchanged),
            (1, 1)
        );
        store.commit_import("t", &[changed]).unwrap();
        let loaded = store.load_patient("t", &patient).unwrap();
        assert_eq!(loaded.len(), 2);
        assert!(loaded.iter().any(|r| r.json.as_slice() == b"{\"v\":2}"));
        assert!(store.resource_exists("t", "Condition", "c1").unwrap());
        assert!(!store.resource_exists("t", "Condition", "c2").unwrap());
    }

    #[test]
    fn nothing_is_written_before_the_commit() {
        let (_dir, store) = store();
        let patient = store.patient_ref("t", "p1");
        let prepared = store.prepare_import("t", &patient, &rows("{}")).unwrap();
        drop(prepared);
        assert_eq!(store.patient_count("t").unwrap(), 0);
        assert!(bodies(&store).is_empty());
    }
}
