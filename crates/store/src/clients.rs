//! OAuth clients. A confidential client's secret is kept as a SHA-256 digest (secrets are 256
//! random bits, so a slow hash adds nothing); a `private_key_jwt` client's public keys as a
//! JWKS document. Nothing here is PHI.

use crate::db::{Row, Sql, now};
use crate::{Store, StoreError, params};

/// One registered client.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// The `client_id`.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// A display name for operators.
    pub name: String,
    /// The role tokens issued to the client itself act in (`client_credentials`).
    pub role: String,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none` (public).
    pub auth_method: String,
    /// SHA-256 hex of the secret, for the secret methods.
    pub secret_hash: Option<String>,
    /// The client's public keys (JWKS JSON), for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Exact redirect URIs allowed for `authorization_code`.
    pub redirect_uris: Vec<String>,
    /// The most the client may ever be granted.
    pub scopes: Vec<String>,
    /// Revoked clients can do nothing.
    pub revoked: bool,
}

impl std::fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRecord")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("auth_method", &self.auth_method)
            .field("revoked", &self.revoked)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str =
    "id, tenant, name, role, auth_method, secret_hash, jwks, redirect_uris, scopes, revoked";

fn from_row(row: &Row) -> Result<ClientRecord, StoreError> {
    let uris: String = row.get(7)?;
    let scopes: String = row.get(8)?;
    Ok(ClientRecord {
        id: row.get(0)?,
        tenant: row.get(1)?,
        name: row.get(2)?,
        role: row.get(3)?,
        auth_method: row.get(4)?,
        secret_hash: row.get(5)?,
        jwks: row.get(6)?,
        redirect_uris: uris.split_whitespace().map(str::to_owned).collect(),
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        revoked: row.get(9)?,
    })
}

impl Store {
    /// Registers a client; its id must be new.
    pub fn insert_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        let inserted = self.db.execute(
            "INSERT INTO oauth_clients
             (id, tenant, name, role, auth_method, secret_hash, jwks, redirect_uris, scopes,
              revoked, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (id) DO NOTHING",
            params![
                client.id,
                client.tenant,
                client.name,
                client.role,
                client.auth_method,
                client.secret_hash,
                client.jwks,
                client.redirect_uris.join(" "),
                client.scopes.join(" "),
                client.revoked,
                now()
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::Conflict("client id exists"));
        }
        Ok(())
    }

    /// Looks a client up by id.
    pub fn client(&self, id: &str) -> Result<Option<ClientRecord>, StoreError> {
        self.db
            .query_opt(
                &format!("SELECT {COLUMNS} FROM oauth_clients WHERE id = $1"),
                params![id],
            )?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// Every client of a tenant.
    pub fn list_clients(&self, tenant: &str) -> Result<Vec<ClientRecord>, StoreError> {
        self.db
            .query_all(
                &format!("SELECT {COLUMNS} FROM oauth_clients WHERE tenant = $1 ORDER BY name, id"),
                params![tenant],
            )?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Revokes a client and every refresh-token family issued through it.
    pub fn revoke_client(&self, tenant: &str, id: &str) -> Result<(), StoreError> {
        let at = now();
        self.db.transaction(|tx| {
            let changed = tx.execute(
                "UPDATE oauth_clients SET revoked = 1 WHERE tenant = $1 AND id = $2",
                params![tenant, id],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound("client"));
            }
            tx.execute(
                "UPDATE refresh_families SET revoked_at = $3, revoked_reason = 'client revoked'
                 WHERE tenant = $1 AND client_id = $2 AND revoked_at IS NULL",
                params![tenant, id, at],
            )?;
            Ok(())
        })
    }
}
