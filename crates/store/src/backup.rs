//! Consistent copies of the store for backups. The copy is the encrypted store as it is: sealed
//! values stay sealed, and the keys that open them are not in it (wrapped keys are, and only
//! the root key unwraps them).

use std::path::Path;

use crate::{Store, StoreError};

impl Store {
    /// Writes a consistent snapshot of the whole database to `dest`, which must not exist.
    /// With SQLite this is `VACUUM INTO`: one read transaction, so writers in other processes
    /// (a running `phigate serve`) carry on, and the copy is compacted.
    pub fn snapshot_into(&self, dest: &Path) -> Result<(), StoreError> {
        if dest.exists() {
            return Err(StoreError::Conflict("the snapshot file already exists"));
        }
        let dest = dest
            .to_str()
            .ok_or(StoreError::Conflict("the snapshot path is not valid UTF-8"))?;
        let conn = self.db.lock()?;
        conn.execute("VACUUM INTO ?1", [dest])?;
        Ok(())
    }

    /// The schema version of the database (the number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let conn = self.db.lock()?;
        Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use phigate_crypto::LocalKms;

    use super::*;

    #[test]
    fn a_snapshot_opens_with_the_same_root_key_and_holds_the_same_patients() {
        let dir = tempfile::tempdir().unwrap();
        let kms = Arc::new(LocalKms::create(&dir.path().join("root.key")).unwrap());
        let store = Store::open(&dir.path().join("app.db"), kms.clone()).unwrap();
        let patient = store.patient_ref("t", "p1");
        let rows = vec![("Patient".into(), "p1".into(), b"{\"a\":1}".to_vec())];
        store.put_patient("t", &patient, &rows).unwrap();

        let copy = dir.path().join("copy.db");
        store.snapshot_into(&copy).unwrap();
        assert!(matches!(
            store.snapshot_into(&copy),
            Err(StoreError::Conflict(_))
        ));
        let restored = Store::open(&copy, kms).unwrap();
        assert_eq!(
            restored.schema_version().unwrap(),
            store.schema_version().unwrap()
        );
        let loaded = restored
            .load_patient("t", &restored.patient_ref("t", "p1"))
            .unwrap();
        assert_eq!(loaded[0].json.as_slice(), b"{\"a\":1}");

        let other = Arc::new(LocalKms::create(&dir.path().join("other.key")).unwrap());
        assert!(
            Store::open(&copy, other).is_err(),
            "another root key opens nothing"
        );
    }
}
