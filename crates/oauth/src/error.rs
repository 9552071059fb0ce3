//! OAuth error responses (RFC 6749 section 5.2): `{"error": code, "error_description": text}`
//! with the status the RFC gives each code. Descriptions are fixed text, never a value from
//! the request.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A refusal by the authorization server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// The RFC 6749 error code.
    pub code: &'static str,
    /// Human-readable, fixed text.
    pub description: &'static str,
    /// For `429`: how long to wait.
    pub retry_after: Option<Duration>,
}

impl OAuthError {
    fn new(code: &'static str, description: &'static str) -> Self {
        Self {
            code,
            description,
            retry_after: None,
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: &'static str) -> Self {
        Self::new("invalid_request", description)
    }

    /// `invalid_client`: client authentication failed.
    pub fn invalid_client(description: &'static str) -> Self {
        Self::new("invalid_client", description)
    }

    /// `invalid_grant`: the code, refresh token or credentials are invalid or expired.
    pub fn invalid_grant(description: &'static str) -> Self {
        Self::new("invalid_grant", description)
    }

    /// `unauthorized_client`: this client may not use this grant.
    pub fn unauthorized_client(description: &'static str) -> Self {
        Self::new("unauthorized_client", description)
    }

    /// `unsupported_grant_type`.
    pub fn unsupported_grant_type() -> Self {
        Self::new(
            "unsupported_grant_type",
            "Supported grants: authorization_code (PKCE S256), client_credentials, refresh_token.",
        )
    }

    /// `invalid_scope`.
    pub fn invalid_scope(description: &'static str) -> Self {
        Self::new("invalid_scope", description)
    }

    /// `server_error`.
    pub fn server_error() -> Self {
        Self::new(
            "server_error",
            "The authorization server failed internally.",
        )
    }

    /// Too many requests (RFC 6585); the body keeps the OAuth shape.
    pub fn slow_down(retry_after: Duration) -> Self {
        Self {
            code: "slow_down",
            description: "Too many requests; retry after the time in retry-after.",
            retry_after: Some(retry_after),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self.code {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            "slow_down" => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        tracing::info!(
            error = self.code,
            reason = self.description,
            "oauth.refused"
        );
        let body = json!({"error": self.code, "error_description": self.description});
        let mut response = (self.status(), axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.code == "invalid_client" {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"phigate\""),
            );
        }
        if let Some(wait) = self.retry_after {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

impl From<phigate_store::StoreError> for OAuthError {
    fn from(err: phigate_store::StoreError) -> Self {
        tracing::warn!(error = %err, "oauth.store failed");
        Self::server_error()
    }
}

impl From<phigate_audit::AuditError> for OAuthError {
    fn from(err: phigate_audit::AuditError) -> Self {
        tracing::warn!(error = %err, "oauth.audit failed");
        Self::server_error()
    }
}
