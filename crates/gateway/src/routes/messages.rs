//! `POST /v1/messages`, streamed or not, and the steps it shares with token counting.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phigate_agent::DisclosureMode;
use phigate_llm::Outbound;
use phigate_llm::types::MessagesRequest;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::RequestId;
use crate::audit::Trail;
use crate::auth::MESSAGES_SCOPE;
use crate::body::{self, ApiHeaders};
use crate::restore::restore_message;
use crate::scrub::{Scrubbable, Scrubbed, scrub};
use crate::{Gateway, GatewayError, sha256_hex, stream, validate};

/// A request that has passed every check and been de-identified, not yet disclosed.
pub(super) struct Prepared<R> {
    pub request: R,
    pub scrubbed: Scrubbed,
    pub api: ApiHeaders,
    pub trail: Trail,
}

/// Authenticates, reads, validates and de-identifies a request body.
pub(super) async fn prepare<R>(
    gateway: &Arc<Gateway>,
    request_id: &str,
    endpoint: &'static str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Prepared<R>, GatewayError>
where
    R: Scrubbable + DeserializeOwned + Send + 'static,
{
    // Authentication, de-identification and the egress gate have spans of their own; reading
    // gets one here. Span fields are fixed names and numbers, never a value from the request.
    let principal = gateway
        .authenticate(headers, request_id, MESSAGES_SCOPE)
        .await?;
    let api = ApiHeaders::read(headers, gateway.config.allowed_betas_for(&principal.tenant))?;
    let read = tracing::debug_span!("gateway.read");
    let bytes = body::read(headers, body, &gateway.config)
        .instrument(read.clone())
        .await?;
    let mut request: R = read.in_scope(|| body::parse(&bytes, &gateway.config))?;
    let parts = request.parts();
    read.in_scope(|| validate::check(parts.messages, parts.extra, &gateway.config))?;
    // The span ends here, so that it does not also time de-identification.
    drop(read);

    // Detection is CPU work proportional to the body; keep it off the connection threads.
    let shared = gateway.clone();
    let span = tracing::Span::current();
    let (request, scrubbed) = tokio::task::spawn_blocking(move || {
        let _request = span.enter();
        let scrubbed = scrub(&mut request, &shared.detector, &shared.thinking);
        (request, scrubbed)
    })
    .await
    .map_err(|_| GatewayError::Internal("de-identification task failed"))?;
    if scrubbed.identifier_in_structure {
        return Err(GatewayError::InvalidRequest(
            "An object key, id, tool name or other field that Phigate cannot de-identify \
             appears to contain an identifier. Move the data into a value."
                .into(),
        ));
    }

    let trail = Trail::new(gateway, Some(&principal), request_id, endpoint);
    Ok(Prepared {
        request,
        scrubbed,
        api,
        trail,
    })
}

pub(super) async fn create(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let prepared = prepare::<MessagesRequest>(&gateway, &id, "messages", &headers, body).await?;
    let Prepared {
        request,
        scrubbed,
        api,
        trail,
    } = prepared;
    let mode = gateway.mode();
    gateway.check_provider(&trail).await?;
    let outbound = Outbound::from_request(&request, &api.version, api.betas)?;
    let outbound = gateway.disclose(&trail, outbound, &scrubbed, mode).await?;
    if outbound.stream {
        return stream::relay(gateway, trail, outbound, scrubbed.vault, scrubbed.ids, mode).await;
    }

    let upstream = tracing::debug_span!("gateway.upstream", provider = gateway.provider.name());
    let sent = gateway.provider.send_received(&outbound);
    let (mut answer, received) = match sent.instrument(upstream).await {
        // The digest is of the bytes as they came back, as for a stream.
        Ok(received) => (received.message, sha256_hex(&received.bytes)),
        Err(err) => {
            let detail = format!("upstream failed, status {}", err.status());
            trail.response(None, detail, false).await?;
            return Err(err.into());
        }
    };
    // The caller's own ids come back whatever the mode: they were never the provider's.
    scrubbed.ids.restore(&mut answer.content);
    let unknown = match mode {
        DisclosureMode::Pseudonymized => tracing::debug_span!("gateway.restore")
            .in_scope(|| restore_message(&mut answer, &scrubbed.vault, &gateway.thinking)),
        DisclosureMode::SafeHarbor => 0,
    };
    let detail = format!("unknown_placeholders={unknown}");
    trail.response(Some(received), detail, true).await?;
    Ok(Json(answer).into_response())
}
