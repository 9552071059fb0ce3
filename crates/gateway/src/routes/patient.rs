//! The patient's routes. `POST /v1/patient/assistant` answers the patient's latest message with
//! the conversation so far; `GET /v1/patient/appointments` lists their appointments. The
//! patient is always the one the access token is bound to (its `patient` claim, set from the
//! account when the token was issued): no body field or query parameter names a patient, and a
//! request that tries is refused rather than ignored.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phigate_agent::Turn;
use phigate_audit::{Action, Outcome};
use phigate_auth::{Principal, Role, Target, permission};
use phigate_store::{PatientRef, Store};
use serde::Deserialize;
use serde_json::{Value, json};

use super::RequestId;
use super::tasks::pipeline;
use crate::audit::Trail;
use crate::{Gateway, GatewayError, body};

const ASSISTANT: &str = "POST /v1/patient/assistant";
const APPOINTMENTS: &str = "GET /v1/patient/appointments";

/// The body of an assistant request: the conversation so far, ending with the patient's
/// message. Nothing else is accepted; in particular, no patient.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssistantRequest {
    messages: Vec<Turn>,
}

/// `POST /v1/patient/assistant`.
pub(super) async fn assistant(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let pipeline = pipeline(&gateway)?;
    let (principal, patient) = bound(&gateway, &headers, &request_id, ASSISTANT).await?;
    let bytes = body::read(&headers, body, &gateway.config).await?;
    let request: AssistantRequest = serde_json::from_slice(&bytes).map_err(|_| {
        GatewayError::invalid(
            "The body must be {\"messages\": [{\"role\": \"user\", \"content\": \"...\"}, ...]} \
             and nothing else: the patient comes from your sign-in.",
        )
    })?;
    let reply = pipeline
        .assist(&principal, &patient, &request.messages)
        .await?;
    Ok(private(Json(json!({
        "type": "assistant_reply",
        "request_id": reply.request_id,
        "text": reply.text,
        "safety": reply.safety,
        "report": reply.report,
    }))))
}

/// `GET /v1/patient/appointments`.
pub(super) async fn appointments(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let pipeline = pipeline(&gateway)?;
    let (principal, patient) = bound(&gateway, &headers, &request_id, APPOINTMENTS).await?;
    if query.is_some_and(|q| !q.is_empty()) {
        return Err(GatewayError::invalid(
            "This route takes no parameters: the patient comes from your sign-in.",
        ));
    }
    let listed: Value = pipeline.own_appointments(&principal, &patient)?;
    Ok(private(Json(listed)))
}

/// The caller, who must be a patient holding the endpoint's scopes, and the patient record
/// their token is bound to. Every refusal is audited.
async fn bound(
    gateway: &Gateway,
    headers: &HeaderMap,
    request_id: &str,
    endpoint: &'static str,
) -> Result<(Principal, PatientRef), GatewayError> {
    let scope = permission(Target::Endpoint, endpoint)
        .and_then(|row| row.scopes.first())
        .ok_or(GatewayError::Internal(
            "the patient routes have no permission row",
        ))?;
    let (principal, claim) = gateway
        .authenticate_bound(headers, request_id, scope)
        .await?;
    let refusal = if principal.authorize(Target::Endpoint, endpoint).is_err() {
        Some("This credential lacks the scopes of this route.")
    } else if principal.role != Role::Patient {
        Some("These routes are for patients signed in to their own record.")
    } else {
        None
    };
    let patient = claim.as_deref().and_then(Store::parse_patient_ref);
    let refusal = refusal.or_else(|| {
        patient
            .is_none()
            .then_some("This credential is not bound to a patient record.")
    });
    match (refusal, patient) {
        (None, Some(patient)) => Ok((principal, patient)),
        (refusal, _) => {
            let reason = refusal.unwrap_or("This credential is not bound to a patient record.");
            let trail = Trail::new(gateway, Some(&principal), request_id, "patient");
            let mut event = trail.event(Action::Denial, Outcome::Denied);
            event.detail = Some(reason.to_owned());
            trail.record(event).await?;
            tracing::info!(request.id = request_id, reason, "gateway.patient denied");
            Err(GatewayError::Forbidden(reason))
        }
    }
}

/// A response about one patient: never cached, never stored by the browser.
fn private(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
