//! Content blocks: the typed pieces of a message.
//!
//! Every block keeps the fields it does not know in `extra` (`cache_control`, and whatever the
//! API adds next), and a block whose `type` is not known at all is kept whole as
//! [`ContentBlock::Unknown`]. A block whose `type` *is* known but whose fields do not fit is an
//! error rather than an `Unknown`: otherwise a malformed `text` block would slip past the code
//! that inspects text.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// One block of message content, tagged by its `type` on the wire.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Plain text, optionally with citations.
    Text(TextBlock),
    /// An image; its `source` (base64, URL or file) is kept as raw JSON.
    Image(ImageBlock),
    /// A document (PDF, plain text, or nested content); its `source` is kept as raw JSON.
    Document(DocumentBlock),
    /// A call the model makes to a client-side tool.
    ToolUse(ToolUseBlock),
    /// The caller's answer to a [`ContentBlock::ToolUse`].
    ToolResult(ToolResultBlock),
    /// Extended thinking, with the signature that lets it be sent back.
    Thinking(ThinkingBlock),
    /// Thinking the API returned encrypted.
    RedactedThinking(RedactedThinkingBlock),
    /// A call to a server-side tool, kept as the raw block (including its `type`).
    #[serde(untagged)]
    ServerToolUse(Value),
    /// A web search result, kept as the raw block (including its `type`).
    #[serde(untagged)]
    WebSearchToolResult(Value),
    /// Any block type this crate does not know, kept as the raw block.
    #[serde(untagged)]
    Unknown(Value),
}

impl ContentBlock {
    /// A plain text block with no citations.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text(TextBlock::new(text))
    }

    /// The text of a [`ContentBlock::Text`] block, `None` for every other kind.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentBlock::Text(block) => Some(&block.text),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let Value::Object(mut map) = value else {
            return Err(D::Error::custom("content block must be a JSON object"));
        };
        let kind = match map.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            _ => return Err(D::Error::custom("content block needs a string `type`")),
        };

        // The raw variants keep their `type`; the typed ones get it back from the enum tag.
        match kind.as_str() {
            "server_tool_use" => return Ok(ContentBlock::ServerToolUse(Value::Object(map))),
            "web_search_tool_result" => {
                return Ok(ContentBlock::WebSearchToolResult(Value::Object(map)));
            }
            "text" | "image" | "document" | "tool_use" | "tool_result" | "thinking"
            | "redacted_thinking" => {}
            _ => return Ok(ContentBlock::Unknown(Value::Object(map))),
        }
        map.remove("type");
        let body = Value::Object(map);
        let block = match kind.as_str() {
            "text" => ContentBlock::Text(typed(body)?),
            "image" => ContentBlock::Image(typed(body)?),
            "document" => ContentBlock::Document(typed(body)?),
            "tool_use" => ContentBlock::ToolUse(typed(body)?),
            "tool_result" => ContentBlock::ToolResult(typed(body)?),
            "thinking" => ContentBlock::Thinking(typed(body)?),
            _ => ContentBlock::RedactedThinking(typed(body)?),
        };
        Ok(block)
    }
}

fn typed<T: serde::de::DeserializeOwned, E: serde::de::Error>(body: Value) -> Result<T, E> {
    serde_json::from_value(body).map_err(E::custom)
}

/// A text block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextBlock {
    /// The text itself.
    pub text: String,
    /// Citations the model attached to this text, as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Vec<Value>>,
    /// Fields this crate does not model (`cache_control`, ...), kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TextBlock {
    /// A text block with no citations and no extra fields.
    pub fn new(text: impl Into<String>) -> Self {
        TextBlock {
            text: text.into(),
            citations: None,
            extra: Map::new(),
        }
    }
}

/// An image block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageBlock {
    /// Where the image comes from (`{"type":"base64",...}`, `{"type":"url",...}`, ...).
    pub source: Value,
    /// Fields this crate does not model, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A document block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentBlock {
    /// Where the document comes from; a `text` or `content` source carries text inline.
    pub source: Value,
    /// An optional title shown to the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Optional context about the document shown to the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Citation settings (`{"enabled": true}`), as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Value>,
    /// Fields this crate does not model, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A tool call made by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUseBlock {
    /// The call's id (`toolu_...`), echoed back in the matching tool result.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The tool's input, a JSON object matching its schema.
    pub input: Value,
    /// Fields this crate does not model, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result of a tool call, sent by the caller in a user message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResultBlock {
    /// The id of the [`ToolUseBlock`] this answers.
    pub tool_use_id: String,
    /// What the tool returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ToolResultContent>,
    /// Whether the tool failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Fields this crate does not model, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A tool result's content: a plain string or a list of blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolResultContent {
    /// A plain string.
    Text(String),
    /// Text, image or document blocks.
    Blocks(Vec<ContentBlock>),
}

/// An extended-thinking block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThinkingBlock {
    /// The model's reasoning (or a summary of it).
    pub thinking: String,
    /// The signature that must accompany the block when it is sent back.
    pub signature: String,
    /// Fields this crate does not model, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A thinking block the API returned encrypted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedactedThinkingBlock {
    /// Opaque encrypted data, to be sent back unchanged.
    pub data: String,
    /// Fields this crate does not model, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
