//! The SQLite connection, its settings and the versioned schema.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use crate::StoreError;

/// Each entry moves the schema one version forward; the index is the version it creates.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE keys (
    kind TEXT NOT NULL, tenant TEXT NOT NULL, patient TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL, wrapped BLOB NOT NULL, state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, tenant, patient, version)
);
CREATE TABLE patients (
    tenant TEXT NOT NULL, patient_ref TEXT NOT NULL, created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, patient_ref)
);
CREATE TABLE resources (
    tenant TEXT NOT NULL, patient_ref TEXT NOT NULL, resource_type TEXT NOT NULL,
    resource_ref TEXT NOT NULL, body BLOB NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, patient_ref, resource_type, resource_ref)
);
CREATE TABLE drafts (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, patient_ref TEXT NOT NULL, task TEXT NOT NULL,
    status TEXT NOT NULL, body BLOB NOT NULL, created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL, reviewed_by TEXT, reviewed_at INTEGER
);
CREATE INDEX drafts_by_status ON drafts (tenant, status, created_at);
CREATE TABLE vaults (
    tenant TEXT NOT NULL, conversation TEXT NOT NULL, patient_ref TEXT NOT NULL,
    body BLOB NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, conversation)
);
CREATE TABLE users (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, username TEXT NOT NULL, role TEXT NOT NULL,
    password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (tenant, username)
);
"#,
    r#"
CREATE TABLE user_security (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    totp_secret BLOB, totp_last_step INTEGER,
    failures INTEGER NOT NULL DEFAULT 0, last_failure_at INTEGER, locked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL,
    auth_method TEXT NOT NULL, secret_hash TEXT, jwks TEXT, redirect_uris TEXT NOT NULL,
    scopes TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL
);
CREATE TABLE refresh_families (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, subject TEXT NOT NULL, client_id TEXT NOT NULL,
    role TEXT NOT NULL, scope TEXT NOT NULL, created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    revoked_at INTEGER, revoked_reason TEXT
);
CREATE TABLE refresh_tokens (
    hash TEXT PRIMARY KEY, family TEXT NOT NULL REFERENCES refresh_families (id),
    generation INTEGER NOT NULL, created_at INTEGER NOT NULL, rotated_at INTEGER,
    UNIQUE (family, generation)
);
CREATE TABLE oauth_codes (
    hash TEXT PRIMARY KEY, body TEXT NOT NULL, expires_at INTEGER NOT NULL,
    used_at INTEGER, family TEXT
);
CREATE TABLE oauth_assertion_jtis (
    client_id TEXT NOT NULL, jti TEXT NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE TABLE revoked_access_tokens (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
"#,
    r#"
CREATE TABLE break_glass (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,
    patient_ref TEXT NOT NULL, reason BLOB NOT NULL, created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX break_glass_by_user ON break_glass (tenant, user_id, patient_ref, expires_at);
CREATE INDEX break_glass_by_time ON break_glass (tenant, created_at);
"#,
    r#"
CREATE TABLE slots (
    tenant TEXT NOT NULL, id TEXT NOT NULL, start TEXT NOT NULL, end TEXT NOT NULL,
    service TEXT NOT NULL, status TEXT NOT NULL, patient_ref TEXT,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX slots_by_start ON slots (tenant, status, start);
"#,
    r#"
CREATE TABLE incidents (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, rule TEXT NOT NULL, subject TEXT NOT NULL,
    severity TEXT NOT NULL, status TEXT NOT NULL, summary TEXT NOT NULL,
    opened_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, count INTEGER NOT NULL,
    acknowledged_by TEXT, acknowledged_at INTEGER
);
CREATE INDEX incidents_by_subject ON incidents (tenant, rule, subject, status);
CREATE INDEX incidents_by_time ON incidents (tenant, opened_at);
CREATE TABLE incident_patients (
    incident_id TEXT NOT NULL REFERENCES incidents (id), patient_ref TEXT NOT NULL,
    PRIMARY KEY (incident_id, patient_ref)
);
"#,
];

/// A shared SQLite connection. SQLite serialises writers anyway; one connection behind a mutex
/// keeps the embedded default simple and correct.
#[derive(Clone)]
pub struct Database {
    conn: Arc<Mutex<Connection>>,
}

impl Database {
    /// Opens or creates the database, applies its settings and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted and overwritten content (destroyed keys above all) is zeroed, not left in
        // free space inside the page.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        migrate(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Locks the connection for one operation.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The current time in Unix seconds.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        drop(Database::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Database::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::SchemaTooNew { found: 99, .. }));
    }

    #[test]
    fn reopening_does_not_migrate_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        drop(Database::open(&path).unwrap());
        assert!(Database::open(&path).is_ok());
    }
}
