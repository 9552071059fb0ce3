//! Short-lived OAuth server state: authorization codes (single use), client-assertion `jti`s
//! (single use) and revoked access tokens. Kept in the store so that every replica sharing it
//! sees the same answers.

use rusqlite::{OptionalExtension, params};

use crate::{Store, StoreError};

/// What consuming an authorization code found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeUse {
    /// First use: the code's stored body.
    Fresh(String),
    /// The code was already used; the family issued from it, if any, should be revoked.
    Replayed(Option<String>),
    /// No such code, or expired.
    Unknown,
}

impl Store {
    /// Stores an authorization code by hash with its (PHI-free) JSON body.
    pub fn insert_auth_code(
        &self,
        hash: &str,
        body: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let conn = self.db.lock()?;
        conn.execute(
            "INSERT INTO oauth_codes (hash, body, expires_at) VALUES (?1, ?2, ?3)",
            params![hash, body, expires_at],
        )?;
        conn.execute(
            "DELETE FROM oauth_codes WHERE expires_at < ?1 - 3600",
            params![expires_at],
        )?;
        Ok(())
    }

    /// Marks a code used and returns its body, atomically.
    pub fn consume_auth_code(&self, hash: &str, now: i64) -> Result<CodeUse, StoreError> {
        let conn = self.db.lock()?;
        let row: Option<(String, i64, Option<i64>, Option<String>)> = conn
            .query_row(
                "SELECT body, expires_at, used_at, family FROM oauth_codes WHERE hash = ?1",
                params![hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        Ok(match row {
            None => CodeUse::Unknown,
            Some((_, _, Some(_), family)) => CodeUse::Replayed(family),
            Some((_, expires_at, None, _)) if now >= expires_at => CodeUse::Unknown,
            Some((body, _, None, _)) => {
                let changed = conn.execute(
                    "UPDATE oauth_codes SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL",
                    params![hash, now],
                )?;
                if changed == 1 {
                    CodeUse::Fresh(body)
                } else {
                    CodeUse::Replayed(None)
                }
            }
        })
    }

    /// Records which refresh family a code led to, so a replay of the code can revoke it.
    pub fn set_auth_code_family(&self, hash: &str, family: &str) -> Result<(), StoreError> {
        let conn = self.db.lock()?;
        conn.execute(
            "UPDATE oauth_codes SET family = ?2 WHERE hash = ?1",
            params![hash, family],
        )?;
        Ok(())
    }

    /// Records a client assertion's `jti`; `false` if it was seen before (a replay).
    pub fn claim_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let conn = self.db.lock()?;
        conn.execute(
            "DELETE FROM oauth_assertion_jtis WHERE expires_at < ?1",
            params![now - 600],
        )?;
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO oauth_assertion_jtis (client_id, jti, expires_at)
             VALUES (?1, ?2, ?3)",
            params![client_id, jti, expires_at],
        )?;
        Ok(inserted == 1)
    }

    /// Records a revoked access token until it would have expired.
    pub fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        let conn = self.db.lock()?;
        conn.execute(
            "INSERT OR REPLACE INTO revoked_access_tokens (jti, expires_at) VALUES (?1, ?2)",
            params![jti, expires_at],
        )?;
        Ok(())
    }

    /// Revoked access tokens not yet expired at `now`.
    pub fn revoked_access_tokens(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let conn = self.db.lock()?;
        conn.execute(
            "DELETE FROM revoked_access_tokens WHERE expires_at < ?1 - 60",
            params![now],
        )?;
        let mut stmt = conn
            .prepare("SELECT jti, expires_at FROM revoked_access_tokens WHERE expires_at >= ?1")?;
        let rows = stmt.query_map(params![now - 60], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
