//! The schema, written once in a portable dialect and adapted to each backend.
//!
//! The portable dialect is the SQL both SQLite and PostgreSQL accept, with three conventions:
//!
//! - `INTEGER` means a 64-bit integer (`BIGINT` on PostgreSQL) and `BLOB` means bytes (`BYTEA`).
//!   Booleans are `INTEGER` columns holding 0 or 1.
//! - `{rowid}` at the start of a table's columns marks a table whose rows are read in insertion
//!   order or in batches by `rowid`. SQLite has that column implicitly; PostgreSQL gets an
//!   identity column of that name.
//! - Identifiers that are keywords somewhere (`end`) are double-quoted.
//!
//! Each entry moves the schema one version forward; its index plus one is the version it creates.
//! An entry, once released, is never edited: a change is a new entry.

/// The migrations, in order.
pub(crate) const MIGRATIONS: &[&str] = &[
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
    {rowid} tenant TEXT NOT NULL, patient_ref TEXT NOT NULL, resource_type TEXT NOT NULL,
    resource_ref TEXT NOT NULL, body BLOB NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, patient_ref, resource_type, resource_ref)
);
CREATE TABLE drafts (
    {rowid} id TEXT PRIMARY KEY, tenant TEXT NOT NULL, patient_ref TEXT NOT NULL,
    task TEXT NOT NULL, status TEXT NOT NULL, body BLOB NOT NULL, created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL, reviewed_by TEXT, reviewed_at INTEGER
);
CREATE INDEX drafts_by_status ON drafts (tenant, status, created_at);
CREATE TABLE vaults (
    {rowid} tenant TEXT NOT NULL, conversation TEXT NOT NULL, patient_ref TEXT NOT NULL,
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
    tenant TEXT NOT NULL, id TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT NOT NULL,
    service TEXT NOT NULL, status TEXT NOT NULL, patient_ref TEXT,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX slots_by_start ON slots (tenant, status, start);
"#,
    r#"
CREATE TABLE rate_buckets (
    bucket TEXT PRIMARY KEY, milli INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
    allowed INTEGER NOT NULL
);
CREATE INDEX rate_buckets_by_age ON rate_buckets (updated_ms);
"#,
    r#"
CREATE INDEX resources_by_ref ON resources (tenant, resource_type, resource_ref);
CREATE INDEX vaults_by_age ON vaults (tenant, updated_at);
CREATE TABLE legal_holds (
    tenant TEXT NOT NULL, patient_ref TEXT NOT NULL, reason BLOB NOT NULL,
    held_by TEXT NOT NULL, held_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, patient_ref)
);
CREATE TABLE tombstones (
    tenant TEXT NOT NULL, patient_ref TEXT NOT NULL, request_id TEXT NOT NULL,
    requested_by TEXT NOT NULL, forgotten_at INTEGER NOT NULL, reimported_at INTEGER,
    PRIMARY KEY (tenant, patient_ref)
);
"#,
    r#"
CREATE TABLE provider_blocks (
    tenant TEXT NOT NULL, provider TEXT NOT NULL, reason TEXT NOT NULL,
    blocked_by TEXT NOT NULL, blocked_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, provider)
);
CREATE TABLE patient_freezes (
    tenant TEXT NOT NULL, patient_ref TEXT NOT NULL, reason TEXT NOT NULL,
    frozen_by TEXT NOT NULL, frozen_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, patient_ref)
);
"#,
    r#"
CREATE TABLE patient_accounts (
    user_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, patient_ref TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
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
    r#"
CREATE TABLE care_team_tenants (tenant TEXT PRIMARY KEY, since INTEGER NOT NULL);
CREATE TABLE care_team (
    tenant TEXT NOT NULL, user_id TEXT NOT NULL, patient_ref TEXT NOT NULL,
    assigned_at INTEGER NOT NULL, PRIMARY KEY (tenant, user_id, patient_ref)
);
"#,
];

/// The backend a migration is adapted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite: the portable text as written, `{rowid}` dropped.
    Sqlite,
    /// PostgreSQL: 64-bit integers, `BYTEA`, and an explicit `rowid` identity column.
    Postgres,
}

/// The migration text for `dialect`.
pub(crate) fn adapt(sql: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => sql.replace("{rowid} ", ""),
        Dialect::Postgres => {
            let typed = replace_words(sql, &[("INTEGER", "BIGINT"), ("BLOB", "BYTEA")]);
            typed.replace(
                "{rowid} ",
                "rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE, ",
            )
        }
    }
}

/// Replaces whole words (outside quotes) by their counterparts.
fn replace_words(sql: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(sql.len() + 64);
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let flush = |word: &mut String, out: &mut String| {
        let replaced = pairs.iter().find(|(from, _)| *from == word.as_str());
        out.push_str(replaced.map_or(word.as_str(), |(_, to)| to));
        word.clear();
    };
    for c in sql.chars() {
        if quote.is_none() && (c.is_ascii_alphanumeric() || c == '_') {
            word.push(c);
            continue;
        }
        flush(&mut word, &mut out);
        match quote {
            Some(q) if q == c => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            _ => {}
        }
        out.push(c);
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_gets_wide_integers_bytes_and_an_explicit_rowid() {
        let sql =
            "CREATE TABLE t ({rowid} a INTEGER, b BLOB, c TEXT DEFAULT 'INTEGER', \"BLOB\" TEXT)";
        assert_eq!(
            adapt(sql, Dialect::Postgres),
            "CREATE TABLE t (rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE, a BIGINT, \
             b BYTEA, c TEXT DEFAULT 'INTEGER', \"BLOB\" TEXT)"
        );
        assert_eq!(
            adapt(sql, Dialect::Sqlite),
            "CREATE TABLE t (a INTEGER, b BLOB, c TEXT DEFAULT 'INTEGER', \"BLOB\" TEXT)"
        );
    }

    #[test]
    fn integer_inside_a_longer_word_is_left_alone() {
        assert_eq!(
            adapt("x INTEGERS, y BLOBS", Dialect::Postgres),
            "x INTEGERS, y BLOBS"
        );
    }
}
