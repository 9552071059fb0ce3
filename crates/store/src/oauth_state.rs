//! Short-lived OAuth server state: authorization codes (single use), client-assertion `jti`s
//! (single use) and revoked access tokens. Kept in the store so that every replica sharing it
//! sees the same answers.

use crate::db::Sql;
use crate::{Store, StoreError, params};

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
        self.db.execute(
            "INSERT INTO oauth_codes (hash, body, expires_at) VALUES ($1, $2, $3)",
            params![hash, body, expires_at],
        )?;
        self.db.execute(
            "DELETE FROM oauth_codes WHERE expires_at < $1",
            params![expires_at - 3600],
        )?;
        Ok(())
    }

    /// Marks a code used and returns its body, atomically: of two uses racing, one is fresh
    /// and the other a replay, on any backend and from any replica.
    pub fn consume_auth_code(&self, hash: &str, now: i64) -> Result<CodeUse, StoreError> {
        let row = self.db.query_opt(
            "SELECT body, expires_at, used_at, family FROM oauth_codes WHERE hash = $1",
            params![hash],
        )?;
        let Some(row) = row else {
            return Ok(CodeUse::Unknown);
        };
        let expires_at: i64 = row.get(1)?;
        if row.get::<Option<i64>>(2)?.is_some() {
            return Ok(CodeUse::Replayed(row.get(3)?));
        }
        if now >= expires_at {
            return Ok(CodeUse::Unknown);
        }
        // The guard on `used_at` makes the claim itself atomic; the read above only chose the
        // answer for codes already used.
        let changed = self.db.execute(
            "UPDATE oauth_codes SET used_at = $2 WHERE hash = $1 AND used_at IS NULL",
            params![hash, now],
        )?;
        Ok(if changed == 1 {
            CodeUse::Fresh(row.get(0)?)
        } else {
            CodeUse::Replayed(None)
        })
    }

    /// Records which refresh family a code led to, so a replay of the code can revoke it.
    pub fn set_auth_code_family(&self, hash: &str, family: &str) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE oauth_codes SET family = $2 WHERE hash = $1",
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
        self.db.execute(
            "DELETE FROM oauth_assertion_jtis WHERE expires_at < $1",
            params![now - 600],
        )?;
        let inserted = self.db.execute(
            "INSERT INTO oauth_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (client_id, jti) DO NOTHING",
            params![client_id, jti, expires_at],
        )?;
        Ok(inserted == 1)
    }

    /// Records a revoked access token until it would have expired.
    pub fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2)
             ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at",
            params![jti, expires_at],
        )?;
        Ok(())
    }

    /// Revoked access tokens not yet expired at `now`.
    pub fn revoked_access_tokens(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        self.db.execute(
            "DELETE FROM revoked_access_tokens WHERE expires_at < $1",
            params![now - 60],
        )?;
        self.db
            .query_all(
                "SELECT jti, expires_at FROM revoked_access_tokens WHERE expires_at >= $1",
                params![now - 60],
            )?
            .iter()
            .map(|row| Ok((row.get(0)?, row.get(1)?)))
            .collect()
    }
}
