//! `POST /v1/messages/count_tokens`. Counting sends the whole conversation to the provider, so
//! it is a disclosure like any other: de-identified, gated and audited first.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phigate_llm::Outbound;
use phigate_llm::types::CountTokensRequest;

use super::RequestId;
use super::messages::{Prepared, prepare};
use crate::{Gateway, GatewayError, sha256_hex};

pub(super) async fn count(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let Prepared {
        request,
        scrubbed,
        api,
        trail,
    } = prepare::<CountTokensRequest>(&gateway, &id, "count_tokens", &headers, body).await?;
    let mode = gateway.mode();
    gateway.check_provider(&trail).await?;
    let outbound = Outbound::from_count_tokens(&request, &api.version, api.betas)?;
    let outbound = gateway.disclose(&trail, outbound, &scrubbed, mode).await?;
    let counted = match gateway.provider.count_tokens(&outbound).await {
        Ok(counted) => counted,
        Err(err) => {
            let detail = format!("upstream failed, status {}", err.status());
            trail.response(None, detail, false).await?;
            return Err(err.into());
        }
    };
    let received = serde_json::to_vec(&counted).map_err(|_| GatewayError::Internal("encode"))?;
    trail
        .response(Some(sha256_hex(&received)), "token count".to_owned(), true)
        .await?;
    Ok(Json(counted).into_response())
}
