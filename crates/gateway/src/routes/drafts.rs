//! `/v1/drafts`: review over HTTP. `GET /v1/drafts[?status=]` lists, `GET /v1/drafts/{id}`
//! reads, `PATCH /v1/drafts/{id}` with `{"content": ...}` edits, and `POST
//! /v1/drafts/{id}/approve` or `/reject` decides. The agent crate checks roles and scopes again
//! and audits every step.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use phigate_agent::{DraftView, ReviewDecision};
use phigate_store::{Draft, DraftStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use super::RequestId;
use super::tasks::pipeline;
use crate::{Gateway, GatewayError, body};

#[derive(Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Edit {
    content: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Reason {
    reason: String,
}

fn meta(draft: &Draft) -> Value {
    json!({
        "id": draft.id, "task": draft.task, "status": draft.status.as_str(),
        "patient_ref": draft.patient.as_str(), "created_by": draft.created_by,
        "created_at": draft.created_at, "reviewed_by": draft.reviewed_by,
        "reviewed_at": draft.reviewed_at,
    })
}

fn view(view: &DraftView) -> Value {
    let mut out = meta(&view.draft);
    out["body"] = view.body.clone();
    out
}

/// Runs a review call on the blocking pool (each one writes the audit log durably).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, phigate_agent::AgentError> + Send + 'static,
) -> Result<T, GatewayError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| GatewayError::Internal("review task failed"))?
        .map_err(GatewayError::from)
}

/// The review pipeline and the authenticated caller holding `scope`.
async fn reviewer(
    gateway: &Gateway,
    headers: &HeaderMap,
    request_id: &str,
    scope: &str,
) -> Result<(Arc<phigate_agent::Pipeline>, phigate_auth::Principal), GatewayError> {
    let pipeline = pipeline(gateway)?;
    let principal = gateway.authenticate(headers, request_id, scope).await?;
    Ok((pipeline, principal))
}

pub(super) async fn list(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, GatewayError> {
    let (pipeline, principal) = reviewer(&gateway, &headers, &request_id, "draft/read").await?;
    let status = match query.status.as_deref() {
        None => None,
        Some("awaiting_review") => Some(DraftStatus::AwaitingReview),
        Some("signed") => Some(DraftStatus::Signed),
        Some("rejected") => Some(DraftStatus::Rejected),
        Some(_) => {
            return Err(GatewayError::invalid(
                "status is awaiting_review, signed or rejected.",
            ));
        }
    };
    let drafts = blocking(move || pipeline.list_drafts(&principal, status)).await?;
    Ok(Json(
        json!({"data": drafts.iter().map(meta).collect::<Vec<_>>()}),
    ))
}

pub(super) async fn read(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, GatewayError> {
    let (pipeline, principal) = reviewer(&gateway, &headers, &request_id, "draft/read").await?;
    let (draft, sources) =
        blocking(move || pipeline.read_draft_with_sources(&principal, &id)).await?;
    let mut out = view(&draft);
    out["sources"] = sources;
    Ok(Json(out))
}

pub(super) async fn edit(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, GatewayError> {
    let (pipeline, principal) = reviewer(&gateway, &headers, &request_id, "draft/sign").await?;
    let bytes = body::read(&headers, body, &gateway.config).await?;
    let edit: Edit = serde_json::from_slice(&bytes)
        .map_err(|_| GatewayError::invalid("The body must be {\"content\": ...}."))?;
    let draft = blocking(move || pipeline.edit_draft(&principal, &id, edit.content)).await?;
    Ok(Json(view(&draft)))
}

async fn decide(
    gateway: Arc<Gateway>,
    request_id: String,
    id: String,
    headers: HeaderMap,
    decision: ReviewDecision,
) -> Result<Json<Value>, GatewayError> {
    let (pipeline, principal) = reviewer(&gateway, &headers, &request_id, "draft/sign").await?;
    let draft = blocking(move || pipeline.decide_draft(&principal, &id, decision)).await?;
    Ok(Json(view(&draft)))
}

pub(super) async fn approve(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, GatewayError> {
    decide(gateway, request_id, id, headers, ReviewDecision::Approve).await
}

/// `POST /v1/drafts/{id}/reject`, with an optional `{"reason": "..."}` body kept sealed in the
/// draft.
pub(super) async fn reject(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, GatewayError> {
    let (pipeline, principal) = reviewer(&gateway, &headers, &request_id, "draft/sign").await?;
    let bytes = body::read(&headers, body, &gateway.config).await?;
    let reason = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let Ok(Reason { reason }) = serde_json::from_slice(&bytes) else {
            return Err(GatewayError::invalid(
                "The body must be {\"reason\": \"...\"}.",
            ));
        };
        Some(reason)
    };
    let draft = blocking(move || match reason {
        Some(reason) => pipeline.reject_draft(&principal, &id, &reason),
        None => pipeline.decide_draft(&principal, &id, ReviewDecision::Reject),
    })
    .await?;
    Ok(Json(view(&draft)))
}
