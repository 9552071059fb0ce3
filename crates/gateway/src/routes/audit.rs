//! `/v1/audit/...`: the audit log for auditors — searches, FHIR export, the accounting of
//! disclosures, the latest checkpoint and proofs. Every route needs a scope only the auditor
//! role has; every use is itself recorded. Patients are named by the HMAC reference
//! (`patient_ref`) or, when the deployment allows it, by identifier (`patient`), whose
//! reference is computed here and never stored or logged.

use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query as UrlQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use phigate_audit::accounting;
use phigate_audit::{Action, AuditEntry, AuditError, AuditLog, Hash, Outcome, Query};
use serde::Deserialize;
use serde_json::{Value, json};

use super::RequestId;
use crate::audit::Trail;
use crate::auth::{AUDIT_EXPORT_SCOPE, AUDIT_READ_SCOPE};
use crate::{Gateway, GatewayError};

/// Most entries one request returns.
const MAX_PAGE: u64 = 1000;

/// The filters a route accepts in its query string.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Filter {
    user: Option<String>,
    patient: Option<String>,
    patient_ref: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    from_seq: Option<u64>,
    limit: Option<u64>,
    format: Option<String>,
}

impl Filter {
    pub(super) fn query(&self, gateway: &Gateway) -> Result<Query, GatewayError> {
        let time = |text: &Option<String>| -> Result<Option<i64>, GatewayError> {
            text.as_deref()
                .map(|t| {
                    Query::parse_time(t).ok_or(GatewayError::invalid(
                        "A time must be RFC 3339 (2025-03-01T10:00:00Z) or YYYY-MM-DD.",
                    ))
                })
                .transpose()
        };
        let action = self
            .action
            .as_deref()
            .map(|name| Action::parse(name).ok_or(GatewayError::invalid("Unknown audit action.")))
            .transpose()?;
        Ok(Query {
            user_id: self.user.clone(),
            patient_ref: self.patient_ref(gateway)?,
            action,
            since: time(&self.since)?,
            until: time(&self.until)?,
            from_seq: self.from_seq.unwrap_or(0),
            limit: self.limit.unwrap_or(100).clamp(1, MAX_PAGE),
        })
    }

    fn patient_ref(&self, gateway: &Gateway) -> Result<Option<String>, GatewayError> {
        match (&self.patient, &self.patient_ref) {
            (Some(_), Some(_)) => Err(GatewayError::invalid(
                "Give either patient or patient_ref, not both.",
            )),
            (Some(id), None) => match &gateway.patient_refs {
                Some(derive) => Ok(Some(derive(&gateway.config.tenant, id))),
                None => Err(GatewayError::invalid(
                    "This gateway cannot compute patient references; give patient_ref.",
                )),
            },
            (None, reference) => Ok(reference.clone()),
        }
    }
}

/// Authenticates an auditor and records the access.
pub(super) async fn auditor(
    gateway: &Arc<Gateway>,
    headers: &HeaderMap,
    request_id: &str,
    scope: &str,
    what: &str,
) -> Result<(), GatewayError> {
    let principal = gateway.authenticate(headers, request_id, scope).await?;
    let trail = Trail::new(gateway, Some(&principal), request_id, "audit");
    let mut event = trail.event(Action::AuditAccess, Outcome::Success);
    event.detail = Some(what.to_owned());
    trail.record(event).await
}

/// Runs a read of the log on the blocking pool.
pub(super) async fn read<T: Send + 'static>(
    gateway: &Arc<Gateway>,
    f: impl FnOnce(&AuditLog) -> Result<T, AuditError> + Send + 'static,
) -> Result<T, GatewayError> {
    let log = gateway.audit.clone();
    match tokio::task::spawn_blocking(move || f(&log)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(AuditError::OutOfRange { .. })) => Err(GatewayError::invalid(
            "The sequence number or tree size is outside the log.",
        )),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "gateway.audit read failed");
            Err(GatewayError::AuditUnavailable)
        }
        Err(_) => Err(GatewayError::Internal("audit read task failed")),
    }
}

pub(super) fn entry_json(entry: &AuditEntry) -> Value {
    json!({
        "seq": entry.seq,
        "leaf_hash": hex::encode(entry.leaf_hash),
        "chain_hash": hex::encode(entry.chain_hash),
        "event": entry.event,
    })
}

/// `GET /v1/audit/entries`: entries matching the filters, a page at a time.
pub(super) async fn entries(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    filter: Result<UrlQuery<Filter>, QueryRejection>,
) -> Result<Response, GatewayError> {
    let UrlQuery(filter) = filter.map_err(|_| bad_query())?;
    auditor(&gateway, &headers, &id, AUDIT_READ_SCOPE, "search").await?;
    let query = filter.query(&gateway)?;
    let found = read(&gateway, move |log| log.search(&query)).await?;
    let next = found.last().map(|e| e.seq + 1);
    let entries: Vec<Value> = found.iter().map(entry_json).collect();
    Ok(Json(json!({"entries": entries, "next_from_seq": next})).into_response())
}

/// `GET /v1/audit/export?format=fhir`: NDJSON of FHIR R4 AuditEvent resources.
pub(super) async fn export(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    filter: Result<UrlQuery<Filter>, QueryRejection>,
) -> Result<Response, GatewayError> {
    let UrlQuery(filter) = filter.map_err(|_| bad_query())?;
    if filter.format.as_deref().unwrap_or("fhir") != "fhir" {
        return Err(GatewayError::invalid("The only export format is fhir."));
    }
    auditor(&gateway, &headers, &id, AUDIT_EXPORT_SCOPE, "export fhir").await?;
    let query = filter.query(&gateway)?;
    let origin = gateway.audit.origin().to_owned();
    let found = read(&gateway, move |log| log.search(&query)).await?;
    let mut body = String::new();
    for entry in &found {
        if let Some(resource) = phigate_audit::fhir::audit_event(entry, &origin) {
            body.push_str(&resource.to_string());
            body.push('\n');
        }
    }
    Ok(([(header::CONTENT_TYPE, "application/fhir+ndjson")], body).into_response())
}

/// `GET /v1/audit/disclosures?patient=ID`: the accounting of disclosures of one patient.
pub(super) async fn disclosures(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    filter: Result<UrlQuery<Filter>, QueryRejection>,
) -> Result<Response, GatewayError> {
    let UrlQuery(filter) = filter.map_err(|_| bad_query())?;
    disclosures_of(&gateway, &id, &headers, filter).await
}

/// The accounting of disclosures of the patient `filter` names, for an auditor.
pub(super) async fn disclosures_of(
    gateway: &Arc<Gateway>,
    id: &str,
    headers: &HeaderMap,
    filter: Filter,
) -> Result<Response, GatewayError> {
    auditor(
        gateway,
        headers,
        id,
        AUDIT_READ_SCOPE,
        "accounting of disclosures",
    )
    .await?;
    let mut query = filter.query(gateway)?;
    let Some(patient_ref) = query.patient_ref.clone() else {
        return Err(GatewayError::invalid(
            "Name the patient (patient or patient_ref).",
        ));
    };
    query.action = Some(Action::Disclosure);
    query.limit = u64::MAX >> 1;
    let found = read(gateway, move |log| log.search(&query)).await?;
    let listed = accounting::disclosures(&found);
    Ok(Json(json!({"patient_ref": patient_ref, "disclosures": listed})).into_response())
}

/// `GET /v1/audit/checkpoint`: the latest signed checkpoint, as a signed note.
pub(super) async fn checkpoint(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    auditor(&gateway, &headers, &id, AUDIT_READ_SCOPE, "checkpoint").await?;
    let latest = read(&gateway, |log| log.checkpoints()).await?.pop();
    let latest = latest.ok_or(GatewayError::NotFound("The log has no checkpoint yet."))?;
    Ok(Json(json!({
        "size": latest.size,
        "root": hex::encode(latest.root),
        "note": latest.to_note(),
        "public_key": gateway.audit.public_key_hex(),
    }))
    .into_response())
}

/// The query of the proof routes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProofQuery {
    seq: Option<u64>,
    size: Option<u64>,
    old: Option<u64>,
    new: Option<u64>,
}

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

/// `GET /v1/audit/proof/inclusion?seq=N&size=S`.
pub(super) async fn inclusion(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    proof: Result<UrlQuery<ProofQuery>, QueryRejection>,
) -> Result<Response, GatewayError> {
    let UrlQuery(proof) = proof.map_err(|_| bad_query())?;
    let (Some(seq), Some(size)) = (proof.seq, proof.size) else {
        return Err(GatewayError::invalid("Give seq and size."));
    };
    auditor(&gateway, &headers, &id, AUDIT_READ_SCOPE, "inclusion proof").await?;
    let (path, leaf, root) = read(&gateway, move |log| {
        let path = log.inclusion_proof(seq, size)?;
        let leaf = log.entries(seq, 1)?.first().map(|e| e.leaf_hash);
        Ok((path, leaf, log.root_at(size)?))
    })
    .await?;
    Ok(Json(json!({
        "seq": seq, "tree_size": size, "leaf_hash": leaf.map(hex::encode),
        "root": hex::encode(root), "path": hexes(&path),
    }))
    .into_response())
}

/// `GET /v1/audit/proof/consistency?old=A&new=B`.
pub(super) async fn consistency(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    proof: Result<UrlQuery<ProofQuery>, QueryRejection>,
) -> Result<Response, GatewayError> {
    let UrlQuery(proof) = proof.map_err(|_| bad_query())?;
    let (Some(old), Some(new)) = (proof.old, proof.new) else {
        return Err(GatewayError::invalid("Give old and new."));
    };
    auditor(
        &gateway,
        &headers,
        &id,
        AUDIT_READ_SCOPE,
        "consistency proof",
    )
    .await?;
    let (path, old_root, new_root) = read(&gateway, move |log| {
        Ok((
            log.consistency_proof(old, new)?,
            log.root_at(old)?,
            log.root_at(new)?,
        ))
    })
    .await?;
    Ok(Json(json!({
        "old_size": old, "new_size": new, "old_root": hex::encode(old_root),
        "new_root": hex::encode(new_root), "path": hexes(&path),
    }))
    .into_response())
}

pub(super) fn bad_query() -> GatewayError {
    GatewayError::invalid("The query string has an unknown or malformed parameter.")
}
