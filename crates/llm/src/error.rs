//! What can go wrong talking to a model provider, who is at fault, and what to answer.
//!
//! No variant holds text from a request or from an upstream body: parser messages can quote
//! the input, and upstream error messages can quote the prompt. What is kept is the shape of
//! the failure (status, the upstream's error `type`, where a parse failed), which is enough for
//! an operator and safe for a log line.

use std::fmt;
use std::time::Duration;

use crate::types::ApiError;

/// Who caused a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The caller sent something the provider refused.
    Client,
    /// The provider failed, was unreachable or was overloaded.
    Upstream,
    /// Phigate itself is misconfigured or has a bug.
    Gateway,
}

/// How a connection to the provider failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// No connection could be made.
    Connect,
    /// No answer (or no next stream chunk) within the configured timeout.
    Timeout,
    /// The connection dropped before a complete answer arrived.
    Interrupted,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connection failed",
            TransportKind::Timeout => "timed out",
            TransportKind::Interrupted => "connection interrupted",
        })
    }
}

/// A failure of a provider call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// The request cannot be sent as it is.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// Why, in words fixed at compile time.
        reason: &'static str,
    },
    /// The provider is configured wrongly (bad base URL, unusable API key, ...).
    #[error("provider misconfigured: {reason}")]
    Config {
        /// Why, in words fixed at compile time.
        reason: &'static str,
    },
    /// The provider answered with an error status.
    #[error("upstream answered {status} ({error_type})")]
    Upstream {
        /// The HTTP status the provider sent.
        status: u16,
        /// The provider's error `type`, or `unknown` when the body had none.
        error_type: String,
        /// How long the provider asked us to wait, from `retry-after`.
        retry_after: Option<Duration>,
        /// The provider's `request-id`, for support tickets.
        request_id: Option<String>,
        /// The provider's `x-should-retry`, which overrides the status-based decision.
        should_retry: Option<bool>,
    },
    /// The provider sent an `error` event after the stream began.
    #[error("upstream stream failed ({error_type})")]
    StreamFailed {
        /// The provider's error `type`.
        error_type: String,
    },
    /// The provider could not be reached, or stopped answering.
    #[error("upstream transport: {kind}")]
    Transport {
        /// How it failed.
        kind: TransportKind,
    },
    /// The provider sent something that is not what the API promises.
    #[error("upstream sent an unreadable {what} (line {line}, column {column})")]
    Decode {
        /// What was being read.
        what: &'static str,
        /// Where the parse failed.
        line: usize,
        /// Where the parse failed.
        column: usize,
    },
    /// The stream ended before `message_stop`.
    #[error("upstream stream ended before message_stop")]
    Truncated,
    /// Too many recent failures; the provider is not being called for a while.
    #[error("circuit open for provider; retry in {retry_after:?}")]
    CircuitOpen {
        /// When the breaker will let a probe through.
        retry_after: Duration,
    },
    /// The provider does not offer this operation.
    #[error("{operation} is not supported by this provider")]
    Unsupported {
        /// The operation.
        operation: &'static str,
    },
}

impl LlmError {
    /// A [`LlmError::Decode`] from a JSON failure, keeping only where it failed.
    pub fn decode(what: &'static str, err: &serde_json::Error) -> Self {
        LlmError::Decode {
            what,
            line: err.line(),
            column: err.column(),
        }
    }

    /// The status the gateway should answer its own caller with.
    pub fn status(&self) -> u16 {
        match self {
            LlmError::InvalidRequest { .. } => 400,
            LlmError::Config { .. } => 500,
            LlmError::Upstream { status, .. } => answer_for_upstream_status(*status),
            LlmError::StreamFailed { error_type } => answer_for_error_type(error_type),
            LlmError::Transport {
                kind: TransportKind::Timeout,
            } => 504,
            LlmError::Transport { .. } | LlmError::Decode { .. } | LlmError::Truncated => 502,
            LlmError::CircuitOpen { .. } => 503,
            LlmError::Unsupported { .. } => 501,
        }
    }

    /// Who caused the failure.
    pub fn fault(&self) -> Fault {
        match self {
            LlmError::InvalidRequest { .. } => Fault::Client,
            LlmError::Config { .. } | LlmError::Unsupported { .. } => Fault::Gateway,
            LlmError::Upstream { status, .. } => match status {
                // Our API key or our account, which the caller cannot fix.
                401..=403 => Fault::Gateway,
                429 => Fault::Upstream,
                400..=499 => Fault::Client,
                _ => Fault::Upstream,
            },
            LlmError::StreamFailed { error_type } if error_type == "invalid_request_error" => {
                Fault::Client
            }
            LlmError::StreamFailed { .. }
            | LlmError::Transport { .. }
            | LlmError::Decode { .. }
            | LlmError::Truncated
            | LlmError::CircuitOpen { .. } => Fault::Upstream,
        }
    }

    /// Whether sending the same request again may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            LlmError::Upstream {
                status,
                should_retry,
                ..
            } => should_retry.unwrap_or_else(|| is_retryable_status(*status)),
            LlmError::StreamFailed { error_type } => {
                matches!(
                    error_type.as_str(),
                    "overloaded_error" | "api_error" | "rate_limit_error"
                )
            }
            LlmError::Transport { .. } | LlmError::CircuitOpen { .. } => true,
            _ => false,
        }
    }

    /// How long the caller should wait before retrying, when known.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::Upstream { retry_after, .. } => *retry_after,
            LlmError::CircuitOpen { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// The error to send to the gateway's caller: a fixed message per kind, free of PHI.
    pub fn api_error(&self) -> ApiError {
        let status = self.status();
        let error_type = match status {
            400 => "invalid_request_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            504 => "timeout_error",
            529 => "overloaded_error",
            _ => "api_error",
        };
        let message = match self {
            LlmError::InvalidRequest { reason } => return ApiError::new(error_type, *reason),
            LlmError::Upstream { .. } | LlmError::StreamFailed { .. } => match status {
                400 => "The model provider rejected the request as invalid.",
                404 => "The model provider does not know the requested resource or model.",
                413 => "The request is too large for the model provider.",
                429 => "The model provider's rate limit was reached; retry later.",
                529 => "The model provider is overloaded; retry later.",
                504 => "The model provider did not answer in time.",
                _ => "The model provider failed to answer.",
            },
            LlmError::Transport {
                kind: TransportKind::Timeout,
            } => "The model provider did not answer in time.",
            LlmError::Transport { .. } => "The model provider could not be reached.",
            LlmError::Decode { .. } | LlmError::Truncated => {
                "The model provider sent an incomplete or unreadable answer."
            }
            LlmError::CircuitOpen { .. } => {
                "The model provider is failing; requests are paused briefly."
            }
            LlmError::Config { .. } => "The gateway's model provider is misconfigured.",
            LlmError::Unsupported { .. } => "This operation is not supported by the provider.",
        };
        ApiError::new(error_type, message)
    }
}

/// Statuses worth another attempt: rate limit, server errors, gateway errors and overload.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429 | 500 | 502 | 503 | 504 | 529)
}

/// What the gateway answers when the provider answered `status`.
fn answer_for_upstream_status(status: u16) -> u16 {
    match status {
        400 | 404 | 413 | 429 | 529 | 503 | 504 => status,
        401..=403 => 502,
        405..=499 => 400,
        _ => 502,
    }
}

/// What the gateway answers when a stream failed with an upstream error `type`.
fn answer_for_error_type(error_type: &str) -> u16 {
    match error_type {
        "invalid_request_error" => 400,
        "rate_limit_error" => 429,
        "overloaded_error" => 529,
        "timeout_error" => 504,
        _ => 502,
    }
}

/// The upstream's error `type` if it looks like one (`snake_case`, short), else `unknown`.
///
/// The type is the one piece of an upstream error body we keep, so it must not be a place
/// where arbitrary text can ride along.
pub(crate) fn sanitize_error_type(raw: &str) -> String {
    let plausible = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit());
    if plausible {
        raw.to_owned()
    } else {
        "unknown".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(status: u16) -> LlmError {
        LlmError::Upstream {
            status,
            error_type: "x".to_owned(),
            retry_after: None,
            request_id: None,
            should_retry: None,
        }
    }

    #[test]
    fn an_upstream_authentication_failure_is_the_gateways_fault_not_the_callers() {
        assert_eq!(upstream(401).status(), 502);
        assert_eq!(upstream(401).fault(), Fault::Gateway);
        assert!(!upstream(401).retryable());
    }

    #[test]
    fn overload_and_rate_limits_pass_through_and_may_be_retried() {
        assert_eq!(upstream(529).status(), 529);
        assert_eq!(upstream(429).status(), 429);
        assert!(upstream(529).retryable() && upstream(429).retryable());
        assert_eq!(upstream(429).api_error().error_type, "rate_limit_error");
    }

    #[test]
    fn a_server_error_becomes_bad_gateway_in_the_api_error_shape() {
        let err = upstream(500);
        assert_eq!((err.status(), err.fault()), (502, Fault::Upstream));
        assert_eq!(err.api_error().error_type, "api_error");
    }

    #[test]
    fn the_upstreams_should_retry_header_overrides_the_status_either_way() {
        let told = |status, should_retry| LlmError::Upstream {
            status,
            error_type: "x".to_owned(),
            retry_after: None,
            request_id: None,
            should_retry: Some(should_retry),
        };
        assert!(!told(529, false).retryable());
        assert!(told(400, true).retryable());
        assert!(upstream(529).retryable() && !upstream(400).retryable());
    }

    #[test]
    fn an_error_type_carrying_free_text_is_replaced() {
        assert_eq!(sanitize_error_type("overloaded_error"), "overloaded_error");
        assert_eq!(
            sanitize_error_type("Patient John Smith not found"),
            "unknown"
        );
        assert_eq!(sanitize_error_type(""), "unknown");
    }
}
