//! The offline `echo` provider: answers in the Messages API's shape without calling a model.
//!
//! It exists so the whole pipeline can run with no network and no account, and so a person can
//! see exactly what would have reached a model. Its single text block says plainly that no
//! model was called, then repeats the system prompt and the text blocks of the last user
//! message verbatim. It never pretends to be a model.
//!
//! Token counts are an approximation, not a tokenizer: one token per whitespace-separated word.
//! `input_tokens` counts the words of the system prompt and of every text block of every
//! message; `output_tokens` counts the words of the echo's answer.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::Map;

use crate::assemble::events_from_message;
use crate::error::LlmError;
use crate::outbound::Outbound;
use crate::provider::{EventStream, Provider};
use crate::types::{
    ContentBlock, CountTokensRequest, CountTokensResponse, Message, MessagesRequest,
    MessagesResponse, ModelInfo, ModelList, Role, StopReason, System, Usage,
};

/// The first line of every echo answer.
pub const ECHO_NOTICE: &str = "This is Phigate's offline echo provider. No model was called, \
     and this is not a model's answer. Below is exactly the text the provider received.";

/// Characters per text delta when streaming, so that an answer arrives in several pieces.
const STREAM_CHUNK_CHARS: usize = 32;

/// The offline provider that repeats what it received.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoProvider;

impl EchoProvider {
    /// The echo's answer to a request, as a complete message.
    pub fn answer(&self, request: &MessagesRequest) -> MessagesResponse {
        let text = echo_text(request);
        let usage = Usage {
            input_tokens: input_words(request.system.as_ref(), &request.messages),
            output_tokens: words(&text),
            ..Usage::default()
        };
        MessagesResponse {
            id: format!("msg_echo_{:016x}", unique_u64()),
            kind: "message".to_owned(),
            role: Role::Assistant,
            content: vec![ContentBlock::text(text)],
            model: request.model.clone(),
            stop_reason: Some(StopReason::EndTurn),
            stop_sequence: None,
            usage,
            extra: Map::new(),
        }
    }
}

#[async_trait]
impl Provider for EchoProvider {
    fn name(&self) -> &str {
        "echo"
    }

    fn leaves_premises(&self) -> bool {
        false
    }

    async fn send(&self, outbound: &Outbound) -> Result<MessagesResponse, LlmError> {
        if outbound.stream {
            return Err(LlmError::InvalidRequest {
                reason: "a streaming request needs stream()",
            });
        }
        Ok(self.answer(&parse_request(outbound)?))
    }

    async fn stream(&self, outbound: &Outbound) -> Result<EventStream, LlmError> {
        if !outbound.stream {
            return Err(LlmError::InvalidRequest {
                reason: "a non-streaming request needs send()",
            });
        }
        let answer = self.answer(&parse_request(outbound)?);
        let events = events_from_message(&answer, STREAM_CHUNK_CHARS);
        Ok(futures::stream::iter(events.into_iter().map(Ok)).boxed())
    }

    async fn count_tokens(&self, outbound: &Outbound) -> Result<CountTokensResponse, LlmError> {
        let request: CountTokensRequest =
            serde_json::from_slice(&outbound.body).map_err(|_| LlmError::InvalidRequest {
                reason: "not a count_tokens request",
            })?;
        let input_tokens = input_words(request.system.as_ref(), &request.messages);
        Ok(CountTokensResponse {
            input_tokens,
            extra: Map::new(),
        })
    }

    async fn list_models(&self) -> Result<ModelList, LlmError> {
        let echo = ModelInfo {
            kind: "model".to_owned(),
            id: "echo".to_owned(),
            display_name: "Phigate offline echo (no model)".to_owned(),
            created_at: "1970-01-01T00:00:00Z".to_owned(),
            extra: Map::new(),
        };
        Ok(ModelList {
            first_id: Some(echo.id.clone()),
            last_id: Some(echo.id.clone()),
            data: vec![echo],
            has_more: false,
        })
    }
}

fn parse_request(outbound: &Outbound) -> Result<MessagesRequest, LlmError> {
    serde_json::from_slice(&outbound.body).map_err(|_| LlmError::InvalidRequest {
        reason: "not a Messages API request",
    })
}

/// The notice, then the system prompt and the last user message's text, verbatim.
fn echo_text(request: &MessagesRequest) -> String {
    let mut out = String::from(ECHO_NOTICE);
    out.push_str("\n\n");
    match &request.system {
        Some(system) => {
            out.push_str("--- system prompt ---\n");
            out.push_str(&system.texts().join("\n"));
            out.push('\n');
        }
        None => out.push_str("--- no system prompt was received ---\n"),
    }
    let last_user = request
        .messages
        .iter()
        .rev()
        .find(|message| message.role == Role::User);
    match last_user.map(|message| message.content.texts()) {
        Some(texts) if !texts.is_empty() => {
            out.push_str("--- last user message ---\n");
            out.push_str(&texts.join("\n"));
            out.push('\n');
        }
        _ => out.push_str("--- the last user message carried no text ---\n"),
    }
    out.push_str("--- end of received text ---");
    out
}

fn input_words(system: Option<&System>, messages: &[Message]) -> u64 {
    let system_words: u64 = system
        .map(|s| s.texts().into_iter().map(words).sum())
        .unwrap_or(0);
    let message_words: u64 = messages
        .iter()
        .flat_map(|m| m.content.texts())
        .map(words)
        .sum::<u64>();
    system_words + message_words
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// A value that differs between calls and between processes, for message ids.
fn unique_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a failing test should stop right there")]

    use futures::StreamExt;
    use serde_json::json;

    use super::*;
    use crate::assemble::MessageAssembler;

    fn request(stream: bool) -> MessagesRequest {
        serde_json::from_value(json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 256,
            "stream": stream,
            "system": [{"type": "text", "text": "You draft SOAP notes for [NAME_1]."}],
            "messages": [
                {"role": "user", "content": "first turn"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": [
                    {"type": "text", "text": "Patient [NAME_1], seen on [DATE_2].\n  Indented  line."},
                    {"type": "image", "source": {"type": "url", "url": "https://example.invalid/x.png"}},
                    {"type": "text", "text": "Second block: ünïcödé ✓"}
                ]}
            ]
        }))
        .unwrap()
    }

    fn outbound(stream: bool) -> Outbound {
        Outbound::from_request(&request(stream), "2023-06-01", vec![]).unwrap()
    }

    #[tokio::test]
    async fn the_echo_says_no_model_was_called_and_repeats_the_received_text_verbatim() {
        let answer = EchoProvider.send(&outbound(false)).await.unwrap();
        let text = answer.text();
        assert!(text.starts_with(ECHO_NOTICE));
        assert!(text.contains("You draft SOAP notes for [NAME_1]."));
        assert!(text.contains("Patient [NAME_1], seen on [DATE_2].\n  Indented  line."));
        assert!(text.contains("Second block: ünïcödé ✓"));
        assert!(
            !text.contains("first turn"),
            "only the last user message is repeated"
        );
    }

    #[tokio::test]
    async fn the_echo_answers_in_the_messages_api_shape() {
        let answer = EchoProvider.send(&outbound(false)).await.unwrap();
        let value = serde_json::to_value(&answer).unwrap();
        assert!(answer.id.starts_with("msg_echo_"));
        assert_eq!(value["type"], "message");
        assert_eq!(value["role"], "assistant");
        assert_eq!(value["model"], "claude-sonnet-4-5");
        assert_eq!(value["stop_reason"], "end_turn");
        assert_eq!(value["content"][0]["type"], "text");
        assert_eq!(answer.usage.input_tokens, 6 + 2 + 1 + 7 + 4);
        assert_eq!(answer.usage.output_tokens, words(&answer.text()));
        assert!(!EchoProvider.leaves_premises());
    }

    #[tokio::test]
    async fn the_echo_streams_the_same_answer_in_several_deltas() {
        let mut events = EchoProvider.stream(&outbound(true)).await.unwrap();
        let mut assembler = MessageAssembler::new();
        let mut text_deltas = 0;
        while let Some(event) = events.next().await {
            let event = event.unwrap();
            if matches!(event, crate::types::StreamEvent::ContentBlockDelta { .. }) {
                text_deltas += 1;
            }
            assembler.push(&event).unwrap();
        }
        assert!(text_deltas > 3);
        let streamed = assembler.finish().unwrap();
        let sent = EchoProvider.answer(&request(true));
        assert_eq!(streamed.text(), sent.text());
        assert_eq!(streamed.stop_reason, Some(StopReason::EndTurn));
    }

    #[tokio::test]
    async fn send_refuses_a_streaming_body_rather_than_answering_in_the_wrong_shape() {
        let err = EchoProvider.send(&outbound(true)).await.unwrap_err();
        assert_eq!(err.status(), 400);
    }
}
