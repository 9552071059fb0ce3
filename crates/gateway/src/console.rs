//! The web console's OAuth client: a public client (PKCE, no secret) with a fixed id, whose one
//! redirect URI is the console's callback on the configured issuer.
//!
//! `phigate init` registers it and `phigate serve` keeps its redirect URI in step with
//! `oauth.issuer` at every start, so changing the issuer is all a deployment does to move the
//! console. Revoking the client (`phigate clients revoke phigate-console`) turns the console's
//! sign-in off for good: a revoked client is left revoked.

use phigate_auth::Role;
use phigate_store::{ClientRecord, Store, StoreError};

/// The console's `client_id`; the console's script sends the same.
pub const CONSOLE_CLIENT_ID: &str = "phigate-console";

/// The path of the console's OAuth callback, below the issuer.
pub const CONSOLE_CALLBACK: &str = "/console/callback";

/// Scopes the console never asks for: it sends no model requests and opens no emergency access.
const NOT_FOR_THE_CONSOLE: [&str; 2] = ["messages/create", "break-glass"];

/// What [`ensure_console_client`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleClient {
    /// The client did not exist and was registered.
    Registered,
    /// Its redirect URI followed a new issuer.
    Updated,
    /// It was already as configured.
    Unchanged,
    /// It was revoked, and stays so: the console cannot sign anyone in.
    Revoked,
}

/// The console's callback URL on `issuer`.
pub fn console_redirect_uri(issuer: &str) -> String {
    format!("{}{CONSOLE_CALLBACK}", issuer.trim_end_matches('/'))
}

/// The most a console session may hold: what the people using the console need for review,
/// audit and administration, and nothing for machines.
pub fn console_scopes() -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for role in Role::ALL.into_iter().filter(|r| r.is_person()) {
        for scope in phigate_auth::scopes(role) {
            if !NOT_FOR_THE_CONSOLE.contains(scope) && !scopes.iter().any(|s| s == scope) {
                scopes.push((*scope).to_owned());
            }
        }
    }
    scopes
}

/// Registers the console client of `tenant` for `issuer`, or moves its redirect URI there.
pub fn ensure_console_client(
    store: &Store,
    tenant: &str,
    issuer: &str,
) -> Result<ConsoleClient, StoreError> {
    let redirect = console_redirect_uri(issuer);
    match store.client(CONSOLE_CLIENT_ID)? {
        Some(client) if client.revoked => Ok(ConsoleClient::Revoked),
        Some(client) if client.redirect_uris == [redirect.clone()] => Ok(ConsoleClient::Unchanged),
        Some(_) => {
            store.set_client_redirect_uris(tenant, CONSOLE_CLIENT_ID, &[redirect])?;
            Ok(ConsoleClient::Updated)
        }
        None => {
            store.insert_client(&ClientRecord {
                id: CONSOLE_CLIENT_ID.to_owned(),
                tenant: tenant.to_owned(),
                name: "Phigate console".to_owned(),
                // Tokens of a public client act for the person who signed in, never as the
                // client itself (client_credentials is refused to public clients).
                role: Role::Clinician.as_str().to_owned(),
                auth_method: "none".to_owned(),
                secret_hash: None,
                jwks: None,
                redirect_uris: vec![redirect],
                scopes: console_scopes(),
                revoked: false,
            })?;
            Ok(ConsoleClient::Registered)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_never_holds_machine_or_emergency_scopes() {
        let scopes = console_scopes();
        for needed in [
            "draft/read",
            "draft/sign",
            "audit/read",
            "admin/users",
            "admin/keys",
        ] {
            assert!(scopes.iter().any(|s| s == needed), "{needed}");
        }
        for refused in NOT_FOR_THE_CONSOLE {
            assert!(!scopes.iter().any(|s| s == refused), "{refused}");
        }
    }

    #[test]
    fn the_console_client_follows_the_issuer_and_a_revoked_one_stays_revoked() {
        use std::sync::Arc;

        use phigate_crypto::{KeyMaterial, LocalKms};

        let dir = tempfile::tempdir().unwrap();
        let kms = LocalKms::from_key(KeyMaterial::from_bytes(&[3u8; 32]).unwrap());
        let store = Store::open(&dir.path().join("app.db"), Arc::new(kms)).unwrap();
        let ensure = |issuer| ensure_console_client(&store, "t1", issuer).unwrap();
        assert_eq!(ensure("http://127.0.0.1:8080"), ConsoleClient::Registered);
        assert_eq!(ensure("http://127.0.0.1:8080"), ConsoleClient::Unchanged);
        assert_eq!(ensure("https://phigate.example"), ConsoleClient::Updated);
        let client = store.client(CONSOLE_CLIENT_ID).unwrap().unwrap();
        assert_eq!(
            client.redirect_uris,
            ["https://phigate.example/console/callback"]
        );
        assert_eq!(client.auth_method, "none");
        assert!(client.secret_hash.is_none());
        store.revoke_client("t1", CONSOLE_CLIENT_ID).unwrap();
        assert_eq!(ensure("https://other.example"), ConsoleClient::Revoked);
        assert!(store.client(CONSOLE_CLIENT_ID).unwrap().unwrap().revoked);
    }

    #[test]
    fn the_callback_sits_on_the_issuer() {
        assert_eq!(
            console_redirect_uri("https://phigate.example/"),
            "https://phigate.example/console/callback"
        );
    }
}
