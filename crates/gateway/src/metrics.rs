//! The HTTP metrics layer: every answered request counted and timed by route template, method
//! and status. Streams are timed to their response head.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use phigate_telemetry::{RouteLabel, metrics};

/// Counts and times one request.
pub(crate) async fn record(request: Request, next: Next) -> Response {
    let route = RouteLabel::new(
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    );
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics().http_request(
        route,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
