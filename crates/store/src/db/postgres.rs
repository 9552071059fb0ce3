//! The PostgreSQL backend: a small pool of connections to one schema, shared by any number of
//! replicas.
//!
//! The synchronous `postgres` client drives its own small runtime, which must not be used,
//! created or dropped on a thread that is driving an async runtime (the gateway calls the store
//! from its handlers). Every use of a connection therefore happens on a scoped thread of ours
//! that borrows the caller's data and is joined before the call returns; the pool hands
//! connections to those threads and takes them back.

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::types::private::BytesMut;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, IsolationLevel, NoTls, Statement};

use super::migrations::{Dialect, MIGRATIONS, adapt};
use super::{Row, Sql, Value};
use crate::StoreError;

/// Serialises schema migrations across replicas starting together ("phigate store" folded).
const MIGRATE_LOCK: i64 = 0x7068_6967_7374_6f72;

/// How often a transaction that lost a serialisation conflict is run again.
const MAX_RETRIES: u32 = 20;

/// Where the store lives on a PostgreSQL server.
#[derive(Clone)]
pub struct PostgresConfig {
    /// libpq-style connection string or URL (`host=... user=... dbname=...`).
    pub url: String,
    /// The schema holding the store's tables; created if missing. A plain lowercase identifier.
    pub schema: String,
    /// Most connections this process opens.
    pub pool_size: usize,
    /// How long a caller waits for a free connection before failing.
    pub acquire_timeout: Duration,
}

impl std::fmt::Debug for PostgresConfig {
    // The connection string may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

impl PostgresConfig {
    /// A configuration with the default pool (8 connections, 10 s wait).
    pub fn new(url: impl Into<String>, schema: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: schema.into(),
            pool_size: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// Checks that `schema` is a plain lowercase SQL identifier, safe to splice into statements.
pub(crate) fn valid_schema(schema: &str) -> bool {
    let mut chars = schema.chars();
    schema.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// One pooled connection and the statements it has prepared.
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

struct Pool {
    config: PostgresConfig,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Each client owns a runtime, which must not be dropped inside the caller's runtime.
        let idle = self
            .state
            .get_mut()
            .map(|state| std::mem::take(&mut state.idle))
            .unwrap_or_default();
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

/// The pool, shared by clones of the database handle.
#[derive(Clone)]
pub(super) struct Postgres {
    pool: Arc<Pool>,
}

impl Postgres {
    /// Connects, then creates or migrates the schema (refusing one newer than this build).
    pub(super) fn open(config: PostgresConfig) -> Result<Self, StoreError> {
        if !valid_schema(&config.schema) {
            return Err(StoreError::InvalidSchema);
        }
        let db = Self {
            pool: Arc::new(Pool {
                config: PostgresConfig {
                    pool_size: config.pool_size.max(1),
                    ..config
                },
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                }),
                freed: Condvar::new(),
            }),
        };
        db.run(|conn| migrate(&mut conn.client, &db.pool.config.schema))?;
        Ok(db)
    }

    /// Runs `f` with a connection, on a thread of ours.
    fn run<T: Send>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                let mut conn = self.acquire()?;
                let result = f(&mut conn);
                self.release(conn);
                result
            });
            match worker.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    fn acquire(&self) -> Result<Conn, StoreError> {
        let pool = &self.pool;
        let deadline = Instant::now() + pool.config.acquire_timeout;
        let mut state = pool.state.lock().map_err(|_| StoreError::Poisoned)?;
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(conn);
            }
            if state.open < pool.config.pool_size {
                state.open += 1;
                drop(state);
                let conn = connect(&pool.config);
                if conn.is_err() {
                    self.forget_one();
                }
                return conn;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::PoolExhausted);
            }
            state = pool
                .freed
                .wait_timeout(state, left)
                .map_err(|_| StoreError::Poisoned)?
                .0;
        }
    }

    /// Takes a connection back; a broken one is closed (here, off the caller's runtime).
    fn release(&self, conn: Conn) {
        if conn.client.is_closed() {
            drop(conn);
            self.forget_one();
            return;
        }
        if let Ok(mut state) = self.pool.state.lock() {
            state.idle.push(conn);
        }
        self.pool.freed.notify_one();
    }

    fn forget_one(&self) {
        if let Ok(mut state) = self.pool.state.lock() {
            state.open = state.open.saturating_sub(1);
        }
        self.pool.freed.notify_one();
    }

    pub(super) fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        self.run(|conn| {
            let stmt = prepared(&mut conn.statements, sql, |s| conn.client.prepare(s))?;
            Ok(conn.client.execute(&stmt, &refs(params))?)
        })
    }

    pub(super) fn query_all(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        self.run(|conn| {
            let stmt = prepared(&mut conn.statements, sql, |s| conn.client.prepare(s))?;
            conn.client
                .query(&stmt, &refs(params))?
                .iter()
                .map(from_pg)
                .collect()
        })
    }

    /// Runs `f` in a `SERIALIZABLE` transaction, again (up to [`MAX_RETRIES`] times) whenever
    /// the server reports a serialisation failure or a deadlock.
    pub(super) fn transaction<T: Send>(
        &self,
        f: impl FnMut(&PgTx<'_, '_>) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        self.transaction_as(IsolationLevel::Serializable, false, f)
    }

    /// Runs `f` in a `REPEATABLE READ READ ONLY` transaction: one snapshot of every table as
    /// of its first statement, taken without blocking writers or being blocked by them.
    pub(super) fn snapshot<T: Send>(
        &self,
        f: impl FnMut(&PgTx<'_, '_>) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        self.transaction_as(IsolationLevel::RepeatableRead, true, f)
    }

    fn transaction_as<T: Send>(
        &self,
        isolation: IsolationLevel,
        read_only: bool,
        mut f: impl FnMut(&PgTx<'_, '_>) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        self.run(|conn| {
            let mut attempt = 0;
            loop {
                let tx = conn
                    .client
                    .build_transaction()
                    .isolation_level(isolation)
                    .read_only(read_only)
                    .start()?;
                let tx = PgTx {
                    tx: RefCell::new(tx),
                    statements: RefCell::new(&mut conn.statements),
                };
                let outcome = match f(&tx) {
                    Ok(value) => tx
                        .tx
                        .into_inner()
                        .commit()
                        .map(|()| value)
                        .map_err(Into::into),
                    Err(err) => Err(err),
                };
                match outcome {
                    Err(err) if retryable(&err) && attempt < MAX_RETRIES => {
                        attempt += 1;
                        std::thread::sleep(backoff(attempt));
                    }
                    other => return other,
                }
            }
        })
    }
}

/// A transaction on one pooled connection.
pub(super) struct PgTx<'c, 's> {
    tx: RefCell<postgres::Transaction<'c>>,
    statements: RefCell<&'s mut HashMap<String, Statement>>,
}

impl Sql for PgTx<'_, '_> {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let mut tx = self.tx.try_borrow_mut().map_err(|_| StoreError::Poisoned)?;
        let mut statements = self
            .statements
            .try_borrow_mut()
            .map_err(|_| StoreError::Poisoned)?;
        let stmt = prepared(&mut statements, sql, |s| tx.prepare(s))?;
        Ok(tx.execute(&stmt, &refs(params))?)
    }

    fn query_all(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut tx = self.tx.try_borrow_mut().map_err(|_| StoreError::Poisoned)?;
        let mut statements = self
            .statements
            .try_borrow_mut()
            .map_err(|_| StoreError::Poisoned)?;
        let stmt = prepared(&mut statements, sql, |s| tx.prepare(s))?;
        tx.query(&stmt, &refs(params))?
            .iter()
            .map(from_pg)
            .collect()
    }
}

/// The cached statement for `sql`, prepared on first use.
fn prepared(
    cache: &mut HashMap<String, Statement>,
    sql: &str,
    prepare: impl FnOnce(&str) -> Result<Statement, postgres::Error>,
) -> Result<Statement, StoreError> {
    if let Some(stmt) = cache.get(sql) {
        return Ok(stmt.clone());
    }
    let stmt = prepare(sql)?;
    cache.insert(sql.to_owned(), stmt.clone());
    Ok(stmt)
}

fn retryable(err: &StoreError) -> bool {
    let StoreError::Postgres(err) = err else {
        return false;
    };
    matches!(
        err.code(),
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// A short, growing, slightly spread pause so that retrying transactions stop colliding.
fn backoff(attempt: u32) -> Duration {
    let spread = u64::from(std::process::id() % 7) + u64::from(attempt % 5);
    Duration::from_millis(u64::from(attempt.min(10)) * 2 + spread)
}

fn connect(config: &PostgresConfig) -> Result<Conn, StoreError> {
    let mut client = Client::connect(&config.url, NoTls)?;
    client.batch_execute(&format!("SET search_path TO {}", config.schema))?;
    Ok(Conn {
        client,
        statements: HashMap::new(),
    })
}

/// Creates the schema and applies the missing migrations in one transaction, under an advisory
/// lock so that replicas starting together migrate once.
fn migrate(client: &mut Client, schema: &str) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
             version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"
    ))?;
    let found: i64 = tx
        .query_one(
            &format!("SELECT COALESCE(MAX(version), 0) FROM {schema}.schema_migrations"),
            &[],
        )?
        .get(0);
    let supported = MIGRATIONS.len() as i64;
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(&adapt(sql, Dialect::Postgres))?;
        tx.execute(
            &format!(
                "INSERT INTO {schema}.schema_migrations (version, applied_at)
                 VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)"
            ),
            &[&(index as i64 + 1)],
        )?;
    }
    tx.commit()?;
    Ok(())
}

fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

fn from_pg(row: &postgres::Row) -> Result<Row, StoreError> {
    let mut columns = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(index)?.map(Value::Integer)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(index)?
                .map(|i| Value::Integer(i64::from(i)))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(index)?
                .map(|i| Value::Integer(i64::from(i)))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(index)?
                .map(|b| Value::Integer(i64::from(b)))
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(index)?.map(Value::Bytes)
        } else if <String as postgres::types::FromSql>::accepts(ty) {
            row.try_get::<_, Option<String>>(index)?.map(Value::Text)
        } else {
            return Err(StoreError::Column {
                index,
                expected: "an integer, text or bytes column",
            });
        };
        columns.push(value.unwrap_or(Value::Null));
    }
    Ok(Row::new(columns))
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Self::Null => Ok(IsNull::Yes),
            Self::Integer(i) if *ty == Type::INT8 => i.to_sql(ty, out),
            Self::Integer(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Self::Integer(i) if *ty == Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
            Self::Integer(i) if *ty == Type::BOOL => (*i != 0).to_sql(ty, out),
            Self::Text(s) if <&str as ToSql>::accepts(ty) => s.as_str().to_sql(ty, out),
            Self::Bytes(b) if <&[u8] as ToSql>::accepts(ty) => b.as_slice().to_sql(ty, out),
            _ => Err(format!("a parameter of another kind where {ty} is expected").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Every kind is checked against the column's type in `to_sql`.
        true
    }

    to_sql_checked!();
}
