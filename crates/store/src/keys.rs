//! Wrapped tenant and patient keys in SQLite, and the store's index key.

use phigate_crypto::{CryptoError, KeyMaterial, KeyRepository, KeyScope, KeyState, Kms, StoredKey};
use rusqlite::{OptionalExtension, params};

use crate::{Database, StoreError};

/// [`KeyRepository`] over the application database. It only ever sees wrapped keys.
pub struct SqliteKeyRepository {
    db: Database,
}

impl SqliteKeyRepository {
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

impl KeyRepository for SqliteKeyRepository {
    fn load(&self, scope: &KeyScope) -> Result<Vec<StoredKey>, CryptoError> {
        let conn = self.db.lock().map_err(repo_err)?;
        let (kind, tenant, patient) = columns(scope);
        let mut stmt = conn
            .prepare(
                "SELECT version, wrapped, state, created_at FROM keys
                 WHERE kind = ?1 AND tenant = ?2 AND patient = ?3 ORDER BY version",
            )
            .map_err(repo_err)?;
        let rows = stmt
            .query_map(params![kind, tenant, patient], |row| {
                Ok((
                    row.get::<_, u32>(0)?,
                    row.get::<_, Vec<u8>>(1)?,
                    row.get::<_, String>(2)?,
                    row.get(3)?,
                ))
            })
            .map_err(repo_err)?;
        let mut keys = Vec::new();
        for row in rows {
            let (version, wrapped, state, created_at) = row.map_err(repo_err)?;
            let state = KeyState::parse(&state)
                .ok_or_else(|| repo_err(StoreError::Corrupt("key state")))?;
            keys.push(StoredKey {
                scope: scope.clone(),
                version,
                wrapped,
                state,
                created_at,
            });
        }
        Ok(keys)
    }

    fn insert(&self, key: &StoredKey) -> Result<(), CryptoError> {
        let conn = self.db.lock().map_err(repo_err)?;
        let (kind, tenant, patient) = columns(&key.scope);
        let inserted = conn
            .execute(
                "INSERT OR IGNORE INTO keys (kind, tenant, patient, version, wrapped, state, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![kind, tenant, patient, key.version, key.wrapped, key.state.as_str(), key.created_at],
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
        let conn = self.db.lock().map_err(repo_err)?;
        let (kind, tenant, patient) = columns(scope);
        let changed = conn
            .execute(
                "UPDATE keys SET state = ?5 WHERE kind = ?1 AND tenant = ?2 AND patient = ?3
                 AND version = ?4 AND state != 'destroyed'",
                params![kind, tenant, patient, version, state.as_str()],
            )
            .map_err(repo_err)?;
        if changed == 0 {
            return Err(CryptoError::KeyNotFound { kind, version });
        }
        Ok(())
    }

    fn destroy(&self, scope: &KeyScope) -> Result<u32, CryptoError> {
        let conn = self.db.lock().map_err(repo_err)?;
        let (kind, tenant, patient) = columns(scope);
        // Overwrite, then let SQLite's secure_delete-free pages be reused: the wrapped bytes are
        // useless without the KMS anyway, and a VACUUM after forgetting removes even those.
        let changed = conn
            .execute(
                "UPDATE keys SET wrapped = x'', state = 'destroyed'
                 WHERE kind = ?1 AND tenant = ?2 AND patient = ?3 AND state != 'destroyed'",
                params![kind, tenant, patient],
            )
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
        let conn = self.db.lock().map_err(repo_err)?;
        let (kind, tenant, patient) = columns(scope);
        let changed = conn
            .execute(
                "UPDATE keys SET wrapped = ?6 WHERE kind = ?1 AND tenant = ?2 AND patient = ?3
                 AND version = ?4 AND wrapped = ?5 AND state != 'destroyed'",
                params![kind, tenant, patient, version, old, new],
            )
            .map_err(repo_err)?;
        Ok(changed == 1)
    }

    fn scopes(&self, tenant: &str) -> Result<Vec<KeyScope>, CryptoError> {
        let conn = self.db.lock().map_err(repo_err)?;
        let mut stmt = conn
            .prepare(
                "SELECT DISTINCT kind, patient FROM keys WHERE tenant = ?1
                 ORDER BY kind = 'patient', patient",
            )
            .map_err(repo_err)?;
        let rows = stmt
            .query_map(params![tenant], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(repo_err)?;
        let mut scopes = Vec::new();
        for row in rows {
            let (kind, patient) = row.map_err(repo_err)?;
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
}

const INDEX_KEY_AAD: &[u8] = b"phigate/store/index-key/v1";

/// Loads the key that turns identifiers into row keys, creating it on first use. It is stored
/// wrapped by the KMS, like every other key.
pub(crate) fn index_key(db: &Database, kms: &dyn Kms) -> Result<KeyMaterial, StoreError> {
    let conn = db.lock()?;
    let wrapped: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM meta WHERE name = 'index_key'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(wrapped) = wrapped {
        return Ok(kms.unwrap(&wrapped, INDEX_KEY_AAD)?);
    }
    let key = KeyMaterial::generate()?;
    let wrapped = kms.wrap(&key, INDEX_KEY_AAD)?;
    conn.execute(
        "INSERT INTO meta (name, value) VALUES ('index_key', ?1)",
        params![wrapped],
    )?;
    Ok(key)
}
