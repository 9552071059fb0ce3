//! `POST /oauth/introspect` (RFC 7662). Only confidential clients may ask; anything not
//! currently valid is `{"active": false}` with no reason.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use phigate_auth::hash_refresh_token;
use serde_json::{Value, json};

use crate::client_auth::Method;
use crate::form::Form;
use crate::{OAuthError, OAuthServer, now};

/// `POST /oauth/introspect`.
pub async fn introspect(
    State(server): State<Arc<OAuthServer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match server.introspect(&headers, &body) {
        Ok(value) => {
            let mut response = Json(value).into_response();
            response.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(err) => err.into_response(),
    }
}

impl OAuthServer {
    fn introspect(&self, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
        let form = Form::parse(headers, body)?;
        let now = now();
        let (_, method) = self.authenticate_client(headers, &form, now)?;
        if method == Method::None {
            return Err(OAuthError::invalid_client(
                "Introspection needs an authenticated client.",
            ));
        }
        let token = form.require("token", "token is required.")?;
        if let Ok(claims) = self.verifier(now).verify(token, now) {
            return Ok(json!({
                "active": true,
                "token_type": "Bearer",
                "scope": claims.scope,
                "client_id": claims.client_id,
                "sub": claims.sub,
                "aud": claims.aud,
                "iss": claims.iss,
                "exp": claims.exp,
                "iat": claims.iat,
                "nbf": claims.nbf,
                "jti": claims.jti,
                "tenant": claims.tenant,
                "roles": claims.roles,
            }));
        }
        let idle = self.config.refresh.idle.as_secs() as i64;
        if let Some(family) =
            self.store
                .live_refresh_family(&hash_refresh_token(token), now, idle)?
        {
            return Ok(json!({
                "active": true,
                "token_type": "refresh_token",
                "scope": family.scope,
                "client_id": family.client_id,
                "sub": family.subject,
                "tenant": family.tenant,
                "roles": [family.role],
            }));
        }
        Ok(json!({"active": false}))
    }
}
