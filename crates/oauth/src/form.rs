//! `application/x-www-form-urlencoded` request bodies. RFC 6749 section 3.2: a parameter sent
//! more than once is an error, and parameters without a value are treated as omitted.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};

use crate::OAuthError;

/// Largest form body accepted; token requests are a few hundred bytes.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// A parsed form.
#[derive(Debug, Default)]
pub struct Form(HashMap<String, String>);

impl Form {
    /// Parses `body` sent with `headers`.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "The body must be application/x-www-form-urlencoded.",
            ));
        }
        if body.len() > MAX_FORM_BYTES {
            return Err(OAuthError::invalid_request("The body is too large."));
        }
        let mut map = HashMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if value.is_empty() {
                continue;
            }
            if map.insert(name.into_owned(), value.into_owned()).is_some() {
                return Err(OAuthError::invalid_request(
                    "A parameter was sent more than once.",
                ));
            }
        }
        Ok(Self(map))
    }

    /// A parameter, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter that must be present.
    pub fn require(&self, name: &str, missing: &'static str) -> Result<&str, OAuthError> {
        self.get(name).ok_or(OAuthError::invalid_request(missing))
    }
}
