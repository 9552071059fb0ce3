//! Copying a whole store between backends, for `phigate backup` and `phigate restore` of a
//! PostgreSQL deployment: the rows of every table, read in one snapshot and written in one
//! transaction, so the copy is a state the store was in at one moment.
//!
//! The copy is the encrypted store as it is: sealed values stay sealed, wrapped keys stay
//! wrapped, and nothing is decrypted. The table list is the schema's own (read from an SQLite
//! database this build created), so a table added by a later migration is copied too.

use std::path::Path;

use crate::db::{Sql, Value};
use crate::{BackendKind, Database, StoreError, params};

/// Rows read per query, so a large table never sits in memory whole.
const BATCH: i64 = 1000;

/// One table of the schema: its name and the columns both backends share (not PostgreSQL's
/// explicit `rowid`, which SQLite keeps implicitly).
struct Table {
    name: String,
    columns: Vec<String>,
}

/// What a copy moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Tables copied.
    pub tables: u64,
    /// Rows copied, over all tables.
    pub rows: u64,
}

/// Writes every row of `source` (any backend) into a new SQLite store file at `dest`, which
/// must not exist, reading all tables in one snapshot taken while writers carry on.
pub fn export_to_sqlite(source: &Database, dest: &Path) -> Result<CopyReport, StoreError> {
    if dest.exists() {
        return Err(StoreError::Conflict("the export file already exists"));
    }
    let target = Database::open(dest)?;
    let tables = tables(&target)?;
    let postgres = source.kind() == BackendKind::Postgres;
    let report = copy_snapshot(source, &target, &tables, postgres)?;
    // One self-contained file, its write-ahead log folded in, ready to be hashed and moved.
    target.query_all("PRAGMA journal_mode = DELETE", params![])?;
    Ok(report)
}

fn copy_snapshot(
    source: &Database,
    target: &Database,
    tables: &[Table],
    postgres: bool,
) -> Result<CopyReport, StoreError> {
    // The snapshot runs on a worker thread of its own, where no transaction handle of the
    // target can follow; the new file has one connection and no other user, so the target's
    // transaction is spelled out on it.
    source.snapshot(|src| {
        target.execute("BEGIN IMMEDIATE", params![])?;
        match copy_all(src, target, tables, postgres) {
            Ok(report) => {
                target.execute("COMMIT", params![])?;
                Ok(report)
            }
            Err(err) => {
                // The file is discarded by the caller; the rollback only frees it.
                let _ = target.execute("ROLLBACK", params![]);
                Err(err)
            }
        }
    })
}

/// Loads a store file written by [`export_to_sqlite`] (or an SQLite store backup) into
/// `target`, which must hold no rows at all; a store with anything in it is refused with
/// [`StoreError::Conflict`] and left as it was.
pub fn import_from_sqlite(source: &Path, target: &Database) -> Result<CopyReport, StoreError> {
    // A backup file nobody else writes: plain reads of it are one consistent state.
    let source = Database::open_read_only(source)?;
    let tables = tables(&source)?;
    target.transaction(|tx| {
        for table in &tables {
            let sql = format!("SELECT COUNT(*) FROM {}", table.name);
            let count: i64 = tx.query_one(&sql, params![])?.get(0)?;
            if count > 0 {
                return Err(StoreError::Conflict(
                    "the target store is not empty; restore into a new schema",
                ));
            }
        }
        copy_all(&source, tx, &tables, false)
    })
}

/// The tables of a store this build created or can read, with their columns, from SQLite's
/// catalogue, in the order the migrations created them: a table is created after the tables
/// its foreign keys name, so copying in this order never inserts a row before its parent.
fn tables(sqlite: &Database) -> Result<Vec<Table>, StoreError> {
    let names = sqlite.query_all(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
         ORDER BY rowid",
        params![],
    )?;
    let mut tables = Vec::with_capacity(names.len());
    for row in names {
        let name: String = row.get(0)?;
        let columns = sqlite
            .query_all(
                "SELECT name FROM pragma_table_info($1) ORDER BY cid",
                params![name],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect::<Result<Vec<String>, _>>()?;
        tables.push(Table { name, columns });
    }
    Ok(tables)
}

fn copy_all(
    src: &dyn Sql,
    dest: &dyn Sql,
    tables: &[Table],
    src_is_postgres: bool,
) -> Result<CopyReport, StoreError> {
    let mut report = CopyReport::default();
    for table in tables {
        let order = order_by(src, table, src_is_postgres)?;
        report.rows += copy_table(src, dest, table, &order)?;
        report.tables += 1;
    }
    Ok(report)
}

/// Copies one table in `rowid` order (both backends have one: SQLite implicitly, PostgreSQL
/// where the schema asks for it; elsewhere the order is the primary key's), so rows read in
/// insertion order keep it.
fn copy_table(
    src: &dyn Sql,
    dest: &dyn Sql,
    table: &Table,
    order: &str,
) -> Result<u64, StoreError> {
    let columns = table
        .columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let select = format!(
        "SELECT {columns} FROM {} ORDER BY {order} LIMIT $1 OFFSET $2",
        table.name
    );
    let placeholders = (1..=table.columns.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let insert = format!(
        "INSERT INTO {} ({columns}) VALUES ({placeholders})",
        table.name
    );
    let mut copied = 0u64;
    loop {
        let offset = i64::try_from(copied).map_err(|_| StoreError::Corrupt("row count"))?;
        let rows = src.query_all(&select, params![BATCH, offset])?;
        let read = rows.len();
        for mut row in rows {
            let values = (0..table.columns.len())
                .map(|i| row.take::<Value>(i))
                .collect::<Result<Vec<_>, _>>()?;
            dest.execute(&insert, &values)?;
        }
        copied += read as u64;
        if read < BATCH as usize {
            return Ok(copied);
        }
    }
}

/// `rowid` where the source table has one, else every column (a total order either way).
fn order_by(src: &dyn Sql, table: &Table, postgres: bool) -> Result<String, StoreError> {
    // SQLite always has the implicit column; PostgreSQL only where the schema declared it.
    let has_rowid = !postgres
        || src
            .query_opt(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
                 AND table_name = $1 AND column_name = 'rowid'",
                params![table.name],
            )?
            .is_some();
    if has_rowid {
        return Ok("rowid".into());
    }
    Ok((1..=table.columns.len())
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", "))
}
