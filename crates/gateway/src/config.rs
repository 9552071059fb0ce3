//! What the gateway accepts: limits and the few policy switches a deployment sets.

use std::collections::BTreeMap;
use std::time::Duration;

use phigate_auth::RateLimit;

/// Default body limit, the same as the Anthropic API's for `/v1/messages`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Settings of one gateway.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// The tenant this gateway serves; tokens for another tenant are refused.
    pub tenant: String,
    /// Whether a provider off the premises may receive linkable placeholders: normally whether
    /// a business associate agreement with it is on record (the deployment decides). Without
    /// it such a provider gets Safe Harbor data.
    pub provider_baa: bool,
    /// Largest request body accepted; larger ones get `413 request_too_large`.
    pub max_body_bytes: usize,
    /// Deepest JSON nesting accepted (objects and arrays).
    pub max_json_depth: usize,
    /// Most messages accepted in one request.
    pub max_messages: usize,
    /// Longest a client may take to send its body.
    pub body_timeout: Duration,
    /// Longest a client may take to send a request's line and headers.
    ///
    /// The clock starts when the server begins waiting for a request: on a new connection, and
    /// on a kept-alive one after the previous answer. So it is also the idle timeout of a
    /// connection between requests; a connection busy with a request is bounded instead by
    /// `body_timeout` and the provider's own timeouts.
    pub header_timeout: Duration,
    /// `anthropic-beta` flags callers may use, unless their tenant has a list in
    /// `tenant_betas`; any other flag is refused with `400`.
    pub allowed_betas: Vec<String>,
    /// Per-tenant `anthropic-beta` allow-lists. A tenant listed here gets exactly its own list
    /// (which may be empty, to allow none), in place of `allowed_betas`.
    pub tenant_betas: BTreeMap<String, Vec<String>>,
    /// Lets images, PDFs and documents fetched by URL or file id through unscanned.
    ///
    /// Phigate cannot look inside them for PHI, so they are refused by default. Turning this on
    /// means trusting every caller to send only media without identifiers.
    pub danger_allow_unscanned_media: bool,
    /// Most thinking blocks whose de-identified original is kept for the next turn.
    pub thinking_cache_entries: usize,
    /// Token buckets on `/v1/*`, per principal, per OAuth client and per tenant.
    pub rate_limits: RateLimits,
    /// How long open requests may take to finish once shutdown begins.
    pub shutdown_grace: Duration,
}

/// The gateway's token buckets. A request takes one token from each; the first empty bucket
/// refuses it with `429` and `retry-after`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimits {
    /// Per user or service principal.
    pub principal: RateLimit,
    /// Per OAuth client the token was issued to.
    pub client: RateLimit,
    /// For the whole tenant.
    pub tenant: RateLimit,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            principal: RateLimit {
                burst: 60,
                per_second: 5.0,
            },
            client: RateLimit {
                burst: 300,
                per_second: 25.0,
            },
            tenant: RateLimit {
                burst: 1000,
                per_second: 100.0,
            },
        }
    }
}

impl GatewayConfig {
    /// The `anthropic-beta` flags callers of `tenant` may send.
    pub fn allowed_betas_for(&self, tenant: &str) -> &[String] {
        self.tenant_betas
            .get(tenant)
            .map_or(self.allowed_betas.as_slice(), Vec::as_slice)
    }

    /// The defaults for `tenant`: no BAA, 32 MB bodies, no betas, no unscanned media.
    pub fn new(tenant: impl Into<String>) -> Self {
        GatewayConfig {
            tenant: tenant.into(),
            provider_baa: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_json_depth: 64,
            max_messages: 2048,
            body_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(30),
            allowed_betas: Vec::new(),
            tenant_betas: BTreeMap::new(),
            danger_allow_unscanned_media: false,
            thinking_cache_entries: 10_000,
            rate_limits: RateLimits::default(),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}
