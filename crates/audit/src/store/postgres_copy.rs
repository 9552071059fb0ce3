//! Copying a log kept in PostgreSQL to an SQLite file and back, for `phigate backup` and
//! `phigate restore`. Every column is copied as stored (hashes, times, bodies, checkpoints and
//! prune points), so the copy verifies exactly as the original did under the same signing key.
//! The SQLite file has the layout of a log kept in SQLite, so one backup format serves both.

use std::path::Path;

use postgres::IsolationLevel;
use rusqlite::{Connection, OpenFlags, params};

use super::postgres::connect;
use super::sqlite;
use crate::AuditError;

/// Entries read per query, so a long log never sits in memory whole.
const BATCH: i64 = 1000;

const LOG_COLUMNS: &str =
    "seq, prev_hash, leaf_hash, chain_hash, time, body, user_id, action, patient_ref";

fn db(err: postgres::Error) -> AuditError {
    AuditError::Postgres(err)
}

/// Runs `f` on a thread of ours: the synchronous client must not run inside an async runtime.
fn off_runtime<T: Send>(f: impl FnOnce() -> Result<T, AuditError> + Send) -> Result<T, AuditError> {
    std::thread::scope(|scope| {
        scope
            .spawn(f)
            .join()
            .unwrap_or(Err(AuditError::CommitterStopped))
    })
}

/// Writes the log in `schema` at `url` to a new SQLite log file at `dest`, reading it in one
/// `REPEATABLE READ READ ONLY` snapshot while appenders carry on. Returns the entries copied.
pub fn export_to_sqlite(url: &str, schema: &str, dest: &Path) -> Result<u64, AuditError> {
    off_runtime(|| {
        let mut client = connect(url, schema)?;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(db)?;
        let mut conn = sqlite::open(dest)?;
        let out = conn.transaction()?;
        for row in tx
            .query("SELECT key, value FROM audit_meta ORDER BY key", &[])
            .map_err(db)?
        {
            let (key, value): (String, String) = (row.get(0), row.get(1));
            out.execute(
                "INSERT INTO audit_meta (key, value) VALUES (?1, ?2)",
                params![key, value],
            )?;
        }
        let entries = export_log(&mut tx, &out)?;
        for row in tx
            .query(
                "SELECT id, size, note FROM audit_checkpoints ORDER BY id",
                &[],
            )
            .map_err(db)?
        {
            let (id, size, note): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
            out.execute(
                "INSERT INTO audit_checkpoints (id, size, note) VALUES (?1, ?2, ?3)",
                params![id, size, note],
            )?;
        }
        for row in tx
            .query(
                "SELECT id, below_seq, pruned_at FROM audit_prunes ORDER BY id",
                &[],
            )
            .map_err(db)?
        {
            let (id, below, at): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
            out.execute(
                "INSERT INTO audit_prunes (id, below_seq, pruned_at) VALUES (?1, ?2, ?3)",
                params![id, below, at],
            )?;
        }
        out.commit()?;
        tx.commit().map_err(db)?;
        // One self-contained file: no write-ahead log beside it.
        conn.pragma_update(None, "journal_mode", "DELETE")?;
        Ok(entries)
    })
}

fn export_log(tx: &mut postgres::Transaction<'_>, out: &Connection) -> Result<u64, AuditError> {
    let select =
        format!("SELECT {LOG_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT {BATCH}");
    let insert = format!(
        "INSERT INTO audit_log ({LOG_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    );
    let mut after = -1i64;
    let mut copied = 0u64;
    loop {
        let rows = tx.query(&select, &[&after]).map_err(db)?;
        let Some(last) = rows.last() else {
            return Ok(copied);
        };
        after = last.get(0);
        for row in &rows {
            out.execute(
                &insert,
                params![
                    row.get::<_, i64>(0),
                    row.get::<_, Vec<u8>>(1),
                    row.get::<_, Vec<u8>>(2),
                    row.get::<_, Vec<u8>>(3),
                    row.get::<_, i64>(4),
                    row.get::<_, Option<Vec<u8>>>(5),
                    row.get::<_, Option<String>>(6),
                    row.get::<_, Option<String>>(7),
                    row.get::<_, Option<String>>(8),
                ],
            )?;
            copied += 1;
        }
    }
}

/// Loads an SQLite log file (from [`export_to_sqlite`] or an SQLite deployment's backup) into
/// the log in `schema` at `url`, which must be empty, in one transaction. Connects as the
/// application role, which may insert; a backup holding prune points needs the schema's
/// owner, as pruning does. Returns the entries loaded.
pub fn import_from_sqlite(url: &str, schema: &str, source: &Path) -> Result<u64, AuditError> {
    let conn = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let conn = std::sync::Mutex::new(conn);
    off_runtime(|| {
        let conn = conn.lock().map_err(|_| AuditError::CommitterStopped)?;
        let mut client = connect(url, schema)?;
        let mut tx = client.transaction().map_err(db)?;
        let used: i64 = tx
            .query_one(
                "SELECT (SELECT COUNT(*) FROM audit_log) + (SELECT COUNT(*) FROM audit_meta)
                      + (SELECT COUNT(*) FROM audit_checkpoints)",
                &[],
            )
            .map_err(db)?
            .get(0);
        if used > 0 {
            return Err(AuditError::NotEmpty);
        }
        let mut stmt = conn.prepare("SELECT key, value FROM audit_meta ORDER BY key")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (key, value): (String, String) = (row.get(0)?, row.get(1)?);
            tx.execute(
                "INSERT INTO audit_meta (key, value) VALUES ($1, $2)",
                &[&key, &value],
            )
            .map_err(db)?;
        }
        let entries = import_log(&conn, &mut tx)?;
        // Checkpoints take fresh ids in their order; nothing refers to the ids.
        let mut stmt = conn.prepare("SELECT size, note FROM audit_checkpoints ORDER BY id")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (size, note): (i64, String) = (row.get(0)?, row.get(1)?);
            tx.execute(
                "INSERT INTO audit_checkpoints (size, note) VALUES ($1, $2)",
                &[&size, &note],
            )
            .map_err(db)?;
        }
        let mut stmt = conn.prepare("SELECT below_seq, pruned_at FROM audit_prunes ORDER BY id")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (below, at): (i64, i64) = (row.get(0)?, row.get(1)?);
            tx.execute(
                "INSERT INTO audit_prunes (below_seq, pruned_at) VALUES ($1, $2)",
                &[&below, &at],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(entries)
    })
}

fn import_log(conn: &Connection, tx: &mut postgres::Transaction<'_>) -> Result<u64, AuditError> {
    let insert = format!(
        "INSERT INTO audit_log ({LOG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    );
    let insert = tx.prepare(&insert).map_err(db)?;
    let mut stmt = conn.prepare(&format!("SELECT {LOG_COLUMNS} FROM audit_log ORDER BY seq"))?;
    let mut rows = stmt.query([])?;
    let mut copied = 0u64;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let (prev, leaf, chain): (Vec<u8>, Vec<u8>, Vec<u8>) =
            (row.get(1)?, row.get(2)?, row.get(3)?);
        let time: i64 = row.get(4)?;
        let body: Option<Vec<u8>> = row.get(5)?;
        let (user, action, patient): (Option<String>, Option<String>, Option<String>) =
            (row.get(6)?, row.get(7)?, row.get(8)?);
        tx.execute(
            &insert,
            &[
                &seq, &prev, &leaf, &chain, &time, &body, &user, &action, &patient,
            ],
        )
        .map_err(db)?;
        copied += 1;
    }
    Ok(copied)
}
