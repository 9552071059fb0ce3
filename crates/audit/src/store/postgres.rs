//! The log in its own PostgreSQL schema, shared by any number of gateway replicas.
//!
//! The schema is created by its owner ([`create_schema`]); the application connects as a role
//! granted only `USAGE` on the schema and `SELECT` and `INSERT` on its tables, so nothing the
//! application runs can update, delete or truncate entries. Appenders in different processes
//! are serialised by a transaction-scoped advisory lock, which needs no privilege.
//!
//! The synchronous `postgres` client runs its own small runtime and must not be used, created
//! or dropped on a thread that is driving an async runtime. Every call therefore happens on a
//! thread of ours: the committer's, or a short-lived thread per read.

use postgres::types::ToSql;
use postgres::{Client, NoTls, Row};

pub use super::postgres_copy::{export_to_sqlite, import_from_sqlite};

use super::{NewRow, Query, Reader, RowRef, SqlParam, Writer, query_sql, to_hash, to_i64, to_u64};
use crate::AuditError;
use crate::merkle::Hash;

/// The advisory lock key that serialises appenders ("phigate audit" in ASCII, folded).
const APPEND_LOCK: i64 = 0x7068_6967_6175_6474;

const SELECT_ROW: &str =
    "SELECT seq, prev_hash, leaf_hash, chain_hash, time, body, user_id, action, patient_ref
     FROM audit_log";

/// Checks that `schema` is a plain lowercase SQL identifier, safe to splice into statements.
pub(crate) fn check_schema(schema: &str) -> Result<(), AuditError> {
    let mut chars = schema.chars();
    let valid = schema.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(AuditError::InvalidSchema)
    }
}

fn db(err: postgres::Error) -> AuditError {
    AuditError::Postgres(err)
}

/// Connects to `url` with `schema` first on the search path.
pub(crate) fn connect(url: &str, schema: &str) -> Result<Client, AuditError> {
    check_schema(schema)?;
    let mut client = Client::connect(url, NoTls).map_err(db)?;
    client
        .batch_execute(&format!("SET search_path TO {schema}"))
        .map_err(db)?;
    Ok(client)
}

/// Creates the log's schema and tables as their owner (the role of `client`), and lets
/// `app_role` use them with `SELECT` and `INSERT` only.
pub fn create_schema(client: &mut Client, schema: &str, app_role: &str) -> Result<(), AuditError> {
    check_schema(schema)?;
    check_schema(app_role)?;
    client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {schema}.audit_meta (
                 key text PRIMARY KEY, value text NOT NULL);
             CREATE TABLE IF NOT EXISTS {schema}.audit_log (
                 seq bigint PRIMARY KEY, prev_hash bytea NOT NULL, leaf_hash bytea NOT NULL,
                 chain_hash bytea NOT NULL, time bigint NOT NULL, body bytea, user_id text,
                 action text, patient_ref text);
             CREATE INDEX IF NOT EXISTS audit_log_patient ON {schema}.audit_log (patient_ref, seq)
                 WHERE patient_ref IS NOT NULL;
             CREATE INDEX IF NOT EXISTS audit_log_user ON {schema}.audit_log (user_id, seq);
             CREATE INDEX IF NOT EXISTS audit_log_time ON {schema}.audit_log (time);
             CREATE TABLE IF NOT EXISTS {schema}.audit_checkpoints (
                 id bigserial PRIMARY KEY, size bigint NOT NULL, note text NOT NULL);
             CREATE TABLE IF NOT EXISTS {schema}.audit_prunes (
                 id bigserial PRIMARY KEY, below_seq bigint NOT NULL, pruned_at bigint NOT NULL);
             REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM PUBLIC;
             GRANT USAGE ON SCHEMA {schema} TO {app_role};
             GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {schema} TO {app_role};
             REVOKE INSERT ON {schema}.audit_prunes FROM {app_role};
             GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {app_role};"
        ))
        .map_err(db)
}

/// [`create_schema`] over a new connection to `owner_url`, as the role that will own the
/// schema. `app_role` must exist already (the database administrator creates it, with its
/// credentials).
pub fn create_schema_at(owner_url: &str, schema: &str, app_role: &str) -> Result<(), AuditError> {
    check_schema(schema)?;
    check_schema(app_role)?;
    let mut client = Client::connect(owner_url, NoTls).map_err(db)?;
    create_schema(&mut client, schema, app_role)
}

/// Retention, run as a role that may update the log (the schema's owner; the application role
/// may not): records the prune point, then clears the bodies and search columns of entries
/// below `below_seq`, in one transaction. Returns how many entries were cleared.
pub fn prune(
    client: &mut Client,
    schema: &str,
    below_seq: u64,
    now: i64,
) -> Result<u64, AuditError> {
    check_schema(schema)?;
    let mut tx = client.transaction().map_err(db)?;
    tx.execute(
        &format!("INSERT INTO {schema}.audit_prunes (below_seq, pruned_at) VALUES ($1, $2)"),
        &[&to_i64(below_seq), &now],
    )
    .map_err(db)?;
    let cleared = tx
        .execute(
            &format!(
                "UPDATE {schema}.audit_log
                 SET body = NULL, user_id = NULL, action = NULL, patient_ref = NULL
                 WHERE seq < $1 AND body IS NOT NULL"
            ),
            &[&to_i64(below_seq)],
        )
        .map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(cleared)
}

/// Reads a metadata value, storing `default` first if the key is absent.
pub(crate) fn meta_or_insert(
    client: &mut Client,
    key: &str,
    default: &str,
) -> Result<String, AuditError> {
    client
        .execute(
            "INSERT INTO audit_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&key, &default],
        )
        .map_err(db)?;
    let row = client
        .query_one("SELECT value FROM audit_meta WHERE key = $1", &[&key])
        .map_err(db)?;
    Ok(row.get(0))
}

/// The committer's connection.
pub(crate) struct PgWriter {
    pub(crate) client: Client,
}

impl Writer for PgWriter {
    fn begin(&mut self) -> Result<Option<(u64, Hash)>, AuditError> {
        self.client.batch_execute("BEGIN").map_err(db)?;
        self.client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK])
            .map_err(db)?;
        let row = self
            .client
            .query_opt(
                "SELECT seq, chain_hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                &[],
            )
            .map_err(db)?;
        row.map(|row| {
            let seq = to_u64(row.get(0));
            let chain: &[u8] = row.get(1);
            Ok((seq, to_hash(seq, chain)?))
        })
        .transpose()
    }

    fn reload(&mut self, size: u64) -> Result<(Vec<Hash>, u64), AuditError> {
        let leaves = leaf_hashes(&mut self.client, size)?;
        let last: Option<i64> = self
            .client
            .query_one("SELECT MAX(size) FROM audit_checkpoints", &[])
            .map_err(db)?
            .get(0);
        Ok((leaves, last.map_or(0, to_u64)))
    }

    fn insert(&mut self, rows: &[NewRow], checkpoints: &[(u64, String)]) -> Result<(), AuditError> {
        if !rows.is_empty() {
            let seqs: Vec<i64> = rows.iter().map(|r| to_i64(r.seq)).collect();
            let prevs: Vec<&[u8]> = rows.iter().map(|r| &r.prev_hash[..]).collect();
            let leaves: Vec<&[u8]> = rows.iter().map(|r| &r.leaf_hash[..]).collect();
            let chains: Vec<&[u8]> = rows.iter().map(|r| &r.chain_hash[..]).collect();
            let times: Vec<i64> = rows.iter().map(|r| r.time).collect();
            let bodies: Vec<&[u8]> = rows.iter().map(|r| &r.body[..]).collect();
            let users: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
            let actions: Vec<&str> = rows.iter().map(|r| r.action).collect();
            let patients: Vec<Option<&str>> =
                rows.iter().map(|r| r.patient_ref.as_deref()).collect();
            self.client
                .execute(
                    "INSERT INTO audit_log
                     (seq, prev_hash, leaf_hash, chain_hash, time, body, user_id, action,
                      patient_ref)
                     SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bytea[],
                                          $5::bigint[], $6::bytea[], $7::text[], $8::text[],
                                          $9::text[])",
                    &[
                        &seqs, &prevs, &leaves, &chains, &times, &bodies, &users, &actions,
                        &patients,
                    ],
                )
                .map_err(db)?;
        }
        for (size, note) in checkpoints {
            self.client
                .execute(
                    "INSERT INTO audit_checkpoints (size, note) VALUES ($1, $2)",
                    &[&to_i64(*size), note],
                )
                .map_err(db)?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), AuditError> {
        // With synchronous_commit on (the default), COMMIT returns once the WAL is flushed.
        self.client.batch_execute("COMMIT").map_err(db)
    }

    fn rollback(&mut self) {
        let _ = self.client.batch_execute("ROLLBACK");
    }
}

fn leaf_hashes(client: &mut Client, size: u64) -> Result<Vec<Hash>, AuditError> {
    let rows = client
        .query(
            "SELECT seq, leaf_hash FROM audit_log WHERE seq >= 0 AND seq < $1 ORDER BY seq",
            &[&to_i64(size)],
        )
        .map_err(db)?;
    rows.iter()
        .map(|row| to_hash(to_u64(row.get(0)), row.get::<_, &[u8]>(1)))
        .collect()
}

fn visit_row(
    row: &Row,
    visit: &mut dyn FnMut(RowRef<'_>) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    visit(RowRef {
        seq: row.get(0),
        prev_hash: row.get(1),
        leaf_hash: row.get(2),
        chain_hash: row.get(3),
        time: row.get(4),
        body: row.get(5),
        user_id: row.get(6),
        action: row.get(7),
        patient_ref: row.get(8),
    })
}

impl Reader for Client {
    fn len(&mut self) -> Result<u64, AuditError> {
        let last: Option<i64> = self
            .query_one("SELECT MAX(seq) FROM audit_log", &[])
            .map_err(db)?
            .get(0);
        Ok(last.map_or(0, |seq| to_u64(seq).saturating_add(1)))
    }

    fn count(&mut self) -> Result<u64, AuditError> {
        let count: i64 = self
            .query_one("SELECT COUNT(*) FROM audit_log", &[])
            .map_err(db)?
            .get(0);
        Ok(to_u64(count))
    }

    fn scan(
        &mut self,
        from: u64,
        limit: u64,
        visit: &mut dyn FnMut(RowRef<'_>) -> Result<(), AuditError>,
    ) -> Result<u64, AuditError> {
        let rows = self
            .query(
                &format!("{SELECT_ROW} WHERE seq >= $1 ORDER BY seq LIMIT $2"),
                &[&to_i64(from), &to_i64(limit)],
            )
            .map_err(db)?;
        for row in &rows {
            visit_row(row, visit)?;
        }
        Ok(rows.len() as u64)
    }

    fn search(
        &mut self,
        query: &Query,
        visit: &mut dyn FnMut(RowRef<'_>) -> Result<(), AuditError>,
    ) -> Result<(), AuditError> {
        let (condition, params) = query_sql(query);
        let sql = format!(
            "{SELECT_ROW} WHERE {condition} ORDER BY seq LIMIT {}",
            to_i64(query.limit)
        );
        let values: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|param| match param {
                SqlParam::Int(value) => value as &(dyn ToSql + Sync),
                SqlParam::Text(value) => value as &(dyn ToSql + Sync),
            })
            .collect();
        for row in &self.query(&sql, &values).map_err(db)? {
            visit_row(row, visit)?;
        }
        Ok(())
    }

    fn checkpoints(&mut self) -> Result<Vec<(i64, String)>, AuditError> {
        let rows = self
            .query("SELECT id, note FROM audit_checkpoints ORDER BY id", &[])
            .map_err(db)?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    fn leaf_hashes(&mut self, size: u64) -> Result<Vec<Hash>, AuditError> {
        leaf_hashes(self, size)
    }

    fn pruned_below(&mut self) -> Result<u64, AuditError> {
        let below: Option<i64> = self
            .query_one("SELECT MAX(below_seq) FROM audit_prunes", &[])
            .map_err(db)?
            .get(0);
        Ok(below.map_or(0, to_u64))
    }

    fn last_checkpoint_size(&mut self) -> Result<u64, AuditError> {
        let size: Option<i64> = self
            .query_one("SELECT MAX(size) FROM audit_checkpoints", &[])
            .map_err(db)?
            .get(0);
        Ok(size.map_or(0, to_u64))
    }

    fn first_at_or_after(&mut self, time: i64) -> Result<u64, AuditError> {
        let seq: Option<i64> = self
            .query_one("SELECT MIN(seq) FROM audit_log WHERE time >= $1", &[&time])
            .map_err(db)?
            .get(0);
        match seq {
            Some(seq) => Ok(to_u64(seq)),
            None => self.len(),
        }
    }
}
