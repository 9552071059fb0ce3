//! Relaying a streamed answer: the upstream's server-sent events, re-identified block by block,
//! in the same order and with the same indexes.
//!
//! A task owns the upstream stream and the request's vault and writes events into a small
//! channel that is the response body. When the client goes away the channel closes, the task
//! stops at once and drops the upstream stream, which closes the upstream connection.
//!
//! The response is audited (with the SHA-256 of the upstream's events, re-encoded as SSE) before
//! the final `message_stop` is sent; if that entry cannot be written the client gets an `error`
//! event instead. An upstream failure after the `200` — its `error` event, a cut connection, a
//! stream that ends early — reaches the client as an `error` event in the API's shape, with a
//! fixed message: upstream error text is never relayed.

mod blocks;

use std::convert::Infallible;
use std::sync::Arc;

use aws_lc_rs::digest::{Context, SHA256};
use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use phigate_agent::DisclosureMode;
use phigate_deid::Vault;
use phigate_llm::sse::encode_event;
use phigate_llm::types::{ApiError, StreamEvent};
use phigate_llm::{EventStream, LlmError, Outbound};
use tokio::sync::mpsc;

use self::blocks::{BlockRelay, escaped_vault};
use crate::audit::Trail;
use crate::scrub::IdMap;
use crate::{Gateway, GatewayError};

/// Events buffered between the relay task and the connection.
const CHANNEL_EVENTS: usize = 32;

/// Starts the upstream stream and answers with the relayed events.
pub(crate) async fn relay(
    gateway: Arc<Gateway>,
    trail: Trail,
    outbound: Outbound,
    vault: Vault,
    ids: IdMap,
    mode: DisclosureMode,
) -> Result<Response, GatewayError> {
    let upstream = match gateway.provider.stream(&outbound).await {
        Ok(upstream) => upstream,
        Err(err) => {
            let detail = format!("upstream failed, status {}", err.status());
            trail.response(None, detail, false).await?;
            return Err(err.into());
        }
    };
    let (tx, rx) = mpsc::channel::<Bytes>(CHANNEL_EVENTS);
    let restore = mode == DisclosureMode::Pseudonymized;
    tokio::spawn(run(gateway, trail, upstream, vault, ids, restore, tx));
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), rx))
    });
    Ok((
        [
            (CONTENT_TYPE, "text/event-stream"),
            (CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// How a relay ended.
enum End {
    /// `message_stop` arrived.
    Complete,
    /// The upstream failed (or ended early); the client gets an `error` event.
    Upstream(LlmError),
    /// The client went away.
    Disconnected,
}

async fn run(
    gateway: Arc<Gateway>,
    trail: Trail,
    mut upstream: EventStream,
    vault: Vault,
    ids: IdMap,
    restore: bool,
    tx: mpsc::Sender<Bytes>,
) {
    let escaped = escaped_vault(&vault);
    let mut blocks = BlockRelay::new(&vault, escaped.as_ref(), &ids, &gateway.thinking, restore);
    let mut digest = Context::new(&SHA256);

    let end = loop {
        let next = tokio::select! {
            () = tx.closed() => break End::Disconnected,
            next = upstream.next() => next,
        };
        let event = match next {
            Some(Ok(event)) => event,
            Some(Err(err)) => break End::Upstream(err),
            None => break End::Upstream(LlmError::Truncated),
        };
        if let Ok(wire) = encode_event(&event) {
            digest.update(wire.as_bytes());
        }
        if matches!(event, StreamEvent::MessageStop) {
            break End::Complete;
        }
        let relayed = match blocks.event(event) {
            Ok(relayed) => relayed,
            Err(err) => break End::Upstream(err),
        };
        if !send_all(&tx, relayed).await {
            break End::Disconnected;
        }
    };
    // Dropping the upstream stream now closes its connection, whatever happens next.
    drop(upstream);

    let received = Some(hex::encode(digest.finish().as_ref()));
    let unknown = blocks.unknown_placeholders();
    match end {
        End::Complete => {
            let detail = format!("streamed; unknown_placeholders={unknown}");
            let last = match trail.response(received, detail, true).await {
                Ok(()) => StreamEvent::MessageStop,
                Err(err) => error_event(err.api_error()),
            };
            send_all(&tx, vec![last]).await;
        }
        End::Upstream(err) => {
            // Operators see a stream that fails after its 200 as they see any other upstream
            // failure (the error names statuses and types only, never a body).
            tracing::warn!(
                request.id = trail.request_id(),
                status = err.status(),
                error = %err,
                "gateway.stream upstream failed mid-way"
            );
            let detail = format!("stream failed mid-way, status {}", err.status());
            // The client is told either way; a failed entry here is logged by the trail.
            let _ = trail.response(received, detail, false).await;
            send_all(&tx, vec![error_event(err.api_error())]).await;
        }
        End::Disconnected => {
            tracing::debug!(
                request.id = trail.request_id(),
                "gateway.stream client disconnected"
            );
            let _ = trail
                .response(received, "client disconnected".to_owned(), false)
                .await;
        }
    }
}

fn error_event(error: ApiError) -> StreamEvent {
    StreamEvent::Error { error }
}

/// Sends events in order; `false` once the client is gone.
async fn send_all(tx: &mpsc::Sender<Bytes>, events: Vec<StreamEvent>) -> bool {
    for event in events {
        let Ok(wire) = encode_event(&event) else {
            continue;
        };
        if tx.send(Bytes::from(wire)).await.is_err() {
            return false;
        }
    }
    true
}
