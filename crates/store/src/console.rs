//! What the web console's registration needs from the client table.

use crate::db::Sql;
use crate::{Store, StoreError, params};

impl Store {
    /// Replaces the redirect URIs of a client of `tenant`.
    pub fn set_client_redirect_uris(
        &self,
        tenant: &str,
        id: &str,
        redirect_uris: &[String],
    ) -> Result<(), StoreError> {
        let changed = self.db.execute(
            "UPDATE oauth_clients SET redirect_uris = $3 WHERE tenant = $1 AND id = $2",
            params![tenant, id, redirect_uris.join(" ")],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound("client"));
        }
        Ok(())
    }
}
