//! Reading what the caller sent, within limits: the body's size, its JSON depth, the
//! `anthropic-version` and `anthropic-beta` headers.

use std::borrow::Cow;

use axum::body::Body;
use axum::http::HeaderMap;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use phigate_llm::DEFAULT_ANTHROPIC_VERSION;
use serde::de::DeserializeOwned;

use crate::{GatewayConfig, GatewayError};

/// The API headers that travel on to the provider.
pub(crate) struct ApiHeaders {
    /// `anthropic-version`, or the default when the caller sent none.
    pub version: String,
    /// `anthropic-beta` flags, each on the allow-list.
    pub betas: Vec<String>,
}

impl ApiHeaders {
    /// Reads the headers, refusing beta flags not in `allowed_betas` (the caller's tenant's).
    pub fn read(headers: &HeaderMap, allowed_betas: &[String]) -> Result<Self, GatewayError> {
        let version = match headers.get("anthropic-version") {
            None => DEFAULT_ANTHROPIC_VERSION.to_owned(),
            Some(value) => value
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|v| is_api_version(v))
                .ok_or_else(|| {
                    GatewayError::invalid("anthropic-version must be a date such as 2023-06-01.")
                })?
                .to_owned(),
        };
        let mut betas = Vec::new();
        for value in headers.get_all("anthropic-beta") {
            let value = value
                .to_str()
                .map_err(|_| GatewayError::invalid("anthropic-beta is not a valid value."))?;
            for flag in value.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                if !allowed_betas.iter().any(|allowed| allowed == flag) {
                    return Err(beta_refused(flag));
                }
                betas.push(flag.to_owned());
            }
        }
        Ok(ApiHeaders { version, betas })
    }
}

/// Whether `value` has the form of an API version, `YYYY-MM-DD`: the header travels upstream
/// unchanged, so nothing else (free text, an identifier) may ride in it.
fn is_api_version(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// Names the refused flag only when it looks like a flag name, so no free text is echoed.
fn beta_refused(flag: &str) -> GatewayError {
    let plausible = flag.len() <= 64
        && flag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    GatewayError::InvalidRequest(if plausible {
        Cow::Owned(format!(
            "anthropic-beta flag {flag:?} is not allowed by this gateway."
        ))
    } else {
        Cow::Borrowed("An anthropic-beta flag is not allowed by this gateway.")
    })
}

/// Reads the whole body, refusing more than `max_body_bytes` and a client slower than
/// `body_timeout`.
pub(crate) async fn read(
    headers: &HeaderMap,
    body: Body,
    config: &GatewayConfig,
) -> Result<Bytes, GatewayError> {
    let limit = config.max_body_bytes;
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(GatewayError::TooLarge { limit });
    }
    let collect = async {
        let mut stream = body.into_data_stream();
        let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(1 << 20) as usize);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| {
                if is_deadline(err) {
                    GatewayError::BodyTimeout
                } else {
                    GatewayError::invalid("The request body could not be read.")
                }
            })?;
            if buf.len() + chunk.len() > limit {
                return Err(GatewayError::TooLarge { limit });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    };
    tokio::time::timeout(config.body_timeout, collect)
        .await
        .unwrap_or(Err(GatewayError::BodyTimeout))
}

/// Whether a failed body read is the server's body deadline (see `server`), not the client's
/// connection failing.
fn is_deadline(err: axum::Error) -> bool {
    // The stream's error arrives wrapped once more by `Body::from_stream`; walk the chain.
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(error) = at {
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
            && io.to_string() == crate::server::BODY_DEADLINE
        {
            return true;
        }
        at = error.source();
    }
    false
}

/// Parses a JSON body after checking its depth; errors give the position, never the text.
pub(crate) fn parse<T: DeserializeOwned>(
    bytes: &[u8],
    config: &GatewayConfig,
) -> Result<T, GatewayError> {
    if let Err(offset) = depth_within(bytes, config.max_json_depth) {
        return Err(GatewayError::InvalidRequest(Cow::Owned(format!(
            "The JSON body is nested deeper than {} levels (at byte {offset}).",
            config.max_json_depth
        ))));
    }
    serde_json::from_slice(bytes).map_err(|err| {
        GatewayError::InvalidRequest(Cow::Owned(format!(
            "The body is not a valid request ({} at line {}, column {}).",
            category(&err),
            err.line(),
            err.column()
        )))
    })
}

/// A description of a JSON error that cannot quote the input.
fn category(err: &serde_json::Error) -> &'static str {
    match err.classify() {
        serde_json::error::Category::Syntax => "malformed JSON",
        serde_json::error::Category::Eof => "unexpected end of JSON",
        serde_json::error::Category::Data => "a field is missing or has the wrong type",
        serde_json::error::Category::Io => "unreadable body",
    }
}

/// Checks that no object or array nests deeper than `max`; on failure, the byte offset.
fn depth_within(bytes: &[u8], max: usize) -> Result<(), usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, &byte) in bytes.iter().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Err(offset);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn nesting_is_counted_outside_strings_only() {
        assert_eq!(depth_within(br#"{"a":[[1]]}"#, 3), Ok(()));
        assert_eq!(depth_within(br#"{"a":[[[1]]]}"#, 3), Err(7));
        assert_eq!(depth_within(br#"{"a":"[[[[\"[[[["}"#, 1), Ok(()));
    }

    #[test]
    fn beta_flags_off_the_allow_list_are_refused_and_others_pass_on() {
        let mut config = GatewayConfig::new("t");
        config.allowed_betas = vec!["files-api-2025-04-14".into()];
        config
            .tenant_betas
            .insert("t".into(), vec!["token-efficient-tools-2025-02-19".into()]);
        let mut headers = HeaderMap::new();
        headers.insert(
            "anthropic-beta",
            HeaderValue::from_static("token-efficient-tools-2025-02-19"),
        );
        let read = ApiHeaders::read(&headers, config.allowed_betas_for("t")).map(|h| h.betas);
        assert_eq!(
            read.ok(),
            Some(vec!["token-efficient-tools-2025-02-19".into()])
        );
        headers.insert(
            "anthropic-beta",
            HeaderValue::from_static("token-efficient-tools-2025-02-19, mcp-client-2025-04-04"),
        );
        let err = ApiHeaders::read(&headers, config.allowed_betas_for("t"))
            .err()
            .map(|e| e.api_error().message);
        assert_eq!(
            err.as_deref(),
            Some("anthropic-beta flag \"mcp-client-2025-04-04\" is not allowed by this gateway.")
        );
        // The tenant's own list replaces the default one; other tenants keep the default.
        headers.insert(
            "anthropic-beta",
            HeaderValue::from_static("files-api-2025-04-14"),
        );
        assert!(ApiHeaders::read(&headers, config.allowed_betas_for("t")).is_err());
        assert!(ApiHeaders::read(&headers, config.allowed_betas_for("other")).is_ok());
    }

    #[test]
    fn a_parse_error_gives_the_position_and_not_the_text() {
        let config = GatewayConfig::new("t");
        let err = parse::<serde_json::Value>(br#"{"name": "Rosalind Okonkwo"#, &config);
        let message = err.err().map(|e| e.api_error().message).unwrap_or_default();
        assert!(message.contains("line 1"), "{message}");
        assert!(!message.contains("Rosalind"), "{message}");
    }
}
