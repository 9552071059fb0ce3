//! Every way a gateway request can fail, and the one place a failure becomes a response.
//!
//! Messages are fixed at compile time or built from positions, sizes and kinds only: never from
//! a request body, a token, or an upstream body. The response is always the Anthropic error
//! shape, `{"type":"error","error":{"type":...,"message":...},"request_id":...}`, so the official
//! SDKs raise their usual exception classes. The response carries its [`ApiError`] as an
//! extension, and the outermost middleware, which knows the request id, writes the body.

use std::borrow::Cow;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use phigate_llm::types::ApiError;
use phigate_llm::{Fault, LlmError};

/// Why a request was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// No credential, or one that did not verify.
    #[error("authentication failed: {0}")]
    Unauthenticated(&'static str),
    /// A verified caller without the scope (or tenant) the route needs.
    #[error("permission denied: {0}")]
    Forbidden(&'static str),
    /// The request is malformed or asks for something the gateway refuses.
    #[error("invalid request: {0}")]
    InvalidRequest(Cow<'static, str>),
    /// No such route or resource.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// The body is larger than the configured limit.
    #[error("request body larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The client took too long to send its body.
    #[error("request body not received in time")]
    BodyTimeout,
    /// The egress gate found a known identifier in the outbound bytes; nothing was sent.
    #[error("blocked by the egress gate: a known identifier of kind {kind} was in the request")]
    EgressBlocked {
        /// The kind's tag (`NAME`, `DATE`...), never the value.
        kind: &'static str,
    },
    /// The audit log could not record the disclosure; nothing was sent.
    #[error("audit log unavailable; nothing was sent")]
    AuditUnavailable,
    /// The model provider failed.
    #[error(transparent)]
    Provider(#[from] LlmError),
    /// An agent task or review step refused or failed (its message is PHI-free).
    #[error(transparent)]
    Agent(phigate_agent::AgentError),
    /// Something that should not happen did.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// A principal, client or tenant rate limit is exhausted.
    #[error("rate limited")]
    RateLimited {
        /// How long until a request would be accepted.
        retry_after: Duration,
    },
}

impl GatewayError {
    /// An invalid-request error with a fixed message.
    pub fn invalid(message: &'static str) -> Self {
        Self::InvalidRequest(Cow::Borrowed(message))
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        let code = match self {
            Self::Unauthenticated(_) => 401,
            Self::Forbidden(_) => 403,
            Self::InvalidRequest(_) => 400,
            Self::NotFound(_) => 404,
            Self::TooLarge { .. } => 413,
            Self::BodyTimeout => 408,
            Self::EgressBlocked { .. } => 422,
            Self::AuditUnavailable => 503,
            Self::Provider(err) => err.status(),
            Self::Internal(_) => 500,
            Self::RateLimited { .. } => 429,
            Self::Agent(err) => err.status(),
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY)
    }

    /// Who caused the failure.
    pub fn fault(&self) -> Fault {
        match self {
            Self::Provider(err) => err.fault(),
            Self::AuditUnavailable | Self::Internal(_) => Fault::Gateway,
            Self::Agent(phigate_agent::AgentError::Provider(err)) => err.fault(),
            Self::Agent(err) if err.status() >= 500 => Fault::Gateway,
            _ => Fault::Client,
        }
    }

    /// The error in the API's shape: a type the SDKs know and a message free of PHI.
    pub fn api_error(&self) -> ApiError {
        match self {
            Self::Unauthenticated(reason) => ApiError::new("authentication_error", *reason),
            Self::Forbidden(reason) => ApiError::new("permission_error", *reason),
            Self::InvalidRequest(reason) => {
                ApiError::new("invalid_request_error", reason.clone().into_owned())
            }
            Self::NotFound(what) => ApiError::new("not_found_error", *what),
            Self::TooLarge { limit } => ApiError::new(
                "request_too_large",
                format!("The request body is larger than this gateway's limit of {limit} bytes."),
            ),
            Self::BodyTimeout => ApiError::new(
                "invalid_request_error",
                "The request body was not received in time.",
            ),
            Self::EgressBlocked { kind } => ApiError::new(
                "invalid_request_error",
                format!(
                    "The request was blocked before leaving the gateway: an identifier of kind \
                     {kind} would have been sent to the model provider. Nothing was sent."
                ),
            ),
            Self::AuditUnavailable => ApiError::new(
                "api_error",
                "The audit log could not record this disclosure, so nothing was sent. Retry later.",
            ),
            Self::Provider(err) => err.api_error(),
            Self::Internal(_) => ApiError::new("api_error", "The gateway failed internally."),
            Self::RateLimited { .. } => ApiError::new(
                "rate_limit_error",
                "This credential, its client or its tenant is over its request rate. Retry after \
                 the time in retry-after.",
            ),
            Self::Agent(err) => {
                let kind = match err.status() {
                    401 => "authentication_error",
                    403 => "permission_error",
                    404 => "not_found_error",
                    status if status < 500 => "invalid_request_error",
                    _ => "api_error",
                };
                ApiError::new(kind, err.to_string())
            }
        }
    }

    /// How long the caller should wait before retrying, when the upstream said.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Provider(err) => err.retry_after(),
            Self::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

/// The error a response stands for, kept so the body can be written once the id is known.
#[derive(Clone, Debug)]
pub(crate) struct ErrorBody(pub ApiError);

/// The body of an error response in the API's shape, with `request_id` at the top level.
pub(crate) fn error_body(error: &ApiError, request_id: Option<&str>) -> String {
    let mut body = error.to_json();
    if let Some(id) = request_id {
        body["request_id"] = serde_json::Value::String(id.to_owned());
    }
    body.to_string()
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Refusals are for operators at info; failures of ours or upstream at warn.
        match self.fault() {
            Fault::Client => {
                tracing::info!(status = status.as_u16(), error = %self, "gateway.refused")
            }
            _ => tracing::warn!(status = status.as_u16(), error = %self, "gateway.failed"),
        }
        let error = self.api_error();
        let mut response = (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            error_body(&error, None),
        )
            .into_response();
        response.extensions_mut().insert(ErrorBody(error));
        if let Some(wait) = self.retry_after() {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let headers = response.headers_mut();
            headers.insert("retry-after", HeaderValue::from(seconds));
            headers.insert("retry-after-ms", HeaderValue::from(wait.as_millis() as u64));
        }
        let contained = matches!(&self, Self::Agent(err) if err.is_containment());
        if contained || matches!(self, Self::EgressBlocked { .. } | Self::TooLarge { .. }) {
            // The same request would be refused the same way.
            response
                .headers_mut()
                .insert("x-should-retry", HeaderValue::from_static("false"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_request_names_the_kind_and_says_nothing_was_sent() {
        let err = GatewayError::EgressBlocked { kind: "NAME" };
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let shown = err.api_error().to_json().to_string();
        assert!(
            shown.contains("NAME") && shown.contains("Nothing was sent"),
            "{shown}"
        );
        assert!(shown.starts_with(r#"{"error":{"#) || shown.contains(r#""type":"error""#));
    }

    #[test]
    fn an_oversized_body_is_request_too_large() {
        let err = GatewayError::TooLarge { limit: 10 };
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(err.api_error().error_type, "request_too_large");
    }

    #[test]
    fn an_upstream_rate_limit_keeps_its_status_and_wait() {
        let err = GatewayError::Provider(LlmError::Upstream {
            status: 429,
            error_type: "rate_limit_error".into(),
            retry_after: Some(Duration::from_millis(1500)),
            request_id: None,
            should_retry: None,
        });
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "2");
        assert_eq!(response.headers()["retry-after-ms"], "1500");
    }
}
