//! `/v1/admin/users`: staff accounts for administrators, over the same store functions as
//! `phigate users`. Every change is audited as a `config_change` whose detail names what
//! changed, never the username; one-time passwords and TOTP enrolment URIs are in the answer
//! once and nowhere else.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phigate_audit::{Action, Outcome};
use phigate_auth::{Principal, Role, Totp};
use phigate_store::{Store, StoreError, UserRecord};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::RequestId;
use crate::audit::Trail;
use crate::{Gateway, GatewayError, body};

/// The scope of the account routes.
const USERS_SCOPE: &str = "admin/users";

/// An administrator, authenticated for `scope`, and the store.
pub(super) struct Admin {
    pub gateway: Arc<Gateway>,
    pub principal: Principal,
    pub store: Store,
    pub request_id: String,
}

impl Admin {
    pub(super) async fn new(
        gateway: Arc<Gateway>,
        headers: &HeaderMap,
        request_id: String,
        scope: &str,
    ) -> Result<Self, GatewayError> {
        let store = gateway.admin.clone().ok_or(GatewayError::NotFound(
            "Administration is not enabled on this gateway.",
        ))?;
        let principal = gateway.authenticate(headers, &request_id, scope).await?;
        Ok(Self {
            gateway,
            principal,
            store,
            request_id,
        })
    }

    /// Runs a store call on the blocking pool.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, GatewayError> + Send + 'static,
    ) -> Result<T, GatewayError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|_| GatewayError::Internal("administration task failed"))?
    }

    /// Records a change made by this administrator.
    pub(super) async fn record(&self, action: Action, detail: String) -> Result<(), GatewayError> {
        let trail = Trail::new(
            &self.gateway,
            Some(&self.principal),
            &self.request_id,
            "admin",
        );
        let mut event = trail.event(action, Outcome::Success);
        event.detail = Some(detail);
        trail.record(event).await
    }
}

/// A store failure as the caller sees it.
pub(super) fn store_error(err: StoreError, what: &'static str) -> GatewayError {
    match err {
        StoreError::NotFound(_) => GatewayError::NotFound(what),
        StoreError::Conflict(_) => GatewayError::invalid("That conflicts with what is stored."),
        other => {
            tracing::warn!(error = %other, "gateway.admin store call failed");
            GatewayError::Internal("store unavailable")
        }
    }
}

/// A JSON body of type `T`.
pub(super) async fn json_body<T: DeserializeOwned>(
    gateway: &Gateway,
    headers: &HeaderMap,
    raw: Body,
    shape: &'static str,
) -> Result<T, GatewayError> {
    let bytes = body::read(headers, raw, &gateway.config).await?;
    serde_json::from_slice(&bytes).map_err(|_| GatewayError::invalid(shape))
}

/// An answer holding a secret shown once: never cached.
pub(super) fn once(value: Value) -> Response {
    let mut response = Json(value).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The rule `phigate users add` applies: 1 to 64 letters, digits, `.`, `_` or `-`.
fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn user(store: &Store, tenant: &str, username: &str) -> Result<UserRecord, GatewayError> {
    store
        .user_by_name(tenant, username)
        .map_err(|e| store_error(e, "No such user."))?
        .ok_or(GatewayError::NotFound("No such user."))
}

/// Enrols a fresh TOTP secret, as `phigate users` does, and returns its `otpauth://` URI.
fn enrol(store: &Store, user: &UserRecord) -> Result<String, GatewayError> {
    let totp = Totp::generate().map_err(|_| GatewayError::Internal("no randomness"))?;
    store
        .set_totp_secret(user, Some(totp.secret()))
        .map_err(|e| store_error(e, "No such user."))?;
    let account = format!("{}@{}", user.username, user.tenant);
    Ok(totp.provisioning_uri("Phigate", &account).to_string())
}

/// `GET /v1/admin/users`.
pub(super) async fn list(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let admin = Admin::new(gateway, &headers, id, USERS_SCOPE).await?;
    let tenant = admin.gateway.config.tenant.clone();
    let users = admin
        .run(move |store| {
            let mut out = Vec::new();
            for user in store
                .list_users(&tenant)
                .map_err(|e| store_error(e, "No users."))?
            {
                let security = store
                    .user_security(&user.id)
                    .map_err(|e| store_error(e, "No such user."))?;
                let state = match (user.disabled, security.locked) {
                    (true, _) => "disabled",
                    (false, true) => "locked",
                    _ => "active",
                };
                out.push(json!({
                    "id": user.id, "username": user.username, "role": user.role,
                    "state": state, "mfa": security.totp_enrolled,
                    "failures": security.failures,
                }));
            }
            Ok(out)
        })
        .await?;
    Ok(Json(json!({"users": users})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewUser {
    username: String,
    role: String,
    #[serde(default)]
    totp: bool,
}

/// `POST /v1/admin/users` with `{"username", "role", "totp"}`: a new account and its one-time
/// password (and TOTP enrolment URI for admins, auditors, or when asked).
pub(super) async fn create(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, GatewayError> {
    let admin = Admin::new(gateway, &headers, id, USERS_SCOPE).await?;
    let new: NewUser = json_body(
        &admin.gateway,
        &headers,
        raw,
        "The body must be {\"username\": ..., \"role\": ..., \"totp\": false}.",
    )
    .await?;
    if !valid_username(&new.username) {
        return Err(GatewayError::invalid(
            "A username is 1 to 64 letters, digits, '.', '_' or '-'.",
        ));
    }
    let role = Role::parse(&new.role).map_err(|_| GatewayError::invalid("Unknown role."))?;
    if !role.is_person() {
        return Err(GatewayError::invalid(
            "The service role is for machines: register an OAuth client instead.",
        ));
    }
    let tenant = admin.gateway.config.tenant.clone();
    let (record, password, totp_uri) = admin
        .run(move |store| {
            let exists = store
                .user_by_name(&tenant, &new.username)
                .map_err(|e| store_error(e, "No such user."))?;
            if exists.is_some() {
                return Err(GatewayError::invalid(
                    "A user with that name already exists.",
                ));
            }
            let password =
                phigate_agent::random_id().map_err(|_| GatewayError::Internal("no randomness"))?;
            phigate_agent::set_user(store, &tenant, &new.username, role, &password)
                .map_err(GatewayError::Agent)?;
            let record = user(store, &tenant, &new.username)?;
            let totp_uri = if role.requires_mfa() || new.totp {
                Some(enrol(store, &record)?)
            } else {
                None
            };
            Ok((record, password, totp_uri))
        })
        .await?;
    admin
        .record(
            Action::ConfigChange,
            format!("user added with role {}", role.as_str()),
        )
        .await?;
    Ok(once(json!({
        "id": record.id, "username": record.username, "role": record.role,
        "password": password, "totp_uri": totp_uri,
    })))
}

/// `POST /v1/admin/users/{username}/disable`.
pub(super) async fn disable(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    set_disabled(gateway, id, username, headers, true).await
}

/// `POST /v1/admin/users/{username}/enable` (also clears a lockout).
pub(super) async fn enable(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    set_disabled(gateway, id, username, headers, false).await
}

async fn set_disabled(
    gateway: Arc<Gateway>,
    request_id: String,
    username: String,
    headers: HeaderMap,
    disabled: bool,
) -> Result<Response, GatewayError> {
    let admin = Admin::new(gateway, &headers, request_id, USERS_SCOPE).await?;
    let tenant = admin.gateway.config.tenant.clone();
    let me = admin.principal.user_id.clone();
    admin
        .run(move |store| {
            let record = user(store, &tenant, &username)?;
            if disabled && record.id == me {
                return Err(GatewayError::invalid(
                    "Administrators cannot disable their own account.",
                ));
            }
            store
                .set_user_disabled(&tenant, &username, disabled)
                .map_err(|e| store_error(e, "No such user."))
        })
        .await?;
    let verb = if disabled { "disabled" } else { "enabled" };
    admin
        .record(Action::ConfigChange, format!("user {verb}"))
        .await?;
    Ok(Json(json!({"state": verb})).into_response())
}

/// `POST /v1/admin/users/{username}/reset-mfa`: a new TOTP secret; the old one stops working.
pub(super) async fn reset_mfa(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let admin = Admin::new(gateway, &headers, id, USERS_SCOPE).await?;
    let tenant = admin.gateway.config.tenant.clone();
    let uri = admin
        .run(move |store| enrol(store, &user(store, &tenant, &username)?))
        .await?;
    admin
        .record(Action::ConfigChange, "user second factor reset".into())
        .await?;
    Ok(once(json!({"totp_uri": uri})))
}
