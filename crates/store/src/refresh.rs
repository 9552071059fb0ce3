//! Refresh-token families: rotation on every use, reuse detection, idle and absolute lifetimes.
//!
//! A family is one sign-in. Each refresh retires the presented token and issues its successor,
//! so a family has at most one live token. Presenting a retired token means two parties hold the
//! family's tokens: the whole family is revoked. The one exception is the immediate predecessor
//! within a short grace period, which is what a client retrying a refresh whose answer it lost
//! looks like: that attempt is refused but the family survives.
//!
//! Every decision is taken inside one transaction (`BEGIN IMMEDIATE` on SQLite, `SERIALIZABLE`
//! on PostgreSQL), so concurrent refreshes of the same token are serialised and exactly one of
//! them can win.

use crate::db::{Row, Sql};
use crate::{Store, StoreError, params};

/// What a family is issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshFamily {
    /// Family id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// The user the tokens speak for.
    pub subject: String,
    /// The client the tokens were issued to.
    pub client_id: String,
    /// The role the user acts in.
    pub role: String,
    /// The granted scopes, space separated.
    pub scope: String,
}

/// Why a refresh was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshRefusal {
    /// No such token.
    Unknown,
    /// The family was revoked earlier (sign-out, reuse, client revoked).
    Revoked,
    /// The family was unused for longer than the idle limit; it is now revoked.
    Idle,
    /// The family is older than its absolute limit; it is now revoked.
    Expired,
    /// The immediate predecessor was presented again within the grace period: refused, family
    /// kept.
    RetryWithinGrace,
    /// A retired token was presented: the family is now revoked.
    Reused,
}

/// Lifetimes, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct RefreshLimits {
    /// Idle limit.
    pub idle_secs: i64,
    /// Grace for the immediate predecessor.
    pub grace_secs: i64,
}

impl Store {
    /// Starts a family with its first token (stored by hash) at `now`, dying at `expires_at`.
    pub fn create_refresh_family(
        &self,
        family: &RefreshFamily,
        token_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.db.transaction(|tx| {
            tx.execute(
                "INSERT INTO refresh_families (id, tenant, subject, client_id, role, scope,
                   created_at, last_used_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
                params![
                    family.id,
                    family.tenant,
                    family.subject,
                    family.client_id,
                    family.role,
                    family.scope,
                    now,
                    expires_at
                ],
            )?;
            tx.execute(
                "INSERT INTO refresh_tokens (hash, family, generation, created_at)
                 VALUES ($1, $2, 0, $3)",
                params![token_hash, family.id, now],
            )?;
            Ok(())
        })
    }

    /// Retires the token hashed `presented` and issues the one hashed `next`, or refuses.
    pub fn rotate_refresh_token(
        &self,
        presented: &str,
        next: &str,
        now: i64,
        limits: RefreshLimits,
    ) -> Result<Result<RefreshFamily, RefreshRefusal>, StoreError> {
        self.db
            .transaction(|tx| rotate(tx, presented, next, now, limits))
    }

    /// The family of a presented token, if the token exists and the family is not revoked.
    pub fn refresh_family_of(&self, token_hash: &str) -> Result<Option<RefreshFamily>, StoreError> {
        let Some(family) = unrotated_family(&self.db, token_hash)? else {
            return Ok(None);
        };
        let (family, _, _, revoked) = load_family(&self.db, &family)?;
        Ok((!revoked).then_some(family))
    }

    /// Like [`refresh_family_of`](Self::refresh_family_of), but also `None` when the family is
    /// past its absolute lifetime or idle for longer than `idle_secs` at `now`: what
    /// introspection must report as inactive even before anyone tries to use the token.
    pub fn live_refresh_family(
        &self,
        token_hash: &str,
        now: i64,
        idle_secs: i64,
    ) -> Result<Option<RefreshFamily>, StoreError> {
        let Some(family) = unrotated_family(&self.db, token_hash)? else {
            return Ok(None);
        };
        let (family, last_used, expires_at, revoked) = load_family(&self.db, &family)?;
        let live = !revoked && now < expires_at && now - last_used <= idle_secs;
        Ok(live.then_some(family))
    }

    /// Revokes a family (sign-out, revocation request, code reuse).
    pub fn revoke_refresh_family(
        &self,
        family_id: &str,
        now: i64,
        reason: &str,
    ) -> Result<(), StoreError> {
        revoke(&self.db, family_id, now, reason)
    }

    /// Tokens of a family that could still be exchanged: 0 or 1 by construction.
    pub fn live_refresh_tokens(&self, family_id: &str) -> Result<u64, StoreError> {
        self.db
            .query_one(
                "SELECT COUNT(*) FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family
                 WHERE t.family = $1 AND t.rotated_at IS NULL AND f.revoked_at IS NULL",
                params![family_id],
            )?
            .get(0)
    }
}

fn rotate(
    tx: &impl Sql,
    presented: &str,
    next: &str,
    now: i64,
    limits: RefreshLimits,
) -> Result<Result<RefreshFamily, RefreshRefusal>, StoreError> {
    let token = tx.query_opt(
        "SELECT family, generation, rotated_at FROM refresh_tokens WHERE hash = $1",
        params![presented],
    )?;
    let Some(token) = token else {
        return Ok(Err(RefreshRefusal::Unknown));
    };
    let family_id: String = token.get(0)?;
    let generation: i64 = token.get(1)?;
    let rotated_at: Option<i64> = token.get(2)?;
    let (family, last_used, expires_at, revoked) = load_family(tx, &family_id)?;
    if revoked {
        return Ok(Err(RefreshRefusal::Revoked));
    }
    if now >= expires_at {
        revoke(tx, &family_id, now, "absolute lifetime")?;
        return Ok(Err(RefreshRefusal::Expired));
    }
    if now - last_used > limits.idle_secs {
        revoke(tx, &family_id, now, "idle")?;
        return Ok(Err(RefreshRefusal::Idle));
    }
    if let Some(rotated_at) = rotated_at {
        let newest: i64 = tx
            .query_one(
                "SELECT MAX(generation) FROM refresh_tokens WHERE family = $1",
                params![family_id],
            )?
            .get(0)?;
        if generation == newest - 1 && now - rotated_at <= limits.grace_secs {
            return Ok(Err(RefreshRefusal::RetryWithinGrace));
        }
        revoke(tx, &family_id, now, "refresh token reused")?;
        return Ok(Err(RefreshRefusal::Reused));
    }
    tx.execute(
        "UPDATE refresh_tokens SET rotated_at = $2 WHERE hash = $1",
        params![presented, now],
    )?;
    tx.execute(
        "INSERT INTO refresh_tokens (hash, family, generation, created_at)
         VALUES ($1, $2, $3, $4)",
        params![next, family_id, generation + 1, now],
    )?;
    tx.execute(
        "UPDATE refresh_families SET last_used_at = $2 WHERE id = $1",
        params![family_id, now],
    )?;
    Ok(Ok(family))
}

/// The family of a token that has not been rotated yet.
fn unrotated_family(db: &impl Sql, token_hash: &str) -> Result<Option<String>, StoreError> {
    db.query_opt(
        "SELECT family FROM refresh_tokens WHERE hash = $1 AND rotated_at IS NULL",
        params![token_hash],
    )?
    .map(|row| row.get(0))
    .transpose()
}

/// A family, its last use, its end and whether it is revoked.
fn load_family(db: &impl Sql, id: &str) -> Result<(RefreshFamily, i64, i64, bool), StoreError> {
    let row: Row = db.query_one(
        "SELECT id, tenant, subject, client_id, role, scope, last_used_at, expires_at,
                revoked_at IS NOT NULL
         FROM refresh_families WHERE id = $1",
        params![id],
    )?;
    Ok((
        RefreshFamily {
            id: row.get(0)?,
            tenant: row.get(1)?,
            subject: row.get(2)?,
            client_id: row.get(3)?,
            role: row.get(4)?,
            scope: row.get(5)?,
        },
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
    ))
}

fn revoke(db: &impl Sql, family: &str, now: i64, reason: &str) -> Result<(), StoreError> {
    db.execute(
        "UPDATE refresh_families SET revoked_at = $2, revoked_reason = $3
         WHERE id = $1 AND revoked_at IS NULL",
        params![family, now, reason],
    )?;
    Ok(())
}
