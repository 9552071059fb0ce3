//! `GET /v1/models` and `GET /v1/models/{id}`: the provider's list, behind the same credential
//! check as every other `/v1` route. Nothing is disclosed, so nothing is audited.

use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::RequestId;
use crate::audit::Trail;
use crate::auth::MESSAGES_SCOPE;
use crate::{Gateway, GatewayError};

pub(super) async fn list(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let principal = gateway.authenticate(&headers, &id, MESSAGES_SCOPE).await?;
    let trail = Trail::new(&gateway, Some(&principal), &id, "models");
    gateway.check_provider(&trail).await?;
    let models = gateway.provider.list_models().await?;
    Ok(Json(models).into_response())
}

pub(super) async fn get_one(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    Path(model): Path<String>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let principal = gateway.authenticate(&headers, &id, MESSAGES_SCOPE).await?;
    let trail = Trail::new(&gateway, Some(&principal), &id, "models");
    gateway.check_provider(&trail).await?;
    let models = gateway.provider.list_models().await?;
    models
        .data
        .into_iter()
        .find(|m| m.id == model)
        .map(|m| Json(m).into_response())
        .ok_or(GatewayError::NotFound(
            "The provider offers no model with that id.",
        ))
}
