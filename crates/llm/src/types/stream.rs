//! Server-sent events of a streamed message.
//!
//! A stream is `message_start`, then for each content block a `content_block_start`, some
//! `content_block_delta`s and a `content_block_stop`, then `message_delta` (stop reason and
//! cumulative usage) and `message_stop`. `ping` may come at any point, and `error` ends the
//! stream early even though the HTTP status was 200.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ApiError, ContentBlock, MessagesResponse, StopReason};

/// Event `type`s this crate models; anything else is kept as [`StreamEvent::Unknown`].
pub(crate) const KNOWN_EVENTS: &[&str] = &[
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
];

/// Delta `type`s this crate models.
pub(crate) const KNOWN_DELTAS: &[&str] = &[
    "text_delta",
    "input_json_delta",
    "thinking_delta",
    "signature_delta",
    "citations_delta",
];

/// One event of a streamed message.
///
/// Deserializing with serde is strict; [`crate::sse::parse_event`] additionally keeps event and
/// delta types it does not know as [`StreamEvent::Unknown`], as the API's versioning policy asks
/// of clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The message skeleton, with empty content and the input usage.
    MessageStart {
        /// The skeleton.
        message: MessagesResponse,
    },
    /// A content block begins; text starts empty and tool input starts as `{}`.
    ContentBlockStart {
        /// The block's position in the final `content` array.
        index: usize,
        /// The block's initial state.
        content_block: ContentBlock,
    },
    /// A piece of a content block.
    ContentBlockDelta {
        /// The block's position.
        index: usize,
        /// The piece.
        delta: Delta,
    },
    /// A content block is complete.
    ContentBlockStop {
        /// The block's position.
        index: usize,
    },
    /// Message-level changes: the stop reason and cumulative usage.
    MessageDelta {
        /// The changed fields.
        delta: MessageDelta,
        /// Cumulative usage so far.
        usage: DeltaUsage,
    },
    /// The message is complete.
    MessageStop,
    /// A keep-alive.
    Ping,
    /// The upstream failed after the stream began.
    Error {
        /// What went wrong.
        error: ApiError,
    },
    /// An event type this crate does not know, kept whole (including its `type`).
    #[serde(untagged, skip_deserializing)]
    Unknown(Value),
}

impl StreamEvent {
    /// The event's `type`, which is also its SSE `event:` name.
    pub fn event_type(&self) -> &str {
        match self {
            StreamEvent::MessageStart { .. } => "message_start",
            StreamEvent::ContentBlockStart { .. } => "content_block_start",
            StreamEvent::ContentBlockDelta { .. } => "content_block_delta",
            StreamEvent::ContentBlockStop { .. } => "content_block_stop",
            StreamEvent::MessageDelta { .. } => "message_delta",
            StreamEvent::MessageStop => "message_stop",
            StreamEvent::Ping => "ping",
            StreamEvent::Error { .. } => "error",
            StreamEvent::Unknown(value) => value
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("unknown"),
        }
    }
}

/// A piece of a content block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    /// More text for a text block.
    TextDelta {
        /// The text to append.
        text: String,
    },
    /// More of a tool call's input, as a fragment of JSON text.
    InputJsonDelta {
        /// The fragment to append; only the concatenation is valid JSON.
        partial_json: String,
    },
    /// More thinking for a thinking block.
    ThinkingDelta {
        /// The thinking to append.
        thinking: String,
    },
    /// The signature of a thinking block, sent just before its `content_block_stop`.
    SignatureDelta {
        /// The signature.
        signature: String,
    },
    /// A citation to add to a text block.
    CitationsDelta {
        /// The citation, as raw JSON.
        citation: Value,
    },
}

/// The message-level fields a `message_delta` changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageDelta {
    /// Why the model stopped.
    pub stop_reason: Option<StopReason>,
    /// The stop sequence that was hit, if any.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Every other field, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Cumulative usage in a `message_delta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeltaUsage {
    /// Output tokens so far.
    pub output_tokens: u64,
    /// Input tokens, when the API repeats them here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Input tokens written to the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Every other field, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
