//! What the API answers: messages, usage, errors, token counts and the model list.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{ContentBlock, Message, Role, System, Tool};

/// A complete answer from `POST /v1/messages` (and the skeleton in `message_start`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesResponse {
    /// The message id (`msg_...`).
    pub id: String,
    /// Always `"message"`.
    #[serde(rename = "type", default = "message_type")]
    pub kind: String,
    /// Always [`Role::Assistant`] from the API.
    pub role: Role,
    /// The blocks the model produced.
    pub content: Vec<ContentBlock>,
    /// The model that answered.
    pub model: String,
    /// Why the model stopped; `null` in `message_start`.
    pub stop_reason: Option<StopReason>,
    /// The stop sequence that was hit, if any.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Token usage.
    pub usage: Usage,
    /// Every other field (`container`, `context_management`, ...), kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn message_type() -> String {
    "message".to_owned()
}

impl MessagesResponse {
    /// The text of every text block, concatenated in order.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(ContentBlock::as_text)
            .collect()
    }
}

/// Why the model stopped generating. Values the API adds later are kept in [`StopReason::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum StopReason {
    /// The model finished its turn.
    EndTurn,
    /// `max_tokens` was reached.
    MaxTokens,
    /// One of the custom stop sequences was generated.
    StopSequence,
    /// The model called a tool.
    ToolUse,
    /// A long server-tool turn was paused and may be continued.
    PauseTurn,
    /// The model declined to answer.
    Refusal,
    /// A reason this crate does not know, kept verbatim.
    Other(String),
}

impl From<String> for StopReason {
    fn from(value: String) -> Self {
        match value.as_str() {
            "end_turn" => StopReason::EndTurn,
            "max_tokens" => StopReason::MaxTokens,
            "stop_sequence" => StopReason::StopSequence,
            "tool_use" => StopReason::ToolUse,
            "pause_turn" => StopReason::PauseTurn,
            "refusal" => StopReason::Refusal,
            _ => StopReason::Other(value),
        }
    }
}

impl From<StopReason> for String {
    fn from(value: StopReason) -> Self {
        match value {
            StopReason::EndTurn => "end_turn".to_owned(),
            StopReason::MaxTokens => "max_tokens".to_owned(),
            StopReason::StopSequence => "stop_sequence".to_owned(),
            StopReason::ToolUse => "tool_use".to_owned(),
            StopReason::PauseTurn => "pause_turn".to_owned(),
            StopReason::Refusal => "refusal".to_owned(),
            StopReason::Other(other) => other,
        }
    }
}

/// Token usage of one message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens that were not read from or written to the prompt cache.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens written to the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Every other field (`service_tier`, `server_tool_use`, `cache_creation`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `error` object of an error answer or stream event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// The error type, e.g. `invalid_request_error` or `overloaded_error`.
    #[serde(rename = "type")]
    pub error_type: String,
    /// A human-readable message.
    pub message: String,
}

impl ApiError {
    /// An error of the given type and message.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            error_type: error_type.into(),
            message: message.into(),
        }
    }

    /// The complete error body: `{"type":"error","error":{"type":..,"message":..}}`.
    pub fn to_json(&self) -> Value {
        json!({
            "type": "error",
            "error": { "type": self.error_type, "message": self.message },
        })
    }
}

/// A whole error body as the API sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// Always `"error"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The error itself.
    pub error: ApiError,
    /// The request id, also sent in the `request-id` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A request to `POST /v1/messages/count_tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountTokensRequest {
    /// The model whose tokenizer to use.
    pub model: String,
    /// The conversation to count.
    pub messages: Vec<Message>,
    /// The system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<System>,
    /// Tools, which count towards the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Tool choice, as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Extended thinking settings, as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    /// Every other field, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer of `POST /v1/messages/count_tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountTokensResponse {
    /// Tokens the request would use as input.
    pub input_tokens: u64,
    /// Every other field, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One model of `GET /v1/models`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Always `"model"`.
    #[serde(rename = "type", default = "model_type")]
    pub kind: String,
    /// The model id.
    pub id: String,
    /// A name for people.
    pub display_name: String,
    /// When the model was released (RFC 3339).
    pub created_at: String,
    /// Every other field, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn model_type() -> String {
    "model".to_owned()
}

/// A page of `GET /v1/models`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    /// The models on this page, newest first.
    pub data: Vec<ModelInfo>,
    /// Whether more pages follow.
    pub has_more: bool,
    /// The first id on this page, for paging backwards.
    pub first_id: Option<String>,
    /// The last id on this page, for paging forwards.
    pub last_id: Option<String>,
}
