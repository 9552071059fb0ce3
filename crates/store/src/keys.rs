//! Wrapped tenant and patient keys in the application database, and the store's index key.

use phigate_crypto::{CryptoError, KeyMaterial, KeyRepository, KeyScope, KeyState, Kms, StoredKey};

use crate::db::Sql;
use crate::{Database, StoreError, params};

/// [`KeyRepository`] over the application database, on either backend. It only ever sees
/// wrapped keys.
pub struct DbKeyRepository {
    db: Database,
}

impl DbKeyRepository {
    /// A repository over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn repo_err(err: impl std::error::Error + Send + Sync + 'static) -> CryptoError {
    CryptoError::Repository(Box::new(err))
}

fn columns(scope: &KeyScope) -> (&'static str, &str, &str) {
    (scope.kind(), scope.tenant(), scope.patient().unwrap_or(""))
}

impl KeyRepository for DbKeyRepository {
    fn load(&self, scope: &KeyScope) -> Result<Vec<StoredKey>, CryptoError> {
        let (kind, tenant, patient) = columns(scope);
        let rows = self
            .db
            .query_all(
                "SELECT version, wrapped, state, created_at FROM keys
                 WHERE kind = $1 AND tenant = $2 AND patient = $3 ORDER BY version",
                params![kind, tenant, patient],
            )
            .map_err(repo_err)?;
        let mut keys = Vec::with_capacity(rows.len());
        for mut row in rows {
            let state: String = row.get(2).map_err(repo_err)?;
            let state = KeyState::parse(&state)
                .ok_or_else(|| repo_err(StoreError::Corrupt("key state")))?;
            keys.push(StoredKey {
                scope: scope.clone(),
                version: row.get(0).map_err(repo_err)?,
                wrapped: row.take(1).map_err(repo_err)?,
                state,
                created_at: row.get(3).map_err(repo_err)?,
            });
        }
        Ok(keys)
    }

    fn insert(&self, key: &StoredKey) -> Result<(), CryptoError> {
        let (kind, tenant, patient) = columns(&key.scope);
        let inserted = self
            .db
            .execute(
                "INSERT INTO keys (kind, tenant, patient, version, wrapped, state, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (kind, tenant, patient, version) DO NOTHING",
                params![
                    kind,
                    tenant,
                    patient,
                    key.version,
                    key.wrapped,
                    key.state.as_str(),
                    key.created_at
                ],
            )
            .map_err(repo_err)?;
        if inserted == 0 {
            return Err(CryptoError::KeyExists {
                kind,
                version: key.version,
            });
        }
        Ok(())
    }

    fn set_state(
        &self,
        scope: &KeyScope,
        version: u32,
        state: KeyState,
    ) -> Result<(), CryptoError> {
        let (kind, tenant, patient) = columns(scope);
        let revokes = matches!(state, KeyState::Destroyed | KeyState::Retired);
        let marker = phigate_crypto::random_token()?;
        let changed = self
            .db
            .transaction(|tx| {
                let changed = tx.execute(
                    "UPDATE keys SET state = $5 WHERE kind = $1 AND tenant = $2 AND patient = $3
                     AND version = $4 AND state != 'destroyed'",
                    params![kind, tenant, patient, version, state.as_str()],
                )?;
                if revokes && changed > 0 {
                    set_marker(tx, &marker)?;
                }
                Ok(changed)
            })
            .map_err(repo_err)?;
        if changed == 0 {
            return Err(CryptoError::KeyNotFound { kind, version });
        }
        Ok(())
    }

    fn destroy(&self, scope: &KeyScope) -> Result<u32, CryptoError> {
        let (kind, tenant, patient) = columns(scope);
        // The wrapped bytes are overwritten with nothing in place; on SQLite secure_delete
        // zeroes the old cell and `Database::flush_deleted` empties the log.
        // The marker changes in the same transaction, so whoever sees the new marker also
        // sees the destroyed versions.
        let marker = phigate_crypto::random_token()?;
        let changed = self
            .db
            .transaction(|tx| {
                let changed = tx.execute(
                    "UPDATE keys SET wrapped = $4, state = 'destroyed'
                     WHERE kind = $1 AND tenant = $2 AND patient = $3 AND state != 'destroyed'",
                    params![kind, tenant, patient, Vec::<u8>::new()],
                )?;
                set_marker(tx, &marker)?;
                Ok(changed)
            })
            .map_err(repo_err)?;
        Ok(changed as u32)
    }

    fn replace_wrapped(
        &self,
        scope: &KeyScope,
        version: u32,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool, CryptoError> {
        let (kind, tenant, patient) = columns(scope);
        let changed = self
            .db
            .execute(
                "UPDATE keys SET wrapped = $6 WHERE kind = $1 AND tenant = $2 AND patient = $3
                 AND version = $4 AND wrapped = $5 AND state != 'destroyed'",
                params![kind, tenant, patient, version, old, new],
            )
            .map_err(repo_err)?;
        Ok(changed == 1)
    }

    fn scopes(&self, tenant: &str) -> Result<Vec<KeyScope>, CryptoError> {
        let rows = self
            .db
            .query_all(
                "SELECT DISTINCT kind, patient, kind = 'patient' FROM keys WHERE tenant = $1
                 ORDER BY kind = 'patient', patient",
                params![tenant],
            )
            .map_err(repo_err)?;
        let mut scopes = Vec::with_capacity(rows.len());
        for row in rows {
            let kind: String = row.get(0).map_err(repo_err)?;
            let patient: String = row.get(1).map_err(repo_err)?;
            scopes.push(match kind.as_str() {
                "tenant" => KeyScope::Tenant {
                    tenant: tenant.to_owned(),
                },
                "patient" => KeyScope::Patient {
                    tenant: tenant.to_owned(),
                    patient,
                },
                _ => return Err(repo_err(StoreError::Corrupt("key kind"))),
            });
        }
        Ok(scopes)
    }

    fn revocation_marker(&self) -> Result<Vec<u8>, CryptoError> {
        let row = self
            .db
            .query_opt(
                "SELECT value FROM meta WHERE name = 'key_revocation'",
                params![],
            )
            .map_err(repo_err)?;
        match row {
            Some(row) => row.get(0).map_err(repo_err),
            None => Ok(Vec::new()),
        }
    }
}

/// Records that some key version was destroyed or retired: a fresh random marker (only its
/// change matters, and random values never repeat, even when two processes write at once).
fn set_marker(tx: &dyn Sql, marker: &[u8]) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO meta (name, value) VALUES ('key_revocation', $1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        params![marker.to_vec()],
    )?;
    Ok(())
}

const INDEX_KEY_AAD: &[u8] = b"phigate/store/index-key/v1";

/// Loads the key that turns identifiers into row keys, creating it on first use. It is stored
/// wrapped by the KMS, like every other key. Two processes opening a new database at once
/// agree on one key: the second insert loses and reads the first one's.
pub(crate) fn index_key(db: &Database, kms: &dyn Kms) -> Result<KeyMaterial, StoreError> {
    let select = "SELECT value FROM meta WHERE name = 'index_key'";
    if let Some(mut row) = db.query_opt(select, params![])? {
        return Ok(kms.unwrap(&row.take::<Vec<u8>>(0)?, INDEX_KEY_AAD)?);
    }
    let key = KeyMaterial::generate()?;
    let wrapped = kms.wrap(&key, INDEX_KEY_AAD)?;
    let inserted = db.execute(
        "INSERT INTO meta (name, value) VALUES ('index_key', $1) ON CONFLICT (name) DO NOTHING",
        params![wrapped],
    )?;
    if inserted == 1 {
        return Ok(key);
    }
    let mut row = db.query_one(select, params![])?;
    Ok(kms.unwrap(&row.take::<Vec<u8>>(0)?, INDEX_KEY_AAD)?)
}
