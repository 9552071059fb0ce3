//! Liveness and readiness, for load balancers and orchestrators. Neither needs a credential,
//! and neither says more than which part is not ready.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::{Gateway, ReadyCheck};

/// The process is up and serving.
pub(super) async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// The gateway can serve requests: every part the deployment checks answers (the store
/// database, the audit store, the KMS), or, without such checks, the audit log answers.
/// Without the audit log no disclosure can be recorded, so no request could succeed.
pub(super) async fn readyz(State(gateway): State<Arc<Gateway>>) -> Response {
    let probe = gateway.clone();
    let checks = tokio::task::spawn_blocking(move || match &probe.readiness {
        Some(readiness) => readiness.check(),
        None => vec![ReadyCheck {
            part: "audit",
            ok: probe.audit.len().is_ok(),
        }],
    })
    .await
    .unwrap_or_else(|_| {
        vec![ReadyCheck {
            part: "probe",
            ok: false,
        }]
    });
    let ready = checks.iter().all(|c| c.ok);
    let parts: Map<String, Value> = checks
        .iter()
        .map(|c| (c.part.to_owned(), json!(if c.ok { "ok" } else { "failed" })))
        .collect();
    if ready {
        Json(json!({"status": "ready", "checks": parts})).into_response()
    } else {
        let failed: Vec<&str> = checks.iter().filter(|c| !c.ok).map(|c| c.part).collect();
        tracing::warn!(failed = ?failed, "gateway.readyz not ready");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "not ready",
                "reason": format!("{} unavailable", failed.join(", ")),
                "checks": parts,
            })),
        )
            .into_response()
    }
}
