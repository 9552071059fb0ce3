//! Discovery documents and the JWKS.
//!
//! `/.well-known/openid-configuration` carries the RFC 8414 authorization server metadata
//! (Phigate issues no ID tokens, so it lists no `id_token` fields and no userinfo endpoint);
//! `/.well-known/smart-configuration` is the SMART App Launch 2 document.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::{METHODS, OAuthServer, now};

fn common(server: &OAuthServer) -> Value {
    let issuer = &server.config.issuer;
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "jwks_uri": format!("{issuer}/oauth/jwks"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["ES384", "RS384"],
        "revocation_endpoint_auth_methods_supported": &METHODS[..3],
        "introspection_endpoint_auth_methods_supported": &METHODS[..3],
        "scopes_supported": scopes_supported(),
    })
}

fn scopes_supported() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = phigate_auth::Role::ALL
        .iter()
        .flat_map(|r| phigate_auth::scopes(*r).iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// `GET /.well-known/openid-configuration`.
pub async fn openid_configuration(State(server): State<Arc<OAuthServer>>) -> impl IntoResponse {
    Json(common(&server))
}

/// `GET /.well-known/smart-configuration`.
pub async fn smart_configuration(State(server): State<Arc<OAuthServer>>) -> impl IntoResponse {
    let mut doc = common(&server);
    doc["capabilities"] = json!([
        "client-public",
        "client-confidential-symmetric",
        "client-confidential-asymmetric",
        "permission-v2",
        "permission-user"
    ]);
    Json(doc)
}

/// `GET /oauth/jwks` and `/.well-known/jwks.json`.
pub async fn jwks(State(server): State<Arc<OAuthServer>>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(server.jwks(now())),
    )
}
