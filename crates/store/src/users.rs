//! Staff accounts. Usernames and roles are not PHI; passwords are stored as Argon2id hashes made
//! by the auth crate.

use crate::db::{Row, Sql, now};
use crate::params;
use crate::{Store, StoreError};

/// One account as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Stable id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Sign-in name.
    pub username: String,
    /// Role name.
    pub role: String,
    /// PHC-format password hash.
    pub password_hash: String,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "id, tenant, username, role, password_hash, disabled";

fn from_row(row: &Row) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: row.get(0)?,
        tenant: row.get(1)?,
        username: row.get(2)?,
        role: row.get(3)?,
        password_hash: row.get(4)?,
        disabled: row.get(5)?,
    })
}

impl Store {
    /// Creates an account, or replaces the password and role of an existing one with that name.
    pub fn upsert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO users (id, tenant, username, role, password_hash, disabled, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (tenant, username) DO UPDATE SET
               role = excluded.role, password_hash = excluded.password_hash,
               disabled = excluded.disabled",
            params![
                user.id,
                user.tenant,
                user.username,
                user.role,
                user.password_hash,
                user.disabled,
                now()
            ],
        )?;
        Ok(())
    }

    /// Looks an account up by tenant and username.
    pub fn user_by_name(
        &self,
        tenant: &str,
        username: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        self.db
            .query_opt(
                &format!("SELECT {COLUMNS} FROM users WHERE tenant = $1 AND username = $2"),
                params![tenant, username],
            )?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// Number of accounts in a tenant with a role.
    pub fn count_users_with_role(&self, tenant: &str, role: &str) -> Result<u64, StoreError> {
        self.db
            .query_one(
                "SELECT COUNT(*) FROM users WHERE tenant = $1 AND role = $2",
                params![tenant, role],
            )?
            .get(0)
    }

    /// Every account of a tenant, by username.
    pub fn list_users(&self, tenant: &str) -> Result<Vec<UserRecord>, StoreError> {
        self.db
            .query_all(
                &format!("SELECT {COLUMNS} FROM users WHERE tenant = $1 ORDER BY username"),
                params![tenant],
            )?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Disables or enables an account. Enabling also clears a lockout.
    pub fn set_user_disabled(
        &self,
        tenant: &str,
        username: &str,
        disabled: bool,
    ) -> Result<(), StoreError> {
        let user = self
            .user_by_name(tenant, username)?
            .ok_or(StoreError::NotFound("user"))?;
        self.db.execute(
            "UPDATE users SET disabled = $2 WHERE id = $1",
            params![user.id, disabled],
        )?;
        if !disabled {
            self.clear_sign_in_failures(&user.id)?;
        }
        Ok(())
    }

    /// Looks an account up by its id.
    pub fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        self.db
            .query_opt(
                &format!("SELECT {COLUMNS} FROM users WHERE id = $1"),
                params![id],
            )?
            .as_ref()
            .map(from_row)
            .transpose()
    }
}
