//! The audit database's tables, pragmas and row helpers.
//!
//! The log keeps its own SQLite file so the application's database credentials cannot rewrite
//! it. Triggers refuse `UPDATE` and `DELETE` on entries: that stops mistakes, not an attacker
//! with the file, which is what the hashes and signed checkpoints are for.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::AuditError;
use crate::merkle::Hash;

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS audit_entries (
    seq        INTEGER PRIMARY KEY,
    body       BLOB NOT NULL,
    prev_hash  BLOB NOT NULL,
    leaf_hash  BLOB NOT NULL,
    chain_hash BLOB NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    size INTEGER NOT NULL,
    note TEXT NOT NULL
) STRICT;
CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
";

/// Opens (creating if needed) the audit database with durable settings and the schema.
pub(crate) fn open(path: &std::path::Path) -> Result<Connection, AuditError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL keeps readers off the writer's back; FULL syncs the WAL on every commit, so an
    // acknowledged append survives power loss.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
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

/// The number of entries: one past the highest sequence number.
pub(crate) fn len(conn: &Connection) -> Result<u64, AuditError> {
    let last: Option<i64> =
        conn.query_row("SELECT MAX(seq) FROM audit_entries", [], |row| row.get(0))?;
    Ok(last.map_or(0, |seq| to_u64(seq).saturating_add(1)))
}

/// The chain hash of the last entry, with its sequence number.
pub(crate) fn last_chain(conn: &Connection) -> Result<Option<(u64, Hash)>, AuditError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT seq, chain_hash FROM audit_entries ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    row.map(|(seq, chain)| {
        let seq = to_u64(seq);
        Ok((seq, to_hash(seq, chain)?))
    })
    .transpose()
}

/// The stored leaf hashes of entries `0..size`, in order.
pub(crate) fn leaf_hashes(conn: &Connection, size: u64) -> Result<Vec<Hash>, AuditError> {
    let mut statement =
        conn.prepare("SELECT seq, leaf_hash FROM audit_entries WHERE seq < ?1 ORDER BY seq")?;
    let rows = statement.query_map([to_i64(size)], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let mut leaves = Vec::new();
    for row in rows {
        let (seq, leaf): (i64, Vec<u8>) = row?;
        leaves.push(to_hash(to_u64(seq), leaf)?);
    }
    Ok(leaves)
}

/// A stored hash column as a fixed-size array.
pub(crate) fn to_hash(seq: u64, bytes: Vec<u8>) -> Result<Hash, AuditError> {
    bytes.try_into().map_err(|_| AuditError::Corrupt {
        seq,
        reason: "a hash is not 32 bytes",
    })
}

/// SQLite integers are signed; sequence numbers and sizes never reach `i64::MAX`.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored sequence number; a negative one (only possible by tampering) maps to `u64::MAX`.
pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}
