//! Liveness and readiness, for load balancers and orchestrators. Neither needs a credential and
//! neither says more than ok or not.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::Gateway;

/// The process is up and serving.
pub(super) async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// The gateway can serve requests: the audit log answers. Without it, no disclosure can be
/// recorded, so no request could succeed.
pub(super) async fn readyz(State(gateway): State<Arc<Gateway>>) -> Response {
    let audit = gateway.audit.clone();
    let ready = tokio::task::spawn_blocking(move || audit.len().is_ok())
        .await
        .unwrap_or(false);
    if ready {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "reason": "audit log unavailable"})),
        )
            .into_response()
    }
}
