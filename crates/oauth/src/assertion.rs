//! `private_key_jwt` client authentication as SMART Backend Services define it: the client signs
//! a short JWT with its private key (ES384 or RS384); the server checks it against the public
//! keys registered for the client.
//!
//! The assertion's `iss` and `sub` are the client id, `aud` is this token endpoint, `exp` is at
//! most five minutes ahead, and `jti` is never accepted twice. Keys are looked up by `kid` in the
//! JWKS registered with the client; fetching a `jku` URL is not supported, so a key rotation on
//! the client's side means registering its new JWKS.

use aws_lc_rs::signature::{
    ECDSA_P384_SHA384_FIXED, RSA_PKCS1_2048_8192_SHA384, RsaPublicKeyComponents, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use serde_json::Value;

use crate::OAuthError;

/// The `client_assertion_type` of a JWT bearer assertion (RFC 7523).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Longest an assertion may be valid into the future.
const MAX_ASSERTION_LIFETIME: i64 = 300;

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// The checked claims of an assertion.
#[derive(Debug, Deserialize)]
pub struct AssertionClaims {
    /// Issuer: the client id.
    pub iss: String,
    /// Subject: the client id.
    pub sub: String,
    /// Audience: the token endpoint (a string or a list of strings).
    pub aud: Value,
    /// Expiry.
    pub exp: i64,
    /// Unique id.
    pub jti: String,
}

fn refuse(reason: &'static str) -> OAuthError {
    OAuthError::invalid_client(reason)
}

/// The client id an assertion claims, read without checking anything, to find the client.
pub fn claimed_client(assertion: &str) -> Result<String, OAuthError> {
    let claims = assertion
        .split('.')
        .nth(1)
        .ok_or(refuse("The client assertion is not a JWT."))?;
    let claims: AssertionClaims = decode(claims)?;
    Ok(claims.iss)
}

/// Verifies `assertion` for `client_id` against the client's `jwks` at `now`.
pub fn verify(
    assertion: &str,
    client_id: &str,
    jwks: &str,
    token_endpoint: &str,
    now: i64,
) -> Result<AssertionClaims, OAuthError> {
    let mut parts = assertion.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse("The client assertion is not a JWT."));
    };
    let header: Header = decode(h)?;
    let kid = header
        .kid
        .ok_or(refuse("The client assertion has no kid."))?;
    let jwks: Value = serde_json::from_str(jwks)
        .map_err(|_| refuse("The client's registered JWKS is invalid."))?;
    let key = jwks["keys"]
        .as_array()
        .and_then(|keys| {
            keys.iter()
                .find(|k| k["kid"].as_str() == Some(kid.as_str()))
        })
        .ok_or(refuse("No registered key has the assertion's kid."))?;
    let signature = B64
        .decode(s)
        .map_err(|_| refuse("The client assertion's signature is not base64url."))?;
    let message = &assertion.as_bytes()[..h.len() + 1 + c.len()];
    check_signature(&header.alg, key, message, &signature)?;

    let claims: AssertionClaims = decode(c)?;
    if claims.iss != client_id || claims.sub != client_id {
        return Err(refuse("The assertion's iss and sub must be the client id."));
    }
    let audience_ok = match &claims.aud {
        Value::String(aud) => aud == token_endpoint,
        Value::Array(list) => list.iter().any(|a| a.as_str() == Some(token_endpoint)),
        _ => false,
    };
    if !audience_ok {
        return Err(refuse("The assertion's aud must be this token endpoint."));
    }
    if claims.exp <= now {
        return Err(refuse("The client assertion has expired."));
    }
    if claims.exp > now + MAX_ASSERTION_LIFETIME {
        return Err(refuse(
            "The client assertion may be valid for 5 minutes at most.",
        ));
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(refuse("The client assertion needs a jti."));
    }
    Ok(claims)
}

fn check_signature(
    alg: &str,
    key: &Value,
    message: &[u8],
    signature: &[u8],
) -> Result<(), OAuthError> {
    let field = |name: &str| -> Result<Vec<u8>, OAuthError> {
        key[name]
            .as_str()
            .and_then(|v| B64.decode(v).ok())
            .ok_or(refuse("The registered key is incomplete."))
    };
    let verified = match (alg, key["kty"].as_str()) {
        ("ES384", Some("EC")) if key["crv"].as_str() == Some("P-384") => {
            let (x, y) = (field("x")?, field("y")?);
            if x.len() != 48 || y.len() != 48 {
                return Err(refuse("The registered key is not a P-384 point."));
            }
            let point = [&[4u8][..], &x, &y].concat();
            UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, point).verify(message, signature)
        }
        ("RS384", Some("RSA")) => {
            let (n, e) = (field("n")?, field("e")?);
            RsaPublicKeyComponents { n: &n, e: &e }.verify(
                &RSA_PKCS1_2048_8192_SHA384,
                message,
                signature,
            )
        }
        ("ES384" | "RS384", _) => return Err(refuse("The key does not match the algorithm.")),
        _ => {
            return Err(refuse(
                "Client assertions must be signed with ES384 or RS384.",
            ));
        }
    };
    verified.map_err(|_| refuse("The client assertion's signature does not verify."))
}

fn decode<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, OAuthError> {
    let bytes = B64
        .decode(part)
        .map_err(|_| refuse("The client assertion is not base64url."))?;
    serde_json::from_slice(&bytes).map_err(|_| refuse("The client assertion is not valid JSON."))
}
