//! `/console/`: the web console's static files, embedded in the binary. The pages carry no
//! data of their own: everything they show comes from the `/v1` routes, called with the
//! signed-in person's token, so these routes need no credential.
//!
//! Every answer forbids inline script and style, framing, other origins and caching.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::GatewayError;

/// The console's Content-Security-Policy: its own files only, no inline code, no framing.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                               connect-src 'self'; img-src 'self'; form-action 'self'; \
                               frame-ancestors 'none'; base-uri 'none'";

const INDEX: &str = include_str!("../../console/index.html");

/// The files below `/console/`, by name: contents and media type.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "console.css",
        include_str!("../../console/console.css"),
        "text/css; charset=utf-8",
    ),
    (
        "console.js",
        include_str!("../../console/console.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "session.js",
        include_str!("../../console/session.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "ui.js",
        include_str!("../../console/ui.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "review.js",
        include_str!("../../console/review.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "audit.js",
        include_str!("../../console/audit.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "admin.js",
        include_str!("../../console/admin.js"),
        "text/javascript; charset=utf-8",
    ),
];

fn harden(body: &'static str, content_type: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, CONSOLE_CSP),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// `GET /console`: the console lives at `/console/`.
pub(super) async fn bare() -> Redirect {
    Redirect::permanent("/console/")
}

/// `GET /console/` and `GET /console/callback`: the one page of the console.
pub(super) async fn index() -> Response {
    harden(INDEX, "text/html; charset=utf-8")
}

/// `GET /console/{file}`: a script or style sheet.
pub(super) async fn asset(Path(name): Path<String>) -> Result<Response, GatewayError> {
    ASSETS
        .iter()
        .find(|(file, _, _)| *file == name)
        .map(|(_, body, content_type)| harden(body, content_type))
        .ok_or(GatewayError::NotFound("No such console file."))
}
