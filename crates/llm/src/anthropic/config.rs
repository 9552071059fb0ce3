//! Settings of the Anthropic client, and the API key that must not leak.

use std::fmt;
use std::time::Duration;

use zeroize::Zeroizing;

/// The public Anthropic API.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// An Anthropic API key.
///
/// Its `Debug` prints a redaction marker, it has no `Display` and no `Serialize`, and its
/// memory is wiped when it is dropped. Reading it takes a call named for what it does.
#[derive(Clone)]
pub struct ApiKey(Zeroizing<String>);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(Zeroizing::new(key.into()))
    }

    /// The key itself, for the one place that puts it in a header.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// When to stop calling a failing upstream, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failed attempts (5xx, overload, transport) that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before one probe is let through.
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

/// Settings of [`super::AnthropicProvider`].
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// Where the API lives, without a trailing `/v1`.
    pub base_url: String,
    /// The key sent as `x-api-key`.
    pub api_key: ApiKey,
    /// The longest one attempt of a non-streaming call may take, from sending to the last byte
    /// of the answer; for streaming calls, the longest silence between two chunks of the
    /// stream. A stream as a whole has no limit, because a long generation is legitimate.
    pub timeout: Duration,
    /// The longest one attempt may wait for the response's status and headers, streaming or not.
    ///
    /// The API sends a non-streaming answer's headers only once the message is complete, so
    /// this must stay generous unless every caller streams; it defaults to `timeout`.
    pub first_byte_timeout: Duration,
    /// The longest a TCP and TLS connection may take to establish.
    pub connect_timeout: Duration,
    /// Attempts after the first one for retryable failures.
    pub max_retries: u32,
    /// The first backoff; each retry doubles it, with jitter.
    pub backoff_base: Duration,
    /// The longest computed backoff.
    pub backoff_max: Duration,
    /// The longest wait a `retry-after` header is honoured for; longer waits are cut to this.
    pub retry_after_max: Duration,
    /// The circuit breaker.
    pub breaker: BreakerConfig,
}

impl AnthropicConfig {
    /// The defaults for the public API with the given key.
    pub fn new(api_key: ApiKey) -> Self {
        AnthropicConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key,
            timeout: Duration::from_secs(600),
            first_byte_timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(10),
            max_retries: 2,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(8),
            retry_after_max: Duration::from_secs(60),
            breaker: BreakerConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_key_never_shows_in_debug_output() {
        let config = AnthropicConfig::new(ApiKey::new("sk-ant-api03-very-secret"));
        let shown = format!("{config:?} {:?}", config.api_key);
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert_eq!(config.api_key.expose_secret(), "sk-ant-api03-very-secret");
    }
}
