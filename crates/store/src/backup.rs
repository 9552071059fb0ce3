//! Consistent copies of the store for backups. The copy is the encrypted store as it is: sealed
//! values stay sealed, and the keys that open them are not in it (wrapped keys are, and only
//! the root key unwraps them).

use std::path::Path;

use crate::db::Sql;
use crate::params;
use crate::{BackendKind, Store, StoreError};

impl Store {
    /// Writes a consistent snapshot of the whole SQLite database to `dest`, which must not
    /// exist: `VACUUM INTO`, one read transaction, so writers in other processes (a running
    /// `phigate serve`) carry on, and the copy is compacted. A PostgreSQL store is refused with
    /// [`StoreError::Conflict`]: it is backed up with the database's own tools.
    pub fn snapshot_into(&self, dest: &Path) -> Result<(), StoreError> {
        if self.db.kind() != BackendKind::Sqlite {
            return Err(StoreError::Conflict(
                "a PostgreSQL store is backed up with the database's own tools",
            ));
        }
        if dest.exists() {
            return Err(StoreError::Conflict("the snapshot file already exists"));
        }
        let dest = dest
            .to_str()
            .ok_or(StoreError::Conflict("the snapshot path is not valid UTF-8"))?;
        self.db.execute("VACUUM INTO $1", params![dest])?;
        Ok(())
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
