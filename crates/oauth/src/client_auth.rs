//! Who the client is: `client_secret_basic`, `client_secret_post`, `private_key_jwt`, or a
//! public client (`none`, authorization code with PKCE only). A client must use the method it
//! was registered with, and exactly one method per request.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use phigate_auth::hash_refresh_token;
use phigate_store::ClientRecord;

use crate::assertion::{self, ASSERTION_TYPE};
use crate::form::Form;
use crate::{OAuthError, OAuthServer};

/// How the client proved itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// HTTP Basic with id and secret.
    SecretBasic,
    /// Id and secret in the form.
    SecretPost,
    /// A signed JWT assertion.
    PrivateKeyJwt,
    /// A public client: id only.
    None,
}

impl Method {
    /// The registered name of the method.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecretBasic => "client_secret_basic",
            Self::SecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }
}

/// The methods clients may be registered with.
pub const METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];

/// The SHA-256 digest a client secret is stored as.
pub fn hash_client_secret(secret: &str) -> String {
    hash_refresh_token(secret)
}

pub(crate) fn basic_credentials(
    headers: &HeaderMap,
) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::invalid_client("Malformed Basic credentials.");
    let value = value.to_str().map_err(|_| bad())?;
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    // RFC 6749 section 2.3.1: both halves are form-urlencoded before joining.
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

impl OAuthServer {
    /// Authenticates the client of a token, revocation or introspection request.
    pub(crate) fn authenticate_client(
        &self,
        headers: &HeaderMap,
        form: &Form,
        now: i64,
    ) -> Result<(ClientRecord, Method), OAuthError> {
        let basic = basic_credentials(headers)?;
        let assertion = form.get("client_assertion");
        let posted_secret = form.get("client_secret");
        let methods = usize::from(basic.is_some())
            + usize::from(assertion.is_some())
            + usize::from(posted_secret.is_some());
        if methods > 1 {
            return Err(OAuthError::invalid_request(
                "Use exactly one client authentication method.",
            ));
        }
        let (client_id, method) = if let Some((id, _)) = &basic {
            (id.clone(), Method::SecretBasic)
        } else if let Some(assertion) = assertion {
            if form.get("client_assertion_type") != Some(ASSERTION_TYPE) {
                return Err(OAuthError::invalid_client(
                    "Unsupported client_assertion_type.",
                ));
            }
            (assertion::claimed_client(assertion)?, Method::PrivateKeyJwt)
        } else if posted_secret.is_some() {
            let id = form.require("client_id", "client_id is required.")?;
            (id.to_owned(), Method::SecretPost)
        } else {
            let id = form.get("client_id").ok_or(OAuthError::invalid_client(
                "Client authentication is required.",
            ))?;
            (id.to_owned(), Method::None)
        };
        if form.get("client_id").is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_client("client_id does not match."));
        }

        let client = self
            .store
            .client(&client_id)?
            .filter(|c| !c.revoked && c.tenant == self.config.tenant)
            .ok_or(OAuthError::invalid_client("Unknown or revoked client."))?;
        if client.auth_method != method.as_str() {
            return Err(OAuthError::invalid_client(
                "The client must use the authentication method it was registered with.",
            ));
        }
        match method {
            Method::SecretBasic | Method::SecretPost => {
                let secret = match (&basic, posted_secret) {
                    (Some((_, secret)), _) => secret.as_str(),
                    (None, Some(secret)) => secret,
                    (None, None) => "",
                };
                let presented = hash_client_secret(secret);
                let stored = client.secret_hash.as_deref().unwrap_or_default();
                verify_slices_are_equal(presented.as_bytes(), stored.as_bytes())
                    .map_err(|_| OAuthError::invalid_client("Client authentication failed."))?;
            }
            Method::PrivateKeyJwt => {
                let jwks = client.jwks.as_deref().ok_or(OAuthError::invalid_client(
                    "The client has no registered keys.",
                ))?;
                let claims = assertion::verify(
                    assertion.unwrap_or_default(),
                    &client.id,
                    jwks,
                    &self.token_endpoint(),
                    now,
                )?;
                if !self
                    .store
                    .claim_assertion_jti(&client.id, &claims.jti, claims.exp, now)?
                {
                    return Err(OAuthError::invalid_client(
                        "This client assertion was already used.",
                    ));
                }
            }
            Method::None => {}
        }
        Ok((client, method))
    }
}
