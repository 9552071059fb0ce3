//! The one interface the gateway uses to call a model.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

use crate::error::LlmError;
use crate::outbound::Outbound;
use crate::types::{CountTokensResponse, MessagesResponse, ModelList, StreamEvent};

/// A stream of events of one streamed message.
pub type EventStream = BoxStream<'static, Result<StreamEvent, LlmError>>;

/// A non-streaming answer with the bytes it was read from.
#[derive(Debug, Clone)]
pub struct Received {
    /// The answer.
    pub message: MessagesResponse,
    /// The body as the provider sent it, for the audit log's digest of what came back.
    pub bytes: Bytes,
}

/// A model provider.
///
/// Every method takes an [`Outbound`] whose bytes the gateway has already checked; a provider
/// sends those bytes and nothing else.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider's name for configuration, logs and audit (`anthropic`, `echo`).
    fn name(&self) -> &str;

    /// Whether calling this provider sends data off the premises, and so needs a BAA.
    fn leaves_premises(&self) -> bool;

    /// Sends a non-streaming Messages request.
    async fn send(&self, outbound: &Outbound) -> Result<MessagesResponse, LlmError>;

    /// Like [`send`](Self::send), also returning the bytes the answer was read from. A
    /// provider that reads a body overrides this to keep them; the default encodes the answer,
    /// which is what a provider that answers in-process (`echo`) would have sent.
    async fn send_received(&self, outbound: &Outbound) -> Result<Received, LlmError> {
        let message = self.send(outbound).await?;
        let bytes = serde_json::to_vec(&message)
            .map_err(|e| LlmError::decode("message", &e))?
            .into();
        Ok(Received { message, bytes })
    }

    /// Sends a streaming Messages request and returns its events.
    ///
    /// Failures before the first event come back as `Err`; failures after it (including the
    /// upstream's `error` events) come back as the stream's last item.
    async fn stream(&self, outbound: &Outbound) -> Result<EventStream, LlmError>;

    /// Counts the input tokens of a `count_tokens` request.
    async fn count_tokens(&self, _outbound: &Outbound) -> Result<CountTokensResponse, LlmError> {
        Err(LlmError::Unsupported {
            operation: "count_tokens",
        })
    }

    /// Lists the models the provider offers.
    async fn list_models(&self) -> Result<ModelList, LlmError> {
        Err(LlmError::Unsupported {
            operation: "list_models",
        })
    }
}
