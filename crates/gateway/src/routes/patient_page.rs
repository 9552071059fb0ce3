//! The patient's chat page at `/patient/`: four static files built into the binary and a small
//! configuration document naming the OAuth client the page signs in with. No inline script or
//! style, a strict content security policy, no framing, and nothing about any patient: the
//! page talks to `/oauth/*` and `/v1/patient/*`, which do.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::Gateway;

const INDEX: &str = include_str!("../../assets/patient/index.html");
const APP: &str = include_str!("../../assets/patient/app.js");
const STYLE: &str = include_str!("../../assets/patient/style.css");
const ICON: &str = include_str!("../../assets/patient/icon.svg");

/// The policy every file of the page is served with.
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
    form-action 'self'; object-src 'none'";

fn page(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    let pairs: [(HeaderName, &'static str); 6] = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// `GET /patient`: to the page itself, so relative paths resolve under `/patient/`.
pub(super) async fn redirect() -> Redirect {
    Redirect::permanent("/patient/")
}

/// `GET /patient/`.
pub(super) async fn index() -> Response {
    page("text/html; charset=utf-8", INDEX)
}

/// `GET /patient/app.js`.
pub(super) async fn app() -> Response {
    page("text/javascript; charset=utf-8", APP)
}

/// `GET /patient/style.css`.
pub(super) async fn style() -> Response {
    page("text/css; charset=utf-8", STYLE)
}

/// `GET /patient/icon.svg`.
pub(super) async fn icon() -> Response {
    page("image/svg+xml", ICON)
}

/// `GET /patient/config.json`: the public OAuth client the page signs in with, or 404 when
/// none is configured (the page then says the assistant is not set up).
pub(super) async fn config(State(gateway): State<Arc<Gateway>>) -> Response {
    match gateway.patient_client_id.as_deref() {
        Some(client_id) => {
            let mut response = axum::Json(json!({"client_id": client_id})).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        None => (StatusCode::NOT_FOUND, "not configured").into_response(),
    }
}
