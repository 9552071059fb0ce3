//! `POST /v1/break-glass`: a clinician opens a patient outside their care relationships by
//! stating a reason, for a limited time. The body is `{"patient": ..., "reason": ...,
//! "duration_seconds": ...}`; the answer names the grant and when it ends. The policy caps the
//! duration, refuses a reason too short to say anything and every role without the
//! `break-glass` scope; a grant and a refusal alike are audited as `BreakGlass`. A grant never
//! opens a frozen patient: the pipeline checks the freeze first, whatever the caller holds.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use phigate_agent::{BreakGlassRequest, open_break_glass};
use phigate_auth::{BREAK_GLASS_SCOPE, BreakGlassPolicy};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::RequestId;
use super::tasks::pipeline;
use crate::{Gateway, GatewayError, body};

/// The body of a break-glass request. The reason may name the patient, so it is never logged;
/// the store seals it under the patient's key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Request {
    patient: String,
    reason: String,
    duration_seconds: u64,
}

pub(super) async fn open(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, GatewayError> {
    let pipeline = pipeline(&gateway)?;
    let principal = gateway
        .authenticate(&headers, &request_id, BREAK_GLASS_SCOPE)
        .await?;
    let bytes = body::read(&headers, body, &gateway.config).await?;
    let request: Request = serde_json::from_slice(&bytes).map_err(|_| {
        GatewayError::invalid(
            "The body must be {\"patient\": ..., \"reason\": ..., \"duration_seconds\": ...}.",
        )
    })?;
    let grant = tokio::task::spawn_blocking(move || {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        open_break_glass(
            &pipeline.store,
            &pipeline.audit,
            &BreakGlassPolicy::default(),
            &principal,
            &BreakGlassRequest {
                patient_id: &request.patient,
                reason: &request.reason,
                duration: Duration::from_secs(request.duration_seconds),
            },
            now,
        )
    })
    .await
    .map_err(|_| GatewayError::Internal("break-glass task failed"))??;
    Ok(Json(json!({
        "type": "break_glass",
        "id": grant.id,
        "patient_ref": grant.patient_ref,
        "expires_at": grant.expires_at,
    })))
}
