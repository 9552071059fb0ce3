//! Phigate's Anthropic-compatible HTTP gateway.
//!
//! Applications point the official Anthropic SDK at this gateway (`base_url`) and change nothing
//! else. Each `/v1/messages` request goes through the same steps, in this order:
//!
//! 1. a `request-id` is assigned (and returned on every response, errors included);
//! 2. the caller's credential — a Phigate access token sent as `x-api-key` or
//!    `Authorization: Bearer` — is verified; it is never forwarded;
//! 3. headers and body are checked: `anthropic-beta` allow-list, body size, JSON depth,
//!    message count, and no unscanned media (images, PDFs) unless policy allows them;
//! 4. every string leaf of the request is de-identified with one vault for the request;
//! 5. the BAA disclosure policy shapes the bytes, and the egress gate checks them for every
//!    value in the vault — fail closed;
//! 6. the disclosure is audited durably, and only then is the provider called;
//! 7. the answer is audited and re-identified (streamed answers block by block) and returned.
//!
//! Placeholders are numbered by first appearance in the request, so when an application resends
//! the conversation with the real values restored, the earlier turns get the same placeholders
//! again: no conversation state is kept on the server. [`scrub`] and [`thinking`] explain the
//! details.
//!
//! This crate owns routing, the order of the steps and the mapping of errors to responses. It
//! holds no detection, cryptography or storage logic of its own: those live in `deid`, `auth`,
//! `audit` and `llm`.

mod audit;
mod auth;
mod body;
pub mod config;
pub mod console;
mod containment;
mod disclosure;
pub mod error;
mod external;
mod metrics;
mod restore;
mod routes;
pub mod scrub;
mod server;
mod stream;
pub mod thinking;
pub mod tls;
mod validate;

use std::sync::Arc;

use phigate_audit::AuditLog;
use phigate_auth::{RateLimiter, TokenVerifier, VerifiedTokens};
use phigate_deid::Detector;
use phigate_llm::Provider;

pub use config::{DEFAULT_MAX_BODY_BYTES, GatewayConfig, RateLimits};
pub use console::{CONSOLE_CLIENT_ID, ConsoleClient, ensure_console_client};
pub use error::GatewayError;
pub use routes::router;

use crate::thinking::ThinkingStore;

/// Everything a request needs, built once and shared by every request.
pub struct Gateway {
    config: GatewayConfig,
    audit: Arc<AuditLog>,
    detector: Arc<Detector>,
    provider: Arc<dyn Provider>,
    tokens: TokenVerifier,
    /// Access tokens whose signatures were already checked (see `phigate_auth::VerifiedTokens`):
    /// a caller resending its token pays for one signature check, not one per request.
    verified: VerifiedTokens,
    thinking: ThinkingStore,
    /// Buckets per principal, client and tenant, in that order.
    limiters: [RateLimiter; 3],
    patient_refs: Option<PatientRefs>,
    /// The agent pipeline behind `/v1/tasks` and `/v1/drafts`, when enabled.
    tasks: Option<Arc<phigate_agent::Pipeline>>,
    /// The application store behind `/v1/admin`, when enabled.
    admin: Option<phigate_store::Store>,
    /// The store holding operators' provider blocks, checked before every provider call.
    containment: Option<phigate_store::Store>,
    /// The public OAuth client the patient's page at `/patient/` signs in with, if any.
    patient_client_id: Option<String>,
    /// The incidents behind `/v1/incidents`, when kept.
    incidents: Option<phigate_incidents::IncidentBook>,
    /// What `/readyz` checks besides the audit log.
    readiness: Option<Arc<dyn Readiness>>,
    /// External identity providers whose tokens are accepted beside Phigate's own.
    external: external::ExternalIssuers,
    /// Where the current verifier of Phigate's own tokens comes from, when keys can rotate
    /// while the gateway runs; `tokens` otherwise.
    token_source: Option<TokenSource>,
}

/// Gives the verifier of Phigate's own access tokens at a time (Unix seconds).
pub type TokenSource = Arc<dyn Fn(i64) -> TokenVerifier + Send + Sync>;

/// One part `/readyz` checks, and whether it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadyCheck {
    /// The part: `database`, `audit`, `kms`.
    pub part: &'static str,
    /// Whether it answered.
    pub ok: bool,
}

/// The deployment's readiness checks, run on the blocking pool for each `/readyz`. An
/// implementation says only which part failed, never why (the reason may name a host or key).
pub trait Readiness: Send + Sync {
    /// Checks every part.
    fn check(&self) -> Vec<ReadyCheck>;
}

/// Computes a patient's keyed HMAC reference from a tenant and the identifier an auditor gives,
/// the way the
/// store computes it.
pub type PatientRefs = Arc<dyn Fn(&str, &str) -> String + Send + Sync>;

impl Gateway {
    /// A gateway serving `config.tenant` in front of `provider`.
    pub fn new(
        config: GatewayConfig,
        audit: Arc<AuditLog>,
        detector: Arc<Detector>,
        provider: Arc<dyn Provider>,
        tokens: TokenVerifier,
    ) -> Self {
        let thinking = ThinkingStore::new(config.thinking_cache_entries);
        let limits = config.rate_limits;
        let limiters = [
            RateLimiter::new(limits.principal),
            RateLimiter::new(limits.client),
            RateLimiter::new(limits.tenant),
        ];
        Gateway {
            config,
            audit,
            detector,
            provider,
            tokens,
            verified: VerifiedTokens::default(),
            thinking,
            limiters,
            patient_refs: None,
            tasks: None,
            admin: None,
            containment: None,
            patient_client_id: None,
            incidents: None,
            readiness: None,
            external: external::ExternalIssuers::default(),
            token_source: None,
        }
    }

    /// Verifies Phigate's own tokens with whatever `source` gives on each request, so that a
    /// signing-key rotation (and the end of a retired key's life) takes effect while running.
    pub fn with_token_source(mut self, source: TokenSource) -> Self {
        self.token_source = Some(source);
        self
    }

    /// Accepts bearer tokens from `issuers` beside Phigate's own, routed by their `iss`.
    pub fn with_external_issuers(mut self, issuers: Vec<phigate_oauth::ExternalIdp>) -> Self {
        self.external = external::ExternalIssuers::new(issuers);
        self
    }

    /// Lets auditors name patients by identifier on the `/v1/audit` routes; without it they
    /// give the HMAC reference (`patient_ref`).
    pub fn with_patient_refs(mut self, patient_refs: PatientRefs) -> Self {
        self.patient_refs = Some(patient_refs);
        self
    }

    /// Replaces the per-process limiters (principal, client, tenant, in that order), for
    /// instance with limiters whose buckets the replicas share.
    pub fn with_rate_limiters(mut self, limiters: [RateLimiter; 3]) -> Self {
        self.limiters = limiters;
        self
    }

    /// Serves agent tasks (`POST /v1/tasks/{task}`) and draft review (`/v1/drafts`) with
    /// `pipeline`; without it those routes answer 404.
    pub fn with_tasks(mut self, pipeline: Arc<phigate_agent::Pipeline>) -> Self {
        self.tasks = Some(pipeline);
        self
    }

    /// Serves the administrators' routes (`/v1/admin/users`, `clients`, `keys`) over `store`;
    /// without it those routes answer 404.
    pub fn with_admin(mut self, store: phigate_store::Store) -> Self {
        self.admin = Some(store);
        self
    }

    /// Serves the patient's chat page at `/patient/`, signing in through the public OAuth
    /// client `client_id` (registered with role patient, method `none` and the page's
    /// `/patient/` address as redirect URI).
    pub fn with_patient_portal(mut self, client_id: String) -> Self {
        self.patient_client_id = Some(client_id);
        self
    }

    /// Serves `/v1/incidents` from `book`; without it those routes answer 404.
    pub fn with_incidents(mut self, book: phigate_incidents::IncidentBook) -> Self {
        self.incidents = Some(book);
        self
    }

    /// Makes `/readyz` run `readiness` (the store database, the audit store, the KMS) instead
    /// of only reading the audit log.
    pub fn with_readiness(mut self, readiness: Arc<dyn Readiness>) -> Self {
        self.readiness = Some(readiness);
        self
    }

    /// The settings the gateway runs with.
    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }
}

pub use server::{serve, serve_tls, serve_tls_with, serve_with};

/// A random 128-bit id in hex.
fn random_hex() -> Result<String, GatewayError> {
    phigate_agent::random_id().map_err(|_| GatewayError::Internal("no randomness"))
}

/// SHA-256 of `bytes` in lowercase hex, for audit entries.
fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}
