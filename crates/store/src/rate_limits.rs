//! Token buckets kept in the database, so that replicas sharing it enforce one limit together.
//! A single-process deployment keeps its buckets in memory instead (`phigate-auth`'s
//! `RateLimiter`); these are for several replicas on one PostgreSQL database.
//!
//! A bucket holds thousandths of a token. Taking a token is one statement: the row is created
//! full or refilled for the time since its last use, then one token is taken if there is one,
//! and the statement returns whether it was. The database's row lock makes concurrent takers
//! from any replica queue on the row, so none can spend a token another already took.

use std::time::Duration;

use crate::db::Sql;
use crate::{Store, StoreError, params};

/// The refill, capped at the burst, written once for the update below:
/// `min(burst, milli + max(0, now - updated) * rate / 1000)`, in thousandths of a token.
const REFILLED: &str = "CASE WHEN rate_buckets.milli
        + (CASE WHEN $3 > rate_buckets.updated_ms THEN $3 - rate_buckets.updated_ms ELSE 0 END)
          * $4 / 1000 >= $2
      THEN $2
      ELSE rate_buckets.milli
        + (CASE WHEN $3 > rate_buckets.updated_ms THEN $3 - rate_buckets.updated_ms ELSE 0 END)
          * $4 / 1000
    END";

impl Store {
    /// Takes one token from the shared bucket `bucket` at `now_ms` (Unix milliseconds), the
    /// bucket holding at most `burst` tokens and refilling at `per_second`. `None` when the
    /// token was taken; otherwise how long until one will be there.
    pub fn take_rate_token(
        &self,
        bucket: &str,
        burst: u32,
        per_second: f64,
        now_ms: i64,
    ) -> Result<Option<Duration>, StoreError> {
        let burst_milli = i64::from(burst.max(1)) * 1000;
        // Thousandths of a token per second, at least one.
        let rate = ((per_second * 1000.0).round() as i64).max(1);
        let sql = format!(
            "INSERT INTO rate_buckets (bucket, milli, updated_ms, allowed)
             VALUES ($1, $2 - 1000, $3, 1)
             ON CONFLICT (bucket) DO UPDATE SET
               milli = CASE WHEN {REFILLED} >= 1000 THEN {REFILLED} - 1000 ELSE {REFILLED} END,
               allowed = CASE WHEN {REFILLED} >= 1000 THEN 1 ELSE 0 END,
               updated_ms = CASE WHEN $3 > rate_buckets.updated_ms THEN $3
                                 ELSE rate_buckets.updated_ms END
             RETURNING milli, allowed"
        );
        let row = self
            .db
            .query_one(&sql, params![bucket, burst_milli, now_ms, rate])?;
        let milli: i64 = row.get(0)?;
        if row.get::<bool>(1)? {
            return Ok(None);
        }
        let missing = u64::try_from(1000 - milli).unwrap_or(0);
        let rate = u64::try_from(rate).unwrap_or(1);
        Ok(Some(Duration::from_millis(
            missing.saturating_mul(1000).div_ceil(rate),
        )))
    }

    /// Forgets buckets unused since `before_ms`: refilled by now, they are the same as none.
    pub fn purge_rate_buckets(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.db.execute(
            "DELETE FROM rate_buckets WHERE updated_ms < $1",
            params![before_ms],
        )
    }
}
