//! The routes, and the middleware every one of them runs behind.

mod admin;
mod admin_clients;
mod audit;
mod audit_post;
mod break_glass;
mod console;
mod count_tokens;
mod drafts;
mod health;
mod incidents;
mod messages;
mod models;
mod patient;
mod patient_page;
mod tasks;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tracing::Instrument;

use crate::error::{ErrorBody, error_body};
use crate::{Gateway, GatewayError, random_hex};

/// The id of one request, set by the outermost middleware and returned as `request-id`.
#[derive(Clone, Debug)]
pub(crate) struct RequestId(pub String);

/// The gateway's HTTP application.
pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new()
        .route("/v1/messages", post(messages::create))
        .route("/v1/messages/count_tokens", post(count_tokens::count))
        .route("/v1/models", get(models::list))
        .route("/v1/models/{id}", get(models::get_one))
        .route("/v1/audit/entries", get(audit::entries))
        .route("/v1/audit/export", get(audit::export))
        .route(
            "/v1/audit/disclosures",
            get(audit::disclosures).post(audit_post::disclosures),
        )
        .route("/v1/audit/search", post(audit_post::search))
        .route("/v1/audit/status", get(audit_post::status))
        .route("/v1/audit/checkpoint", get(audit::checkpoint))
        .route("/v1/audit/proof/inclusion", get(audit::inclusion))
        .route("/v1/audit/proof/consistency", get(audit::consistency))
        .route("/v1/tasks/{task}", post(tasks::run))
        .route("/v1/break-glass", post(break_glass::open))
        .route("/v1/drafts", get(drafts::list))
        .route("/v1/drafts/{id}", get(drafts::read).patch(drafts::edit))
        .route("/v1/drafts/{id}/approve", post(drafts::approve))
        .route("/v1/drafts/{id}/reject", post(drafts::reject))
        .route("/v1/admin/users", get(admin::list).post(admin::create))
        .route("/v1/admin/users/{username}/disable", post(admin::disable))
        .route("/v1/admin/users/{username}/enable", post(admin::enable))
        .route(
            "/v1/admin/users/{username}/reset-mfa",
            post(admin::reset_mfa),
        )
        .route(
            "/v1/admin/clients",
            get(admin_clients::list).post(admin_clients::create),
        )
        .route("/v1/admin/clients/{id}/revoke", post(admin_clients::revoke))
        .route("/v1/admin/keys", get(admin_clients::keys))
        .route("/v1/admin/keys/rotate", post(admin_clients::rotate))
        .route("/console", get(console::bare))
        .route("/console/", get(console::index))
        .route("/console/callback", get(console::index))
        .route("/console/{file}", get(console::asset))
        .route("/v1/patient/assistant", post(patient::assistant))
        .route("/v1/patient/appointments", get(patient::appointments))
        .route("/patient", get(patient_page::redirect))
        .route("/patient/", get(patient_page::index))
        .route("/patient/app.js", get(patient_page::app))
        .route("/patient/style.css", get(patient_page::style))
        .route("/patient/icon.svg", get(patient_page::icon))
        .route("/patient/config.json", get(patient_page::config))
        .route("/v1/incidents", get(incidents::list))
        .route("/v1/incidents/{id}/ack", post(incidents::acknowledge))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are read by `body::read`, which enforces the configured limit itself.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(request_id))
        .with_state(gateway)
}

async fn request_id(mut request: Request, next: Next) -> Response {
    let id = match random_hex() {
        Ok(hex) => format!("req_{hex}"),
        Err(err) => return err.into_response(),
    };
    request.extensions_mut().insert(RequestId(id.clone()));
    // The route template, never the raw path: paths can carry identifiers.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!(
        "http.request",
        request.id = id.as_str(),
        http.route = route.as_str(),
        http.method = request.method().as_str(),
        http.status = tracing::field::Empty,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    span.record("http.status", response.status().as_u16());
    tracing::debug!(parent: &span, "http.response");
    if let Some(ErrorBody(error)) = response.extensions_mut().remove::<ErrorBody>() {
        // The real API puts the id in error bodies too, where SDKs and support tickets find it.
        response.headers_mut().remove(CONTENT_LENGTH);
        *response.body_mut() = Body::from(error_body(&error, Some(&id)));
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("request-id", value);
    }
    response
}

async fn not_found() -> GatewayError {
    GatewayError::NotFound("No such route on this gateway.")
}

async fn method_not_allowed() -> GatewayError {
    GatewayError::invalid("This route does not accept that HTTP method.")
}
