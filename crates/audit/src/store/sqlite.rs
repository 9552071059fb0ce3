//! The log in its own SQLite file.
//!
//! The file is separate from the application's so the application's credentials cannot rewrite
//! it. Triggers refuse `UPDATE` and `DELETE` on entries, except retention's clearing of the bodies
//! of entries below a recorded prune point: that stops mistakes, not an attacker with the file,
//! which is what the hashes and signed checkpoints are for.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};

use super::{NewRow, Query, Reader, RowRef, SqlParam, Writer, query_sql, to_hash, to_i64, to_u64};
use crate::AuditError;
use crate::merkle::Hash;

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// WAL pages written before the committer copies them back into the database file. Each commit
/// rewrites the pages its entries touched (the search indexes' pages fall all over the file), so
/// checkpointing rarely lets one copy stand for many commits' versions of the same page.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 16_384;

/// The writer's page cache, in KiB: enough to keep the search indexes' hot pages (one per
/// patient and per user being logged) between commits, instead of reading them back each time.
const WRITER_CACHE_KIB: i64 = 16 * 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS audit_log (
    seq         INTEGER PRIMARY KEY,
    prev_hash   BLOB NOT NULL,
    leaf_hash   BLOB NOT NULL,
    chain_hash  BLOB NOT NULL,
    time        INTEGER NOT NULL,
    body        BLOB,
    user_id     TEXT,
    action      TEXT,
    patient_ref TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS audit_log_patient ON audit_log (patient_ref, seq)
    WHERE patient_ref IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_log_user ON audit_log (user_id, seq);
CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log (time);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    size INTEGER NOT NULL,
    note TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS audit_prunes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    below_seq  INTEGER NOT NULL,
    pruned_at  INTEGER NOT NULL
) STRICT;
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (
    NEW.body IS NULL AND NEW.user_id IS NULL AND NEW.action IS NULL AND NEW.patient_ref IS NULL
    AND NEW.seq = OLD.seq AND NEW.prev_hash = OLD.prev_hash AND NEW.leaf_hash = OLD.leaf_hash
    AND NEW.chain_hash = OLD.chain_hash AND NEW.time = OLD.time
    AND OLD.seq < (SELECT COALESCE(MAX(below_seq), 0) FROM audit_prunes)
)
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
";

const SELECT_ROW: &str =
    "SELECT seq, prev_hash, leaf_hash, chain_hash, time, body, user_id, action, patient_ref
     FROM audit_log";

/// Opens (creating if needed) the audit database with durable settings and the schema.
pub(crate) fn open(path: &Path) -> Result<Connection, AuditError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL keeps readers off the writer's back; FULL syncs the WAL on every commit, so an
    // acknowledged append survives power loss.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Verification reads every entry once; mapping the file spares a copy per page.
    conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    let old_format: bool = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_entries'",
            [],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    if old_format {
        return Err(AuditError::OldFormat);
    }
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

/// Reads a metadata value, storing `default` first if the key is absent.
pub(crate) fn meta_or_insert(
    conn: &Connection,
    key: &str,
    default: &str,
) -> Result<String, AuditError> {
    conn.execute(
        "INSERT INTO audit_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
        params![key, default],
    )?;
    Ok(conn.query_row(
        "SELECT value FROM audit_meta WHERE key = ?1",
        [key],
        |row| row.get(0),
    )?)
}

/// The committer's connection.
pub(crate) struct SqliteWriter {
    conn: Connection,
}

impl SqliteWriter {
    pub(crate) fn open(path: &Path) -> Result<Self, AuditError> {
        let conn = open(path)?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        Ok(Self { conn })
    }
}

impl Writer for SqliteWriter {
    fn begin(&mut self) -> Result<Option<(u64, Hash)>, AuditError> {
        // IMMEDIATE takes the write lock now, so another process cannot append in between.
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let row: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT seq, chain_hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        row.map(|(seq, chain)| {
            let seq = to_u64(seq);
            Ok((seq, to_hash(seq, &chain)?))
        })
        .transpose()
    }

    fn reload(&mut self, size: u64) -> Result<(Vec<Hash>, u64), AuditError> {
        let leaves = leaf_hashes(&self.conn, size)?;
        let last: Option<i64> =
            self.conn
                .query_row("SELECT MAX(size) FROM audit_checkpoints", [], |row| {
                    row.get(0)
                })?;
        Ok((leaves, last.map_or(0, to_u64)))
    }

    fn insert(&mut self, rows: &[NewRow], checkpoints: &[(u64, String)]) -> Result<(), AuditError> {
        let mut statement = self.conn.prepare_cached(
            "INSERT INTO audit_log
             (seq, prev_hash, leaf_hash, chain_hash, time, body, user_id, action, patient_ref)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for row in rows {
            statement.execute(params![
                to_i64(row.seq),
                row.prev_hash,
                row.leaf_hash,
                row.chain_hash,
                row.time,
                row.body,
                row.user_id,
                row.action,
                row.patient_ref,
            ])?;
        }
        let mut statement = self
            .conn
            .prepare_cached("INSERT INTO audit_checkpoints (size, note) VALUES (?1, ?2)")?;
        for (size, note) in checkpoints {
            statement.execute(params![to_i64(*size), note])?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), AuditError> {
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    fn rollback(&mut self) {
        // Fails only when no transaction is open, which is what rolling back wants anyway.
        let _ = self.conn.execute_batch("ROLLBACK");
    }
}

/// The stored leaf hashes of entries `0..size`, in order.
fn leaf_hashes(conn: &Connection, size: u64) -> Result<Vec<Hash>, AuditError> {
    let mut statement = conn.prepare_cached(
        "SELECT seq, leaf_hash FROM audit_log WHERE seq >= 0 AND seq < ?1 ORDER BY seq",
    )?;
    let mut rows = statement.query([to_i64(size)])?;
    let mut leaves = Vec::new();
    while let Some(row) = rows.next()? {
        let seq = to_u64(row.get(0)?);
        leaves.push(to_hash(seq, row.get_ref(1)?.as_blob()?)?);
    }
    Ok(leaves)
}

fn visit_row(
    row: &rusqlite::Row<'_>,
    visit: &mut dyn FnMut(RowRef<'_>) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    visit(RowRef {
        seq: row.get(0)?,
        prev_hash: row.get_ref(1)?.as_blob()?,
        leaf_hash: row.get_ref(2)?.as_blob()?,
        chain_hash: row.get_ref(3)?.as_blob()?,
        time: row.get(4)?,
        body: row.get_ref(5)?.as_blob_or_null()?,
        user_id: row.get_ref(6)?.as_str_or_null()?,
        action: row.get_ref(7)?.as_str_or_null()?,
        patient_ref: row.get_ref(8)?.as_str_or_null()?,
    })
}

impl Reader for Connection {
    fn len(&mut self) -> Result<u64, AuditError> {
        let last: Option<i64> =
            self.query_row("SELECT MAX(seq) FROM audit_log", [], |row| row.get(0))?;
        Ok(last.map_or(0, |seq| to_u64(seq).saturating_add(1)))
    }

    fn count(&mut self) -> Result<u64, AuditError> {
        let count: i64 = self.query_row("SELECT COUNT(*) FROM audit_log", [], |row| row.get(0))?;
        Ok(to_u64(count))
    }

    fn scan(
        &mut self,
        from: u64,
        limit: u64,
        visit: &mut dyn FnMut(RowRef<'_>) -> Result<(), AuditError>,
    ) -> Result<u64, AuditError> {
        let mut statement = self.prepare_cached(&format!(
            "{SELECT_ROW} WHERE seq >= ?1 ORDER BY seq LIMIT ?2"
        ))?;
        let mut rows = statement.query([to_i64(from), to_i64(limit)])?;
        let mut visited = 0;
        while let Some(row) = rows.next()? {
            visit_row(row, visit)?;
            visited += 1;
        }
        Ok(visited)
    }

    fn search(
        &mut self,
        query: &Query,
        visit: &mut dyn FnMut(RowRef<'_>) -> Result<(), AuditError>,
    ) -> Result<(), AuditError> {
        let (condition, sql_params) = query_sql(query);
        let sql = format!(
            "{SELECT_ROW} WHERE {condition} ORDER BY seq LIMIT {}",
            to_i64(query.limit)
        );
        let mut statement = self.prepare(&sql)?;
        let values: Vec<&dyn ToSql> = sql_params
            .iter()
            .map(|param| match param {
                SqlParam::Int(value) => value as &dyn ToSql,
                SqlParam::Text(value) => value as &dyn ToSql,
            })
            .collect();
        let mut rows = statement.query(params_from_iter(values))?;
        while let Some(row) = rows.next()? {
            visit_row(row, visit)?;
        }
        Ok(())
    }

    fn checkpoints(&mut self) -> Result<Vec<(i64, String)>, AuditError> {
        let mut statement =
            self.prepare_cached("SELECT id, note FROM audit_checkpoints ORDER BY id")?;
        let notes = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(notes.collect::<Result<_, _>>()?)
    }

    fn leaf_hashes(&mut self, size: u64) -> Result<Vec<Hash>, AuditError> {
        leaf_hashes(self, size)
    }

    fn pruned_below(&mut self) -> Result<u64, AuditError> {
        let below: Option<i64> =
            self.query_row("SELECT MAX(below_seq) FROM audit_prunes", [], |row| {
                row.get(0)
            })?;
        Ok(below.map_or(0, to_u64))
    }

    fn last_checkpoint_size(&mut self) -> Result<u64, AuditError> {
        let size: Option<i64> =
            self.query_row("SELECT MAX(size) FROM audit_checkpoints", [], |row| {
                row.get(0)
            })?;
        Ok(size.map_or(0, to_u64))
    }

    fn first_at_or_after(&mut self, time: i64) -> Result<u64, AuditError> {
        let seq: Option<i64> = self.query_row(
            "SELECT MIN(seq) FROM audit_log WHERE time >= ?1",
            [time],
            |row| row.get(0),
        )?;
        match seq {
            Some(seq) => Ok(to_u64(seq)),
            None => self.len(),
        }
    }
}

/// Clears the bodies and search columns of entries below `below_seq`, recording the prune
/// point first so the triggers allow it. Returns how many entries were cleared.
pub(crate) fn prune(conn: &mut Connection, below_seq: u64, now: i64) -> Result<u64, AuditError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO audit_prunes (below_seq, pruned_at) VALUES (?1, ?2)",
        params![to_i64(below_seq), now],
    )?;
    let cleared = tx.execute(
        "UPDATE audit_log SET body = NULL, user_id = NULL, action = NULL, patient_ref = NULL
         WHERE seq < ?1 AND body IS NOT NULL",
        [to_i64(below_seq)],
    )?;
    tx.commit()?;
    Ok(cleared as u64)
}
