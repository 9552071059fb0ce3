//! The SQLite backend: one connection behind a mutex, in WAL mode with a busy timeout. SQLite
//! serialises writers anyway; one connection keeps the embedded default simple and correct.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, TransactionBehavior};

use super::migrations::{Dialect, MIGRATIONS, adapt};
use super::{Row, Sql, Value};
use crate::StoreError;

/// The open database file.
#[derive(Clone)]
pub(super) struct Sqlite {
    conn: Arc<Mutex<Connection>>,
}

impl Sqlite {
    /// Opens or creates the file, applies its settings and migrates it.
    pub(super) fn open(path: &Path) -> Result<Self, StoreError> {
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

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    pub(super) fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        execute(&*self.lock()?, sql, params)
    }

    pub(super) fn query_all(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        query_all(&*self.lock()?, sql, params)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction: the write lock is taken at the start, so
    /// two processes sharing the file cannot both read and then both write.
    pub(super) fn transaction<T>(
        &self,
        f: impl FnOnce(&SqliteTx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&SqliteTx(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    /// Writes the log's pages home and empties it, so overwritten rows (destroyed keys) are
    /// not left in the write-ahead log.
    pub(super) fn checkpoint(&self) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// A transaction on the connection.
pub(super) struct SqliteTx<'a>(&'a rusqlite::Transaction<'a>);

impl Sql for SqliteTx<'_> {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        execute(self.0, sql, params)
    }

    fn query_all(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        query_all(self.0, sql, params)
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
        tx.execute_batch(&adapt(sql, Dialect::Sqlite))?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn execute(conn: &Connection, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(&placeholders(sql))?;
    Ok(stmt.execute(rusqlite::params_from_iter(params))? as u64)
}

fn query_all(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
    let mut stmt = conn.prepare_cached(&placeholders(sql))?;
    let width = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut columns = Vec::with_capacity(width);
        for index in 0..width {
            columns.push(from_sqlite(row.get_ref(index)?)?);
        }
        out.push(Row::new(columns));
    }
    Ok(out)
}

fn from_sqlite(value: ValueRef<'_>) -> Result<Value, StoreError> {
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec()).map_err(|_| StoreError::Corrupt("text column"))?,
        ),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
        ValueRef::Real(_) => return Err(StoreError::Corrupt("real column")),
    })
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Self::Null => ValueRef::Null,
            Self::Integer(i) => ValueRef::Integer(*i),
            Self::Text(s) => ValueRef::Text(s.as_bytes()),
            Self::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

/// Rewrites PostgreSQL's `$1` placeholders as SQLite's `?1`. SQLite would read `$1` as a named
/// parameter numbered by first appearance, which binds the wrong values when `$2` comes first.
fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if q == c => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('?');
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_placeholders_become_numbered_question_marks_outside_quotes() {
        assert_eq!(
            placeholders("SELECT '$1', \"$2\" FROM t WHERE a = $2 AND b = $10"),
            "SELECT '$1', \"$2\" FROM t WHERE a = ?2 AND b = ?10"
        );
    }
}
