//! The Anthropic Messages API on the wire, as Rust types.
//!
//! The types follow the public API reference field for field. Where the API is open-ended
//! (tool choice, thinking settings, image sources) the value is kept as raw JSON, and every
//! object that callers send keeps unknown fields in a flattened `extra` map, so a request that
//! uses a feature this crate has not heard of still reaches the provider unchanged.

mod content;
mod response;
pub(crate) mod stream;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use content::{
    ContentBlock, DocumentBlock, ImageBlock, RedactedThinkingBlock, TextBlock, ThinkingBlock,
    ToolResultBlock, ToolResultContent, ToolUseBlock,
};
pub use response::{
    ApiError, CountTokensRequest, CountTokensResponse, ErrorResponse, MessagesResponse, ModelInfo,
    ModelList, StopReason, Usage,
};
pub use stream::{Delta, DeltaUsage, MessageDelta, StreamEvent};

/// A request to `POST /v1/messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesRequest {
    /// The model to use, e.g. `claude-sonnet-4-5`.
    pub model: String,
    /// The most tokens the model may generate.
    pub max_tokens: u32,
    /// The conversation so far, alternating user and assistant turns.
    pub messages: Vec<Message>,
    /// The system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<System>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// How the model should choose tools (`{"type":"auto"}`, ...), as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Whether to answer with server-sent events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Custom sequences that stop generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Request metadata (`{"user_id": ...}`), as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Extended thinking settings (`{"type":"enabled","budget_tokens":...}`), as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    /// Every other field (`service_tier`, `container`, `mcp_servers`, ...), kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MessagesRequest {
    /// A request with one user turn of plain text and nothing else set.
    pub fn new(model: impl Into<String>, max_tokens: u32, user_text: impl Into<String>) -> Self {
        MessagesRequest {
            model: model.into(),
            max_tokens,
            messages: vec![Message::user(user_text)],
            system: None,
            tools: None,
            tool_choice: None,
            stream: None,
            temperature: None,
            top_p: None,
            top_k: None,
            stop_sequences: None,
            metadata: None,
            thinking: None,
            extra: Map::new(),
        }
    }

    /// Whether the request asks for a streamed answer.
    pub fn is_stream(&self) -> bool {
        self.stream.unwrap_or(false)
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The caller.
    User,
    /// The model.
    Assistant,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// What it says.
    pub content: MessageContent,
}

impl Message {
    /// A user turn of plain text.
    pub fn user(text: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: MessageContent::Text(text.into()),
        }
    }

    /// An assistant turn of plain text.
    pub fn assistant(text: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: MessageContent::Text(text.into()),
        }
    }
}

/// A message's content: a plain string or a list of blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Shorthand for a single text block.
    Text(String),
    /// A list of blocks.
    Blocks(Vec<ContentBlock>),
}

impl MessageContent {
    /// The text of the content in order: the string itself, or each text block's text.
    ///
    /// Other block kinds (images, tool calls, ...) are skipped.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            MessageContent::Text(text) => vec![text.as_str()],
            MessageContent::Blocks(blocks) => {
                blocks.iter().filter_map(ContentBlock::as_text).collect()
            }
        }
    }
}

/// The system prompt: a plain string or a list of text blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum System {
    /// A plain string.
    Text(String),
    /// Text blocks, which may carry `cache_control`.
    Blocks(Vec<SystemBlock>),
}

impl System {
    /// The text of the system prompt in order.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            System::Text(text) => vec![text.as_str()],
            System::Blocks(blocks) => blocks
                .iter()
                .map(|block| match block {
                    SystemBlock::Text(text) => text.text.as_str(),
                })
                .collect(),
        }
    }
}

/// A block of a system prompt; the API accepts only text here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SystemBlock {
    /// A text block.
    Text(TextBlock),
}

/// A tool the model may call.
///
/// Client tools have an `input_schema`; server tools (`web_search`, ...) have a `type` and
/// settings instead, which land in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The tool's name.
    pub name: String,
    /// What the tool does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the tool's input; `null` (and omitted) for server tools.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub input_schema: Value,
    /// Every other field (`type`, `cache_control`, server tool settings), kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
