//! External identity providers: access or ID tokens from a configured issuer, checked against
//! the issuer's JWKS, with one of the token's claims mapped to a Phigate role.
//!
//! The JWKS is fetched on first use and cached; a token naming a key id the cache does not know
//! triggers one refetch (the issuer may have rotated), at most once per `min_refresh` so that
//! tokens with made-up key ids cannot make Phigate hammer the issuer. Only RS256 and ES256 are
//! accepted. A token whose role claim maps to no role is refused: least privilege by default.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use phigate_auth::{Principal, Role};
use serde::Deserialize;
use serde_json::Value;

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: i64 = 60;
/// Largest JWKS document read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Why an external token was refused. Messages name the check, never a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdpError {
    /// The token is malformed, badly signed, or fails a claim check.
    #[error("external token refused: {0}")]
    Invalid(&'static str),
    /// The token's role claim maps to no Phigate role.
    #[error("external token carries no mapped role")]
    NoRole,
    /// The issuer's JWKS could not be fetched or read.
    #[error("identity provider keys unavailable: {0}")]
    Jwks(&'static str),
}

/// One trusted issuer.
#[derive(Clone, Debug)]
pub struct IdpConfig {
    /// The `iss` its tokens carry.
    pub issuer: String,
    /// Where its JWKS is published (https, or http on loopback).
    pub jwks_uri: String,
    /// The `aud` its tokens must carry for Phigate.
    pub audience: String,
    /// The claim holding group or role names (a string or a list of strings).
    pub role_claim: String,
    /// Claim value to role, first match wins.
    pub role_map: Vec<(String, Role)>,
    /// The tenant its users belong to.
    pub tenant: String,
    /// How long a fetched JWKS is trusted before being fetched again.
    pub cache_ttl: Duration,
    /// Least time between two fetches caused by unknown key ids.
    pub min_refresh: Duration,
}

struct Cached {
    jwks: Value,
    fetched: Instant,
}

/// A configured external identity provider.
pub struct ExternalIdp {
    config: IdpConfig,
    http: reqwest::Client,
    cache: Mutex<Option<Cached>>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Value,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

impl ExternalIdp {
    /// A provider with `config`; refuses a JWKS URL that is plain HTTP off loopback.
    pub fn new(config: IdpConfig) -> Result<Self, IdpError> {
        let uri = &config.jwks_uri;
        let loopback = uri.starts_with("http://127.0.0.1:") || uri.starts_with("http://[::1]:");
        if !(uri.starts_with("https://") || loopback) {
            return Err(IdpError::Jwks("the JWKS URL must be https"));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| IdpError::Jwks("no HTTP client"))?;
        Ok(Self {
            config,
            http,
            cache: Mutex::new(None),
        })
    }

    /// The `iss` this provider's tokens carry.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// A provider whose JWKS is given rather than fetched first (for offline checks, tests and
    /// fuzzing). It is trusted for `cache_ttl` like a fetched one, and fetched anew after.
    pub fn with_jwks(config: IdpConfig, jwks: Value) -> Result<Self, IdpError> {
        if !jwks["keys"].is_array() {
            return Err(IdpError::Jwks("the JWKS has no keys"));
        }
        let idp = Self::new(config)?;
        *idp.cache.lock().map_err(|_| IdpError::Jwks("cache lock"))? = Some(Cached {
            jwks,
            fetched: Instant::now(),
        });
        Ok(idp)
    }

    /// Verifies `token` at `now` and returns the principal it speaks for.
    pub async fn verify(&self, token: &str, now: i64) -> Result<Principal, IdpError> {
        let bad = IdpError::Invalid;
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("not a compact JWS"));
        };
        let header: Header = decode(h)?;
        if !matches!(header.alg.as_str(), "RS256" | "ES256") {
            return Err(bad("unexpected algorithm"));
        }
        let kid = header.kid.ok_or(bad("no kid"))?;
        let key = match self.key(&kid, false).await? {
            Some(key) => key,
            None => self.key(&kid, true).await?.ok_or(bad("unknown key id"))?,
        };
        let signature = B64.decode(s).map_err(|_| bad("bad signature encoding"))?;
        let message = &token.as_bytes()[..h.len() + 1 + c.len()];
        check_signature(&header.alg, &key, message, &signature)?;

        let claims: Claims = decode(c)?;
        if claims.iss != self.config.issuer {
            return Err(bad("wrong issuer"));
        }
        let audience_ok = match &claims.aud {
            Value::String(aud) => *aud == self.config.audience,
            Value::Array(list) => list
                .iter()
                .any(|a| a.as_str() == Some(self.config.audience.as_str())),
            _ => false,
        };
        if !audience_ok {
            return Err(bad("wrong audience"));
        }
        if now >= claims.exp + LEEWAY_SECS {
            return Err(bad("expired"));
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + LEEWAY_SECS) {
            return Err(bad("not yet valid"));
        }
        if claims.sub.is_empty() {
            return Err(bad("no subject"));
        }
        let role = self.role(claims.rest.get(&self.config.role_claim))?;
        Ok(Principal::with_role(&claims.sub, &self.config.tenant, role))
    }

    fn role(&self, claim: Option<&Value>) -> Result<Role, IdpError> {
        let values: Vec<&str> = match claim {
            Some(Value::String(v)) => vec![v.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        self.config
            .role_map
            .iter()
            .find(|(name, _)| values.contains(&name.as_str()))
            .map(|(_, role)| *role)
            .ok_or(IdpError::NoRole)
    }

    /// The key `kid` from the cache, fetching the JWKS when the cache is empty or stale, or
    /// when `refresh` is asked for and the last fetch is old enough.
    async fn key(&self, kid: &str, refresh: bool) -> Result<Option<Value>, IdpError> {
        let stale = {
            let cache = self
                .cache
                .lock()
                .map_err(|_| IdpError::Jwks("cache lock"))?;
            match cache.as_ref() {
                None => true,
                Some(c) if c.fetched.elapsed() >= self.config.cache_ttl => true,
                Some(c) if refresh => c.fetched.elapsed() >= self.config.min_refresh,
                Some(_) => false,
            }
        };
        if stale {
            let jwks = self.fetch().await?;
            let mut cache = self
                .cache
                .lock()
                .map_err(|_| IdpError::Jwks("cache lock"))?;
            *cache = Some(Cached {
                jwks,
                fetched: Instant::now(),
            });
        }
        let cache = self
            .cache
            .lock()
            .map_err(|_| IdpError::Jwks("cache lock"))?;
        Ok(cache.as_ref().and_then(|c| {
            c.jwks["keys"]
                .as_array()?
                .iter()
                .find(|k| k["kid"].as_str() == Some(kid))
                .cloned()
        }))
    }

    async fn fetch(&self) -> Result<Value, IdpError> {
        let response = self
            .http
            .get(&self.config.jwks_uri)
            .send()
            .await
            .map_err(|_| IdpError::Jwks("fetch failed"))?;
        if !response.status().is_success() {
            return Err(IdpError::Jwks("the issuer answered with an error"));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|_| IdpError::Jwks("fetch failed"))?;
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(IdpError::Jwks("the JWKS is too large"));
        }
        let jwks: Value =
            serde_json::from_slice(&bytes).map_err(|_| IdpError::Jwks("the JWKS is not JSON"))?;
        if !jwks["keys"].is_array() {
            return Err(IdpError::Jwks("the JWKS has no keys"));
        }
        Ok(jwks)
    }
}

fn check_signature(
    alg: &str,
    key: &Value,
    message: &[u8],
    signature: &[u8],
) -> Result<(), IdpError> {
    let field = |name: &str| -> Result<Vec<u8>, IdpError> {
        key[name]
            .as_str()
            .and_then(|v| B64.decode(v).ok())
            .ok_or(IdpError::Invalid("incomplete key"))
    };
    let verified = match (alg, key["kty"].as_str()) {
        ("ES256", Some("EC")) if key["crv"].as_str() == Some("P-256") => {
            let point = [&[4u8][..], &field("x")?, &field("y")?].concat();
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature)
        }
        ("RS256", Some("RSA")) => {
            let (n, e) = (field("n")?, field("e")?);
            RsaPublicKeyComponents { n: &n, e: &e }.verify(
                &RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            )
        }
        _ => return Err(IdpError::Invalid("key does not match the algorithm")),
    };
    verified.map_err(|_| IdpError::Invalid("bad signature"))
}

fn decode<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, IdpError> {
    let bytes = B64
        .decode(part)
        .map_err(|_| IdpError::Invalid("bad base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| IdpError::Invalid("bad JSON"))
}
