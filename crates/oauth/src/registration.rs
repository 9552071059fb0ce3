//! Registering a client: the checks `phigate clients add` and the administrators' HTTP route
//! share, and the secret generated for confidential clients (shown once, stored as a digest).

use phigate_auth::{Role, random_token, scope};
use phigate_store::ClientRecord;
use zeroize::Zeroizing;

use crate::{METHODS, hash_client_secret};

/// A client as an operator describes it.
pub struct Registration<'a> {
    /// A display name, 1 to 64 printable characters.
    pub name: &'a str,
    /// The role the client's own tokens act in.
    pub role: &'a str,
    /// One of [`METHODS`].
    pub method: &'a str,
    /// Exact redirect URIs: `https://`, or `http://` on loopback, without a fragment.
    pub redirect_uris: &'a [String],
    /// The most the client may be granted; empty means everything its role grants.
    pub scopes: &'a [String],
    /// Public keys (JWKS JSON) for `private_key_jwt`, already read.
    pub jwks: Option<&'a str>,
}

/// Why a registration was refused. Messages name the field, never a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// A field is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// No randomness for the id or secret.
    #[error("no randomness available")]
    Random,
}

fn invalid(message: impl Into<String>) -> RegistrationError {
    RegistrationError::Invalid(message.into())
}

/// Checks `registration` and builds the client record of `tenant`, with a fresh id and, for the
/// secret methods, a fresh secret returned beside it.
pub fn new_client(
    tenant: &str,
    registration: &Registration<'_>,
) -> Result<(ClientRecord, Option<Zeroizing<String>>), RegistrationError> {
    let Registration {
        name,
        role,
        method,
        redirect_uris,
        scopes,
        jwks,
    } = registration;
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(invalid(
            "a client name must be 1 to 64 printable characters",
        ));
    }
    let role = Role::parse(role).map_err(|_| invalid("unknown role"))?;
    if !METHODS.contains(method) {
        return Err(invalid(format!(
            "the method must be one of {}",
            METHODS.join(", ")
        )));
    }
    for uri in *redirect_uris {
        let loopback = uri.starts_with("http://127.0.0.1") || uri.starts_with("http://localhost");
        if !(uri.starts_with("https://") || loopback) || uri.contains('#') || uri.contains(' ') {
            return Err(invalid(
                "redirect URIs must be https:// (or http:// on loopback) without a fragment",
            ));
        }
    }
    let role_scopes: Vec<String> = phigate_auth::scopes(role)
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let scopes = if scopes.is_empty() {
        role_scopes
    } else {
        if let Some(s) = scopes.iter().find(|s| !scope::is_granted(&role_scopes, s)) {
            return Err(invalid(format!(
                "scope {s} is not within what the {} role grants",
                role.as_str()
            )));
        }
        scopes.to_vec()
    };
    let jwks = match (*method, jwks) {
        ("private_key_jwt", Some(text)) => Some(check_jwks(text)?),
        ("private_key_jwt", None) => return Err(invalid("private_key_jwt clients need a JWKS")),
        (_, Some(_)) => return Err(invalid("a JWKS is only for private_key_jwt clients")),
        (_, None) => None,
    };
    let secret = if method.starts_with("client_secret") {
        Some(random_token("phs_").map_err(|_| RegistrationError::Random)?)
    } else {
        None
    };
    let record = ClientRecord {
        id: format!("cl_{}", random_hex()?),
        tenant: tenant.to_owned(),
        name: (*name).to_owned(),
        role: role.as_str().to_owned(),
        auth_method: (*method).to_owned(),
        secret_hash: secret.as_ref().map(|s| hash_client_secret(s)),
        jwks,
        redirect_uris: redirect_uris.to_vec(),
        scopes,
        revoked: false,
    };
    Ok((record, secret))
}

/// 128 random bits in hex, the form client ids have always had.
fn random_hex() -> Result<String, RegistrationError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RegistrationError::Random)?;
    Ok(hex::encode(bytes))
}

/// A JWKS of public keys, each with a `kid`, re-serialised compactly.
fn check_jwks(text: &str) -> Result<String, RegistrationError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| invalid("the JWKS is not JSON"))?;
    let keys = value["keys"]
        .as_array()
        .ok_or_else(|| invalid("the JWKS has no \"keys\" array"))?;
    if keys.is_empty()
        || keys
            .iter()
            .any(|k| k.get("d").is_some() || k["kid"].as_str().is_none())
    {
        return Err(invalid(
            "the JWKS must list public keys only, each with a kid",
        ));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration<'a>(method: &'a str, uris: &'a [String]) -> Registration<'a> {
        Registration {
            name: "bridge",
            role: "service",
            method,
            redirect_uris: uris,
            scopes: &[],
            jwks: None,
        }
    }

    #[test]
    fn secret_clients_get_a_secret_stored_only_as_its_digest() {
        let (record, secret) = new_client("t", &registration("client_secret_post", &[])).unwrap();
        let secret = secret.unwrap();
        assert_eq!(
            record.secret_hash.as_deref(),
            Some(hash_client_secret(&secret).as_str())
        );
        assert!(record.id.starts_with("cl_"));
        let (public, none) = new_client("t", &registration("none", &[])).unwrap();
        assert!(none.is_none() && public.secret_hash.is_none());
    }

    #[test]
    fn bad_registrations_are_refused_by_field() {
        let plain = vec!["http://example.org/cb".to_owned()];
        for (reg, field) in [
            (registration("basic", &[]), "method"),
            (registration("none", &plain), "redirect"),
            (registration("private_key_jwt", &[]), "JWKS"),
        ] {
            let err = new_client("t", &reg).unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
        }
        let wide = ["admin/users".to_owned()];
        let reg = Registration {
            scopes: &wide,
            ..registration("none", &[])
        };
        assert!(new_client("t", &reg).is_err());
    }
}
