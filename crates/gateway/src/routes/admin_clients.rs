//! `/v1/admin/clients` and `/v1/admin/keys`: OAuth clients and the tenant's keys for
//! administrators, over the same functions as `phigate clients` and `phigate keys`. Client
//! secrets are in the registration's answer once; keys are described, never shown.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phigate_audit::Action;
use phigate_crypto::KeyState;
use phigate_oauth::{Registration, RegistrationError, new_client};
use serde::Deserialize;
use serde_json::{Value, json};

use super::RequestId;
use super::admin::{Admin, json_body, once, store_error};
use crate::{Gateway, GatewayError};

const CLIENTS_SCOPE: &str = "admin/clients";
const KEYS_SCOPE: &str = "admin/keys";

/// `GET /v1/admin/clients`: every client of the tenant, without secrets or keys.
pub(super) async fn list(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let admin = Admin::new(gateway, &headers, id, CLIENTS_SCOPE).await?;
    let tenant = admin.gateway.config.tenant.clone();
    let clients = admin
        .run(move |store| {
            store
                .list_clients(&tenant)
                .map_err(|e| store_error(e, "No clients."))
        })
        .await?;
    let clients: Vec<Value> = clients
        .iter()
        .map(|c| {
            json!({
                "client_id": c.id, "name": c.name, "role": c.role, "method": c.auth_method,
                "redirect_uris": c.redirect_uris, "scopes": c.scopes,
                "state": if c.revoked { "revoked" } else { "active" },
            })
        })
        .collect();
    Ok(Json(json!({"clients": clients})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewClient {
    name: String,
    role: String,
    method: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    jwks: Option<Value>,
}

/// `POST /v1/admin/clients`: registers a client; a secret, when its method has one, is in the
/// answer once.
pub(super) async fn create(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, GatewayError> {
    let admin = Admin::new(gateway, &headers, id, CLIENTS_SCOPE).await?;
    let new: NewClient = json_body(
        &admin.gateway,
        &headers,
        raw,
        "The body must be {\"name\", \"role\", \"method\", \"redirect_uris\", \"scopes\", \
         \"jwks\"}.",
    )
    .await?;
    let jwks = new.jwks.as_ref().map(Value::to_string);
    let registration = Registration {
        name: &new.name,
        role: &new.role,
        method: &new.method,
        redirect_uris: &new.redirect_uris,
        scopes: &new.scopes,
        jwks: jwks.as_deref(),
    };
    let (record, secret) =
        new_client(&admin.gateway.config.tenant, &registration).map_err(|err| match err {
            RegistrationError::Invalid(why) => GatewayError::InvalidRequest(why.into()),
            _ => GatewayError::Internal("no randomness"),
        })?;
    let stored = record.clone();
    admin
        .run(move |store| {
            store
                .insert_client(&stored)
                .map_err(|e| store_error(e, "No such client."))
        })
        .await?;
    admin
        .record(
            Action::ConfigChange,
            format!("OAuth client {} added ({})", record.id, record.auth_method),
        )
        .await?;
    Ok(once(json!({
        "client_id": record.id, "method": record.auth_method, "scopes": record.scopes,
        "client_secret": secret.as_ref().map(|s| s.as_str()),
    })))
}

/// `POST /v1/admin/clients/{id}/revoke`: the client and every session issued through it.
pub(super) async fn revoke(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let admin = Admin::new(gateway, &headers, id, CLIENTS_SCOPE).await?;
    let tenant = admin.gateway.config.tenant.clone();
    let target = client_id.clone();
    admin
        .run(move |store| {
            store
                .revoke_client(&tenant, &target)
                .map_err(|e| store_error(e, "No such client."))
        })
        .await?;
    admin
        .record(
            Action::ConfigChange,
            format!("OAuth client {client_id} revoked"),
        )
        .await?;
    Ok(Json(json!({"state": "revoked"})).into_response())
}

/// `GET /v1/admin/keys`: key versions and how many sealed values each protects.
pub(super) async fn keys(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let admin = Admin::new(gateway, &headers, id, KEYS_SCOPE).await?;
    let tenant = admin.gateway.config.tenant.clone();
    let (kms, status) = admin
        .run(move |store| {
            let status = store
                .key_status(&tenant)
                .map_err(|e| store_error(e, "No keys."))?;
            Ok((store.keyring().kms_id().to_owned(), status))
        })
        .await?;
    let seals = |kind: &'static str, version: u32| status.ciphertexts.get(&(kind, version));
    let tenant: Vec<Value> = status
        .tenant
        .iter()
        .map(|(version, state, wraps)| {
            json!({"version": version, "state": state.as_str(), "wraps_patient_keys": wraps,
                   "seals": seals("tenant", *version).unwrap_or(&0)})
        })
        .collect();
    let mut versions: Vec<u32> = status.patient.keys().map(|(v, _)| *v).collect();
    versions.dedup();
    let patient: Vec<Value> = versions
        .iter()
        .map(|version| {
            let mut states = serde_json::Map::new();
            for state in [
                KeyState::Active,
                KeyState::DecryptOnly,
                KeyState::Retired,
                KeyState::Destroyed,
            ] {
                if let Some(n) = status.patient.get(&(*version, state)) {
                    states.insert(state.as_str().to_owned(), json!(n));
                }
            }
            json!({"version": version, "patients": states,
                   "seals": seals("patient", *version).unwrap_or(&0)})
        })
        .collect();
    Ok(Json(json!({
        "root": kms, "tenant": tenant, "patient": patient,
        "sealed_values": status.ciphertexts.values().sum::<u64>(),
        "unreadable": status.unreadable,
    }))
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Rotate {
    #[serde(default)]
    tenant_only: bool,
}

/// `POST /v1/admin/keys/rotate` with `{"tenant_only": false}`: new key versions for writes.
pub(super) async fn rotate(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, GatewayError> {
    let admin = Admin::new(gateway, &headers, id, KEYS_SCOPE).await?;
    let rotate: Rotate = json_body(
        &admin.gateway,
        &headers,
        raw,
        "The body must be {\"tenant_only\": false}.",
    )
    .await?;
    let tenant = admin.gateway.config.tenant.clone();
    let report = admin
        .run(move |store| {
            store
                .rotate_tenant(&tenant, rotate.tenant_only)
                .map_err(|e| store_error(e, "No keys."))
        })
        .await?;
    admin
        .record(
            Action::KeyRotation,
            format!(
                "rotated: tenant key v{}, {} patient keys",
                report.tenant_version, report.patient_keys_rotated
            ),
        )
        .await?;
    let log = admin.gateway.audit.clone();
    let checkpoint = tokio::task::spawn_blocking(move || log.checkpoint()).await;
    if !matches!(checkpoint, Ok(Ok(_))) {
        tracing::warn!("gateway.admin checkpoint after rotation failed");
    }
    Ok(Json(json!({
        "tenant_version": report.tenant_version,
        "patient_keys_rotated": report.patient_keys_rotated,
    }))
    .into_response())
}
