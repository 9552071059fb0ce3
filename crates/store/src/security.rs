//! What sign-in needs besides the password: the TOTP secret (sealed under the tenant's key),
//! the step of the last accepted code, and the failure counter behind backoff and lockout.

use phigate_crypto::AadContext;
use zeroize::Zeroizing;

use crate::db::Sql;
use crate::{Store, StoreError, UserRecord, params};

/// Sign-in state of one account. Holds no secret: the TOTP secret is fetched separately.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserSecurity {
    /// Whether a TOTP secret is enrolled.
    pub totp_enrolled: bool,
    /// Step of the last accepted TOTP code.
    pub totp_last_step: Option<u64>,
    /// Consecutive failed sign-ins.
    pub failures: u32,
    /// When the last failure happened (Unix seconds).
    pub last_failure_at: Option<i64>,
    /// Locked after too many failures.
    pub locked: bool,
}

fn totp_context(user: &UserRecord) -> AadContext {
    AadContext::tenant(&user.tenant, &format!("user/{}", user.id), "totp")
}

impl Store {
    /// The sign-in state of `user_id` (defaults when none was recorded yet).
    pub fn user_security(&self, user_id: &str) -> Result<UserSecurity, StoreError> {
        let row = self.db.query_opt(
            "SELECT totp_secret IS NOT NULL, totp_last_step, failures, last_failure_at, locked
             FROM user_security WHERE user_id = $1",
            params![user_id],
        )?;
        let Some(row) = row else {
            return Ok(UserSecurity::default());
        };
        Ok(UserSecurity {
            totp_enrolled: row.get(0)?,
            totp_last_step: row.get::<Option<i64>>(1)?.map(|s| s.max(0) as u64),
            failures: row.get(2)?,
            last_failure_at: row.get(3)?,
            locked: row.get(4)?,
        })
    }

    /// Enrols (or with `None`, removes) a TOTP secret; the replay marker is reset either way.
    pub fn set_totp_secret(
        &self,
        user: &UserRecord,
        secret: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let sealed = match secret {
            Some(secret) => Some(self.keyring.seal(&totp_context(user), secret)?),
            None => None,
        };
        self.db.execute(
            "INSERT INTO user_security (user_id, totp_secret, totp_last_step) VALUES ($1, $2, NULL)
             ON CONFLICT (user_id) DO UPDATE SET totp_secret = excluded.totp_secret,
               totp_last_step = NULL",
            params![user.id, sealed],
        )?;
        Ok(())
    }

    /// The user's TOTP secret, if enrolled.
    pub fn totp_secret(&self, user: &UserRecord) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let sealed: Option<Vec<u8>> = match self.db.query_opt(
            "SELECT totp_secret FROM user_security WHERE user_id = $1",
            params![user.id],
        )? {
            Some(mut row) => row.take(0)?,
            None => None,
        };
        match sealed {
            None => Ok(None),
            Some(sealed) => Ok(Some(self.keyring.open(&totp_context(user), &sealed)?)),
        }
    }

    /// Records that the code of `step` was accepted, unless a code of that step or a later one
    /// already was: returns `false` then, and the code must be refused as a replay. Atomic, so
    /// two sign-ins racing with the same code cannot both pass.
    pub fn claim_totp_step(&self, user_id: &str, step: u64) -> Result<bool, StoreError> {
        let step = i64::try_from(step).map_err(|_| StoreError::Conflict("TOTP step"))?;
        let changed = self.db.execute(
            "UPDATE user_security SET totp_last_step = $2
             WHERE user_id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
            params![user_id, step],
        )?;
        Ok(changed == 1)
    }

    /// Stores the failure counter after a failed sign-in.
    pub fn record_sign_in_failure(
        &self,
        user_id: &str,
        failures: u32,
        at: i64,
        locked: bool,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO user_security (user_id, failures, last_failure_at, locked)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO UPDATE SET failures = excluded.failures,
               last_failure_at = excluded.last_failure_at,
               locked = CASE WHEN user_security.locked = 1 OR excluded.locked = 1
                             THEN 1 ELSE 0 END",
            params![user_id, failures, at, locked],
        )?;
        Ok(())
    }

    /// Counts one more failed sign-in at `at`, atomically, and locks the account once
    /// `lock_after` consecutive failures are reached. Returns the new count and whether the
    /// account is locked. Parallel failures each count: the increment happens in the database,
    /// not on a value read before the password check.
    pub fn add_sign_in_failure(
        &self,
        user_id: &str,
        at: i64,
        lock_after: u32,
    ) -> Result<(u32, bool), StoreError> {
        let row = self.db.query_one(
            "INSERT INTO user_security (user_id, failures, last_failure_at, locked)
             VALUES ($1, 1, $2, CASE WHEN $3 <= 1 THEN 1 ELSE 0 END)
             ON CONFLICT (user_id) DO UPDATE SET failures = user_security.failures + 1,
               last_failure_at = excluded.last_failure_at,
               locked = CASE WHEN user_security.locked = 1 OR user_security.failures + 1 >= $3
                             THEN 1 ELSE 0 END
             RETURNING failures, locked",
            params![user_id, at, lock_after],
        )?;
        Ok((row.get(0)?, row.get(1)?))
    }

    /// Clears the failure counter (after a successful sign-in, or when an administrator
    /// enables the account again).
    pub fn clear_sign_in_failures(&self, user_id: &str) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE user_security SET failures = 0, last_failure_at = NULL, locked = 0
             WHERE user_id = $1",
            params![user_id],
        )?;
        Ok(())
    }
}
