//! Where the log is kept, behind two small traits: a [`Writer`] owned by the committer thread,
//! and a [`Reader`] for everything else.
//!
//! An entry is one row: its sequence number, the three hashes that verification and proofs
//! need for ever, its time, and — until retention prunes them — its stored bytes and the columns
//! searches use (user, action, patient reference), which verification checks against those
//! bytes. Checkpoints are rows of their own holding the signed note.

pub mod postgres;
mod postgres_copy;
pub(crate) mod sqlite;

use crate::merkle::Hash;
use crate::{Action, AuditError};

/// An entry about to be written.
pub(crate) struct NewRow {
    pub seq: u64,
    pub prev_hash: Hash,
    pub leaf_hash: Hash,
    pub chain_hash: Hash,
    pub time: i64,
    pub body: Vec<u8>,
    pub user_id: String,
    pub action: &'static str,
    pub patient_ref: Option<String>,
}

/// A stored entry as read, borrowing from the database's row where it can.
pub(crate) struct RowRef<'a> {
    pub seq: i64,
    pub prev_hash: &'a [u8],
    pub leaf_hash: &'a [u8],
    pub chain_hash: &'a [u8],
    pub time: i64,
    /// `None` once retention has pruned the entry.
    pub body: Option<&'a [u8]>,
    pub user_id: Option<&'a str>,
    pub action: Option<&'a str>,
    pub patient_ref: Option<&'a str>,
}

/// What an entry search matches; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// The acting user.
    pub user_id: Option<String>,
    /// The patient, as the keyed HMAC reference.
    pub patient_ref: Option<String>,
    /// The action.
    pub action: Option<Action>,
    /// Entries at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Entries before this time (Unix seconds).
    pub until: Option<i64>,
    /// Entries with a sequence number of at least this (for paging).
    pub from_seq: u64,
    /// At most this many entries.
    pub limit: u64,
}

impl Query {
    /// Reads a time bound given as RFC 3339 (`2025-03-01T10:00:00Z`) or as a date
    /// (`2025-03-01`, meaning its midnight UTC), in Unix seconds.
    pub fn parse_time(text: &str) -> Option<i64> {
        use time::format_description::well_known::Rfc3339;
        if let Ok(time) = time::OffsetDateTime::parse(text, &Rfc3339) {
            return Some(time.unix_timestamp());
        }
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(text, format)
            .ok()
            .map(|date| date.midnight().assume_utc().unix_timestamp())
    }
}

/// The write side. One transaction at a time: `begin`, any number of `insert`s, then `commit`
/// (durable when it returns) or `rollback`.
pub(crate) trait Writer: Send {
    /// Starts a transaction that excludes other writers, returning the last entry's sequence
    /// number and chain hash as stored.
    fn begin(&mut self) -> Result<Option<(u64, Hash)>, AuditError>;
    /// Within the transaction: the leaf hashes of `0..size` and the size of the largest stored
    /// checkpoint, to rebuild the committer's state after another process wrote.
    fn reload(&mut self, size: u64) -> Result<(Vec<Hash>, u64), AuditError>;
    /// Within the transaction: stores entries and checkpoint notes (`(size, note)`).
    fn insert(&mut self, rows: &[NewRow], checkpoints: &[(u64, String)]) -> Result<(), AuditError>;
    /// Commits durably.
    fn commit(&mut self) -> Result<(), AuditError>;
    /// Abandons the transaction.
    fn rollback(&mut self);
}

/// The read side.
pub(crate) trait Reader {
    /// One past the highest sequence number.
    fn len(&mut self) -> Result<u64, AuditError>;
    /// How many entry rows there are.
    fn count(&mut self) -> Result<u64, AuditError>;
    /// Visits up to `limit` entries with sequence numbers from `from`, in order; returns how
    /// many were visited.
    fn scan(
        &mut self,
        from: u64,
        limit: u64,
        visit: &mut dyn FnMut(RowRef<'_>) -> Result<(), AuditError>,
    ) -> Result<u64, AuditError>;
    /// Visits the entries matching `query`, in order.
    fn search(
        &mut self,
        query: &Query,
        visit: &mut dyn FnMut(RowRef<'_>) -> Result<(), AuditError>,
    ) -> Result<(), AuditError>;
    /// Every stored checkpoint as `(id, note)`, in the order written.
    fn checkpoints(&mut self) -> Result<Vec<(i64, String)>, AuditError>;
    /// The stored leaf hashes of `0..size`, in order (fewer if entries are missing).
    fn leaf_hashes(&mut self, size: u64) -> Result<Vec<Hash>, AuditError>;
    /// Entries below this sequence number may have been pruned by retention.
    fn pruned_below(&mut self) -> Result<u64, AuditError>;
    /// The size of the largest stored checkpoint (0 without one).
    fn last_checkpoint_size(&mut self) -> Result<u64, AuditError>;
    /// The first sequence number whose entry's time is at or after `time` (the log's length
    /// if there is none).
    fn first_at_or_after(&mut self, time: i64) -> Result<u64, AuditError>;
}

/// A stored hash column as a fixed-size array.
pub(crate) fn to_hash(seq: u64, bytes: &[u8]) -> Result<Hash, AuditError> {
    bytes.try_into().map_err(|_| AuditError::Corrupt {
        seq,
        reason: "a hash is not 32 bytes",
    })
}

/// Databases store signed integers; sequence numbers and sizes never reach `i64::MAX`.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored sequence number; a negative one (only possible by tampering) maps to `u64::MAX`.
pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// The SQL condition and parameters of a query, with `$n` placeholders (both SQLite and
/// PostgreSQL read them). Parameters are text or integers.
pub(crate) fn query_sql(query: &Query) -> (String, Vec<SqlParam>) {
    let mut conditions = vec!["seq >= $1".to_owned()];
    let mut params = vec![SqlParam::Int(to_i64(query.from_seq))];
    let mut add = |condition: &str, param: SqlParam| {
        params.push(param);
        conditions.push(format!("{condition} ${}", params.len()));
    };
    if let Some(user) = &query.user_id {
        add("user_id =", SqlParam::Text(user.clone()));
    }
    if let Some(patient) = &query.patient_ref {
        add("patient_ref =", SqlParam::Text(patient.clone()));
    }
    if let Some(action) = query.action {
        add("action =", SqlParam::Text(action.as_str().to_owned()));
    }
    if let Some(since) = query.since {
        add("time >=", SqlParam::Int(since));
    }
    if let Some(until) = query.until {
        add("time <", SqlParam::Int(until));
    }
    // Pruned entries have no body to show.
    conditions.push("body IS NOT NULL".to_owned());
    (conditions.join(" AND "), params)
}

/// A query parameter.
#[derive(Debug, Clone)]
pub(crate) enum SqlParam {
    Int(i64),
    Text(String),
}
