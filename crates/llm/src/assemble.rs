//! Going between a whole message and the event sequence that streams it.
//!
//! [`events_from_message`] produces the sequence the API would send for a message, which the
//! echo provider and the mock upstream use to stream. [`MessageAssembler`] folds a sequence
//! back into the message, which the gateway can use to audit a streamed answer and tests use
//! to compare what was streamed with what was scripted.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::{LlmError, sanitize_error_type};
use crate::types::{
    ContentBlock, Delta, DeltaUsage, MessageDelta, MessagesResponse, StreamEvent, TextBlock,
    ThinkingBlock, ToolUseBlock,
};

/// The events that stream `message`, with text split into pieces of `chunk_chars` characters.
pub fn events_from_message(message: &MessagesResponse, chunk_chars: usize) -> Vec<StreamEvent> {
    let mut skeleton = message.clone();
    skeleton.content = Vec::new();
    skeleton.stop_reason = None;
    skeleton.stop_sequence = None;
    skeleton.usage.output_tokens = message.usage.output_tokens.min(1);

    let mut events = vec![StreamEvent::MessageStart { message: skeleton }];
    for (index, block) in message.content.iter().enumerate() {
        let (start, deltas) = split_block(block, chunk_chars.max(1));
        events.push(StreamEvent::ContentBlockStart {
            index,
            content_block: start,
        });
        if index == 0 {
            events.push(StreamEvent::Ping);
        }
        events.extend(
            deltas
                .into_iter()
                .map(|delta| StreamEvent::ContentBlockDelta { index, delta }),
        );
        events.push(StreamEvent::ContentBlockStop { index });
    }
    events.push(StreamEvent::MessageDelta {
        delta: MessageDelta {
            stop_reason: message.stop_reason.clone(),
            stop_sequence: message.stop_sequence.clone(),
            extra: Map::new(),
        },
        usage: DeltaUsage {
            output_tokens: message.usage.output_tokens,
            ..DeltaUsage::default()
        },
    });
    events.push(StreamEvent::MessageStop);
    events
}

/// A block's `content_block_start` state and the deltas that complete it.
fn split_block(block: &ContentBlock, chunk_chars: usize) -> (ContentBlock, Vec<Delta>) {
    match block {
        ContentBlock::Text(text) => {
            let start = TextBlock {
                text: String::new(),
                citations: None,
                ..text.clone()
            };
            let mut deltas: Vec<Delta> = chunks(&text.text, chunk_chars)
                .map(|text| Delta::TextDelta { text })
                .collect();
            for citation in text.citations.iter().flatten() {
                deltas.push(Delta::CitationsDelta {
                    citation: citation.clone(),
                });
            }
            (ContentBlock::Text(start), deltas)
        }
        ContentBlock::ToolUse(tool) => {
            let start = ToolUseBlock {
                input: Value::Object(Map::new()),
                ..tool.clone()
            };
            let json = tool.input.to_string();
            let deltas = chunks(&json, chunk_chars)
                .map(|partial_json| Delta::InputJsonDelta { partial_json });
            (ContentBlock::ToolUse(start), deltas.collect())
        }
        ContentBlock::Thinking(thinking) => {
            let start = ThinkingBlock {
                thinking: String::new(),
                signature: String::new(),
                ..thinking.clone()
            };
            let mut deltas: Vec<Delta> = chunks(&thinking.thinking, chunk_chars)
                .map(|thinking| Delta::ThinkingDelta { thinking })
                .collect();
            deltas.push(Delta::SignatureDelta {
                signature: thinking.signature.clone(),
            });
            (ContentBlock::Thinking(start), deltas)
        }
        other => (other.clone(), Vec::new()),
    }
}

/// `text` in pieces of at most `size` characters, never splitting a character.
fn chunks(text: &str, size: usize) -> impl Iterator<Item = String> + '_ {
    let chars: Vec<char> = text.chars().collect();
    let pieces: Vec<String> = chars
        .chunks(size)
        .map(|piece| piece.iter().collect())
        .collect();
    pieces.into_iter()
}

/// Folds stream events back into the message they describe.
#[derive(Debug, Default)]
pub struct MessageAssembler {
    message: Option<MessagesResponse>,
    partial_json: HashMap<usize, String>,
    stopped: bool,
}

impl MessageAssembler {
    /// An assembler that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one event. An `error` event, or an event out of order, is an error.
    pub fn push(&mut self, event: &StreamEvent) -> Result<(), LlmError> {
        match event {
            StreamEvent::MessageStart { message } => self.message = Some(message.clone()),
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                let message = self.message_mut()?;
                if *index != message.content.len() {
                    return Err(out_of_order());
                }
                message.content.push(content_block.clone());
            }
            StreamEvent::ContentBlockDelta { index, delta } => self.apply_delta(*index, delta)?,
            StreamEvent::ContentBlockStop { index } => self.close_block(*index)?,
            StreamEvent::MessageDelta { delta, usage } => {
                let message = self.message_mut()?;
                message.stop_reason = delta.stop_reason.clone();
                message.stop_sequence = delta.stop_sequence.clone();
                message.usage.output_tokens = usage.output_tokens;
                if let Some(input) = usage.input_tokens {
                    message.usage.input_tokens = input;
                }
                if usage.cache_creation_input_tokens.is_some() {
                    message.usage.cache_creation_input_tokens = usage.cache_creation_input_tokens;
                }
                if usage.cache_read_input_tokens.is_some() {
                    message.usage.cache_read_input_tokens = usage.cache_read_input_tokens;
                }
            }
            StreamEvent::MessageStop => self.stopped = true,
            StreamEvent::Error { error } => {
                return Err(LlmError::StreamFailed {
                    error_type: sanitize_error_type(&error.error_type),
                });
            }
            StreamEvent::Ping | StreamEvent::Unknown(_) => {}
        }
        Ok(())
    }

    /// The assembled message; an error if `message_stop` never came.
    pub fn finish(self) -> Result<MessagesResponse, LlmError> {
        match self.message {
            Some(message) if self.stopped => Ok(message),
            _ => Err(LlmError::Truncated),
        }
    }

    fn message_mut(&mut self) -> Result<&mut MessagesResponse, LlmError> {
        self.message.as_mut().ok_or_else(out_of_order)
    }

    fn apply_delta(&mut self, index: usize, delta: &Delta) -> Result<(), LlmError> {
        if let Delta::InputJsonDelta { partial_json } = delta {
            self.partial_json
                .entry(index)
                .or_default()
                .push_str(partial_json);
            return Ok(());
        }
        let block = self
            .message_mut()?
            .content
            .get_mut(index)
            .ok_or_else(out_of_order)?;
        match (block, delta) {
            (ContentBlock::Text(text), Delta::TextDelta { text: more }) => text.text.push_str(more),
            (ContentBlock::Text(text), Delta::CitationsDelta { citation }) => {
                text.citations
                    .get_or_insert_with(Vec::new)
                    .push(citation.clone());
            }
            (ContentBlock::Thinking(thinking), Delta::ThinkingDelta { thinking: more }) => {
                thinking.thinking.push_str(more);
            }
            (ContentBlock::Thinking(thinking), Delta::SignatureDelta { signature }) => {
                thinking.signature.clone_from(signature);
            }
            _ => return Err(out_of_order()),
        }
        Ok(())
    }

    fn close_block(&mut self, index: usize) -> Result<(), LlmError> {
        let Some(json) = self.partial_json.remove(&index) else {
            return Ok(());
        };
        let input = if json.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            serde_json::from_str(&json).map_err(|e| LlmError::decode("tool input", &e))?
        };
        match self.message_mut()?.content.get_mut(index) {
            Some(ContentBlock::ToolUse(tool)) => tool.input = input,
            Some(ContentBlock::Unknown(Value::Object(raw)))
            | Some(ContentBlock::ServerToolUse(Value::Object(raw))) => {
                raw.insert("input".to_owned(), input);
            }
            _ => return Err(out_of_order()),
        }
        Ok(())
    }
}

fn out_of_order() -> LlmError {
    LlmError::Decode {
        what: "stream event sequence",
        line: 0,
        column: 0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message() -> MessagesResponse {
        let value = json!({
            "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [
                {"type": "thinking", "thinking": "Consider the dose.", "signature": "sig=="},
                {"type": "text", "text": "Take 5 mg — twice daily. 💊"},
                {"type": "tool_use", "id": "toolu_1", "name": "lookup",
                 "input": {"drug": "lisinopril", "n": [1, 2]}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 12, "output_tokens": 34}
        });
        serde_json::from_value(value).unwrap_or_else(|e| panic!("fixture: {e}"))
    }

    #[test]
    fn a_message_streamed_in_small_pieces_assembles_back_to_itself() {
        let original = message();
        let events = events_from_message(&original, 3);
        assert!(events.len() > 10);
        let mut assembler = MessageAssembler::new();
        for event in &events {
            assembler.push(event).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(assembler.finish().ok(), Some(original));
    }

    #[test]
    fn a_stream_without_message_stop_is_truncated() {
        let events = events_from_message(&message(), 8);
        let mut assembler = MessageAssembler::new();
        for event in &events[..events.len() - 1] {
            assembler.push(event).unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(matches!(assembler.finish(), Err(LlmError::Truncated)));
    }
}
