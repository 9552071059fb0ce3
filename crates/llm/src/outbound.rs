//! The exact bytes that leave the building, and the headers that travel with them.
//!
//! A request is serialized once, here. The gateway runs its egress check on
//! [`Outbound::body`], and providers send that same buffer without re-serializing, so what was
//! checked is what is sent.

use bytes::Bytes;
use serde::Serialize;

use crate::error::LlmError;
use crate::types::{CountTokensRequest, MessagesRequest};

/// The default `anthropic-version` header value.
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// A serialized request, ready to be checked and sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Outbound {
    /// The JSON body, byte for byte as it will be sent.
    pub body: Bytes,
    /// The `anthropic-version` header.
    pub anthropic_version: String,
    /// The `anthropic-beta` flags, sent comma-joined; empty means no header.
    pub anthropic_beta: Vec<String>,
    /// Whether the body asks for a streamed answer.
    pub stream: bool,
}

impl Outbound {
    /// Serializes a Messages request.
    pub fn from_request(
        req: &MessagesRequest,
        anthropic_version: &str,
        beta: Vec<String>,
    ) -> Result<Self, LlmError> {
        Self::from_json(req, req.is_stream(), anthropic_version, beta)
    }

    /// Serializes a token-counting request.
    pub fn from_count_tokens(
        req: &CountTokensRequest,
        anthropic_version: &str,
        beta: Vec<String>,
    ) -> Result<Self, LlmError> {
        Self::from_json(req, false, anthropic_version, beta)
    }

    fn from_json(
        value: &impl Serialize,
        stream: bool,
        anthropic_version: &str,
        beta: Vec<String>,
    ) -> Result<Self, LlmError> {
        if !is_header_token(anthropic_version) {
            return Err(LlmError::InvalidRequest {
                reason: "anthropic-version must be a non-empty header token",
            });
        }
        if !beta.iter().all(|flag| is_header_token(flag)) {
            return Err(LlmError::InvalidRequest {
                reason: "anthropic-beta flags must be non-empty header tokens without commas",
            });
        }
        let body = serde_json::to_vec(value).map_err(|_| LlmError::InvalidRequest {
            reason: "request could not be encoded",
        })?;
        Ok(Outbound {
            body: Bytes::from(body),
            anthropic_version: anthropic_version.to_owned(),
            anthropic_beta: beta,
            stream,
        })
    }

    /// The `anthropic-beta` header value, or `None` when there are no flags.
    pub fn beta_header(&self) -> Option<String> {
        (!self.anthropic_beta.is_empty()).then(|| self.anthropic_beta.join(","))
    }
}

/// The body may be PHI; it never appears in debug output.
impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("anthropic_version", &self.anthropic_version)
            .field("anthropic_beta", &self.anthropic_beta)
            .field("stream", &self.stream)
            .finish()
    }
}

/// Visible ASCII without separators that would split or smuggle a header value.
fn is_header_token(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b',' && b != b';' && b != b'"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_the_serialized_request_and_stream_follows_it() {
        let mut req = MessagesRequest::new("claude-x", 16, "hello");
        req.stream = Some(true);
        let out = Outbound::from_request(&req, DEFAULT_ANTHROPIC_VERSION, vec![]);
        let out = out.unwrap_or_else(|e| panic!("{e}"));
        assert!(out.stream);
        assert_eq!(
            out.body,
            Bytes::from(serde_json::to_vec(&req).unwrap_or_default())
        );
        assert_eq!(out.beta_header(), None);
    }

    #[test]
    fn header_values_that_could_inject_headers_are_refused() {
        let req = MessagesRequest::new("claude-x", 16, "hello");
        assert!(Outbound::from_request(&req, "2023-06-01\r\nx-evil: 1", vec![]).is_err());
        assert!(Outbound::from_request(&req, "2023-06-01", vec!["a,b".into()]).is_err());
        let ok = Outbound::from_request(&req, "2023-06-01", vec!["a-1".into(), "b-2".into()]);
        assert_eq!(
            ok.ok().and_then(|o| o.beta_header()),
            Some("a-1,b-2".to_owned())
        );
    }

    #[test]
    fn debug_output_does_not_show_the_body() {
        let req = MessagesRequest::new("claude-x", 16, "Jane Doe, DOB 1961-04-02");
        let out = Outbound::from_request(&req, "2023-06-01", vec![]);
        let shown = format!("{out:?}");
        assert!(!shown.contains("Jane"), "{shown}");
    }
}
