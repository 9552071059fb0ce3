//! `/v1/incidents`: the security incidents the rules opened, for auditors and administrators.
//! `GET /v1/incidents[?status=open|acknowledged|closed]` lists them newest first; `POST
//! /v1/incidents/{id}/ack` acknowledges one and answers it. Acknowledging is audited.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use phigate_audit::Actor;
use phigate_incidents::{IncidentBook, IncidentError, IncidentView, Status};
use serde::Deserialize;
use serde_json::{Value, json};

use super::RequestId;
use crate::{Gateway, GatewayError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    status: Option<String>,
}

fn book(gateway: &Gateway) -> Result<IncidentBook, GatewayError> {
    gateway.incidents.clone().ok_or(GatewayError::NotFound(
        "Incidents are not kept by this gateway.",
    ))
}

/// Runs a store call on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, IncidentError> + Send + 'static,
) -> Result<T, GatewayError> {
    let result = tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| GatewayError::Internal("incident task failed"))?;
    result.map_err(|err| match err {
        IncidentError::NotFound => GatewayError::NotFound("No such incident."),
        IncidentError::Audit(_) => GatewayError::Internal("the audit log is unavailable"),
        _ => GatewayError::Internal("the incident store is unavailable"),
    })
}

pub(super) async fn list(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, GatewayError> {
    gateway
        .authenticate(&headers, &request_id, "incident/read")
        .await?;
    let book = book(&gateway)?;
    let status = match query.status.as_deref() {
        None => None,
        Some(name) => Some(Status::parse(name).ok_or(GatewayError::invalid(
            "status must be open, acknowledged or closed.",
        ))?),
    };
    let incidents = blocking(move || book.list(status)).await?;
    Ok(Json(json!({ "incidents": incidents })))
}

pub(super) async fn acknowledge(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<IncidentView>, GatewayError> {
    let principal = gateway
        .authenticate(&headers, &request_id, "incident/ack")
        .await?;
    let book = book(&gateway)?;
    let audit = gateway.audit.clone();
    let actor = Actor {
        user_id: principal.user_id.clone(),
        role: principal.role.as_str().to_owned(),
        client_id: None,
        address: None,
    };
    let record = blocking(move || book.acknowledge(&id, actor, &audit)).await?;
    Ok(Json(IncidentView::from(&record)))
}
