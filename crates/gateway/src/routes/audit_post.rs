//! The auditor routes the web console uses, which keep patient identifiers out of URLs:
//! `POST /v1/audit/search` and `POST /v1/audit/disclosures` take the filters of their `GET`
//! twins as a JSON body, and `GET /v1/audit/status` verifies the whole log.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Value, json};

use super::RequestId;
use super::audit::{Filter, auditor, disclosures_of, entry_json, read};
use crate::auth::AUDIT_READ_SCOPE;
use crate::{Gateway, GatewayError, body};

/// Reads a JSON body of audit filters; an empty body means no filter.
async fn filter(gateway: &Gateway, headers: &HeaderMap, raw: Body) -> Result<Filter, GatewayError> {
    let bytes = body::read(headers, raw, &gateway.config).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Filter::default());
    }
    serde_json::from_slice(&bytes).map_err(|_| {
        GatewayError::invalid(
            "The body must be a JSON object of filters: user, patient, patient_ref, action, \
             since, until, from_seq, limit.",
        )
    })
}

/// `POST /v1/audit/search`: entries matching the filters in the body, a page at a time.
pub(super) async fn search(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, GatewayError> {
    auditor(&gateway, &headers, &id, AUDIT_READ_SCOPE, "search").await?;
    let filter = filter(&gateway, &headers, raw).await?;
    let query = filter.query(&gateway)?;
    let found = read(&gateway, move |log| log.search(&query)).await?;
    let next = found.last().map(|e| e.seq + 1);
    let entries: Vec<Value> = found.iter().map(entry_json).collect();
    Ok(Json(json!({"entries": entries, "next_from_seq": next})).into_response())
}

/// `POST /v1/audit/disclosures`: the accounting of disclosures of the patient in the body.
pub(super) async fn disclosures(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, GatewayError> {
    let filter = filter(&gateway, &headers, raw).await?;
    disclosures_of(&gateway, &id, &headers, filter).await
}

/// `GET /v1/audit/status`: the log verified end to end, as `phigate audit verify` does it.
pub(super) async fn status(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    auditor(&gateway, &headers, &id, AUDIT_READ_SCOPE, "chain status").await?;
    let report = read(&gateway, |log| log.verify()).await?;
    Ok(Json(json!({
        "size": report.entries,
        "verified": report.ok,
        "first_bad_seq": report.first_bad,
        "failure": report.failure.map(|f| f.to_string()),
        "reason": report.problem,
        "root": report.root_hex,
        "checkpoints_checked": report.checkpoints_checked,
        "pruned": report.pruned,
    }))
    .into_response())
}
