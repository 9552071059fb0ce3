//! Phigate's OAuth 2.0 authorization server, as an axum [`Router`] merged into the gateway.
//!
//! It issues short-lived EdDSA access tokens and rotating refresh tokens through three grants:
//! `client_credentials` for machines (`client_secret_basic`, `client_secret_post`, or
//! `private_key_jwt` as SMART Backend Services define it), `authorization_code` with PKCE (S256
//! only) for people, who sign in on a small server-rendered page with password and TOTP, and
//! `refresh_token` with rotation and reuse detection. It also serves revocation (RFC 7009),
//! introspection (RFC 7662), discovery (`/.well-known/openid-configuration` and
//! `/.well-known/smart-configuration`) and the JWKS. [`ExternalIdp`] checks tokens from an
//! organisation's own identity provider against its JWKS.
//!
//! It refuses the implicit and password grants, `plain` PKCE, redirect URIs that are not
//! registered exactly, and anything not in RFC 6749's grammar. It holds no policy of its own
//! beyond the protocol: roles, scopes, TOTP, lockout and token formats come from `auth`, state
//! from `store`, and every sign-in and issued token is recorded in the audit log.

mod assertion;
mod authorize;
mod client_auth;
mod discovery;
mod error;
mod form;
mod grants;
mod idp;
mod introspect;
mod login;
mod page;
mod registration;
mod revoke;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use phigate_audit::AuditLog;
use phigate_auth::{
    LockoutPolicy, RateLimit, RateLimiter, RefreshPolicy, RevocationList, TokenKeys, TokenVerifier,
};
use phigate_store::Store;

pub use assertion::{ASSERTION_TYPE, AssertionClaims, claimed_client, verify as verify_assertion};
pub use client_auth::{METHODS, hash_client_secret};
pub use error::OAuthError;
pub use idp::{ExternalIdp, IdpConfig, IdpError};
pub use registration::{Registration, RegistrationError, new_client};

/// Settings of the authorization server.
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// The issuer: this server's base URL (`https://phigate.example`), also the `iss` of tokens.
    pub issuer: String,
    /// The audience of access tokens (the gateway).
    pub audience: String,
    /// The tenant served.
    pub tenant: String,
    /// Lifetime of access tokens (capped at 15 minutes by `auth`).
    pub access_ttl: Duration,
    /// Refresh-token lifetimes and grace.
    pub refresh: RefreshPolicy,
    /// Backoff and lockout of people's sign-ins.
    pub lockout: LockoutPolicy,
    /// Requests to `/oauth/token` and sign-in attempts, per client id and per username.
    pub token_rate: RateLimit,
    /// Mark the sign-in page's CSRF cookie `Secure`, so a browser never sends it over plain
    /// HTTP. On by default when the issuer is `https://`; set it too when serving TLS.
    pub secure_cookies: bool,
}

impl OAuthConfig {
    /// Defaults for `issuer` and `tenant`: 15-minute access tokens, 30-minute idle and
    /// 12-hour absolute refresh lifetimes, 20 token requests at once then 1 per second.
    pub fn new(issuer: &str, audience: &str, tenant: &str) -> Self {
        Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            audience: audience.to_owned(),
            tenant: tenant.to_owned(),
            access_ttl: phigate_auth::MAX_ACCESS_TOKEN_TTL,
            refresh: RefreshPolicy::default(),
            lockout: LockoutPolicy::default(),
            token_rate: RateLimit {
                burst: 20,
                per_second: 1.0,
            },
            secure_cookies: issuer.starts_with("https://"),
        }
    }
}

/// A pending authorization request, between the login page and its submission.
struct Pending {
    client_id: String,
    redirect_uri: String,
    scope: Option<String>,
    state: Option<String>,
    challenge: String,
    csrf: zeroize::Zeroizing<String>,
    expires: Instant,
    /// The client address that asked for it (`None` when the server does not say).
    address: Option<std::net::IpAddr>,
}

/// The authorization server.
pub struct OAuthServer {
    config: OAuthConfig,
    store: Store,
    audit: Arc<AuditLog>,
    /// Replaced whole when the deployment's keys change on disk (see [`Self::set_keys`]).
    keys: RwLock<TokenKeys>,
    revocations: Arc<RevocationList>,
    limiter: RateLimiter,
    pending: Mutex<HashMap<String, Pending>>,
}

impl OAuthServer {
    /// A server issuing tokens with `keys`, honouring and adding to `revocations`.
    pub fn new(
        config: OAuthConfig,
        store: Store,
        audit: Arc<AuditLog>,
        keys: TokenKeys,
        revocations: Arc<RevocationList>,
    ) -> Self {
        let limiter = RateLimiter::new(config.token_rate);
        Self {
            config,
            store,
            audit,
            keys: RwLock::new(keys),
            revocations,
            limiter,
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the per-process limiter of the token endpoint, for instance with one whose
    /// buckets the replicas share.
    pub fn with_token_limiter(mut self, limiter: RateLimiter) -> Self {
        self.limiter = limiter;
        self
    }

    /// The settings.
    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }

    /// A verifier for this server's access tokens at `now`, honouring revocations.
    ///
    /// The verifier is a snapshot: a caller that must follow key rotations asks again (it is
    /// cheap: a handful of public keys).
    pub fn verifier(&self, now: i64) -> TokenVerifier {
        let keys = match self.keys.read() {
            Ok(keys) => keys.verifier(&self.config.audience, now),
            // A poisoned lock trusts no key: every token is refused until a restart.
            Err(_) => TokenVerifier::new(Vec::new(), &self.config.issuer, &self.config.audience),
        };
        keys.with_revocations(self.revocations.clone())
    }

    /// Replaces the signing key and the published retired keys, as a rotation on disk asks:
    /// new tokens are signed with the new key from the next request on.
    pub fn set_keys(&self, keys: TokenKeys) {
        if let Ok(mut current) = self.keys.write() {
            *current = keys;
        }
    }

    /// The JWKS published at `now`.
    pub fn jwks(&self, now: i64) -> serde_json::Value {
        match self.keys.read() {
            Ok(keys) => keys.jwks(now),
            Err(_) => serde_json::json!({"keys": []}),
        }
    }

    /// How many sign-in forms are open (shown, not yet submitted or expired).
    pub fn pending_sign_ins(&self) -> usize {
        self.pending.lock().map_or(0, |map| map.len())
    }

    fn token_endpoint(&self) -> String {
        format!("{}/oauth/token", self.config.issuer)
    }

    fn throttle(&self, key: &str) -> Result<(), OAuthError> {
        self.limiter
            .check(key, Instant::now())
            .map_err(OAuthError::slow_down)
    }
}

/// The current time in Unix seconds.
fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The authorization server's routes.
pub fn router(server: Arc<OAuthServer>) -> Router {
    Router::new()
        .route("/oauth/token", post(grants::token))
        .route(
            "/oauth/authorize",
            get(authorize::show).post(authorize::submit),
        )
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/oauth/introspect", post(introspect::introspect))
        .route("/oauth/jwks", get(discovery::jwks))
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/.well-known/smart-configuration",
            get(discovery::smart_configuration),
        )
        .with_state(server)
}
