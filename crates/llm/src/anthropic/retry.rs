//! Deciding how long to wait before trying again, and reading upstream failures.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::HeaderMap;

use super::config::AnthropicConfig;
use crate::error::{LlmError, TransportKind, sanitize_error_type};
use crate::types::ErrorResponse;

/// The most of an error body we read; the API's error bodies are a few hundred bytes.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// How long to wait before retry number `retry` (0 for the first retry).
///
/// A `retry-after` from the upstream wins, cut to `retry_after_max`. Otherwise the wait is
/// `backoff_base * 2^retry`, capped at `backoff_max`, less up to a quarter at random so that
/// many clients failing together do not retry together.
pub(crate) fn backoff(
    config: &AnthropicConfig,
    retry: u32,
    retry_after: Option<Duration>,
) -> Duration {
    if let Some(wait) = retry_after {
        return wait.min(config.retry_after_max);
    }
    let doubled = config
        .backoff_base
        .saturating_mul(2u32.saturating_pow(retry));
    doubled
        .min(config.backoff_max)
        .mul_f64(1.0 - 0.25 * random_unit())
}

/// A number in `[0, 1)` that differs between calls.
fn random_unit() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let bits = RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed));
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The wait the upstream asked for: `retry-after-ms`, else `retry-after` in seconds.
///
/// The HTTP-date form of `retry-after` is not read; the API sends seconds.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| -> Option<f64> {
        let value = headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()?;
        (value.is_finite() && value >= 0.0).then_some(value)
    };
    if let Some(ms) = number("retry-after-ms") {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    number("retry-after").map(Duration::from_secs_f64)
}

/// The upstream's `x-should-retry`: `true` or `false`, anything else is ignored.
pub(crate) fn should_retry(headers: &HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry")?.to_str().ok()?.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The upstream's `request-id`, if it looks like one.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    let id = headers.get("request-id")?.to_str().ok()?;
    let plausible = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    plausible.then(|| id.to_owned())
}

/// Turns a non-success response into an error, keeping the status, the error `type`, the
/// requested wait, `x-should-retry` and the request id, and dropping the message.
pub(crate) async fn error_from_response(mut response: reqwest::Response) -> LlmError {
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let request_id = request_id(response.headers());
    let should_retry = should_retry(response.headers());

    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > ERROR_BODY_LIMIT {
            break;
        }
    }
    let error_type = serde_json::from_slice::<ErrorResponse>(&body)
        .map(|parsed| sanitize_error_type(&parsed.error.error_type))
        .unwrap_or_else(|_| "unknown".to_owned());
    LlmError::Upstream {
        status,
        error_type,
        retry_after,
        request_id,
        should_retry,
    }
}

/// Turns a client-side failure into an error, without its text (which can hold the URL).
pub(crate) fn transport_error(err: &reqwest::Error) -> LlmError {
    if err.is_builder() {
        return LlmError::Config {
            reason: "request could not be built; check base_url",
        };
    }
    let kind = if err.is_timeout() {
        TransportKind::Timeout
    } else if err.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Interrupted
    };
    LlmError::Transport { kind }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;
    use crate::anthropic::ApiKey;

    fn config() -> AnthropicConfig {
        AnthropicConfig::new(ApiKey::new("k"))
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stays_under_the_cap() {
        let config = config();
        for retry in 0..10 {
            let full = config
                .backoff_base
                .saturating_mul(1 << retry)
                .min(config.backoff_max);
            let wait = backoff(&config, retry, None);
            assert!(
                wait <= full && wait >= full.mul_f64(0.75),
                "retry {retry}: {wait:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_its_cap() {
        let config = config();
        assert_eq!(
            backoff(&config, 0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            backoff(&config, 0, Some(Duration::from_secs(3600))),
            config.retry_after_max
        );
    }

    #[test]
    fn retry_after_is_read_in_milliseconds_or_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        headers.clear();
        headers.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn should_retry_is_read_only_when_it_is_true_or_false() {
        let mut headers = HeaderMap::new();
        assert_eq!(should_retry(&headers), None);
        headers.insert("x-should-retry", HeaderValue::from_static("true"));
        assert_eq!(should_retry(&headers), Some(true));
        headers.insert("x-should-retry", HeaderValue::from_static("false"));
        assert_eq!(should_retry(&headers), Some(false));
        headers.insert("x-should-retry", HeaderValue::from_static("maybe"));
        assert_eq!(should_retry(&headers), None);
    }
}
