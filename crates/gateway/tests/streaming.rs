//! Streamed answers through the whole gateway: order, restoring across every cut, upstream
//! failures after the `200`, and a client that leaves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should stop right there"
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use futures::StreamExt;
use phigate_audit::{Action, Outcome};
use phigate_gateway::GatewayConfig;
use phigate_llm::mock::MockResponse;
use phigate_llm::sse::{SseDecoder, parse_event};
use phigate_llm::types::{ApiError, Delta, MessagesResponse, StreamEvent};
use phigate_llm::{
    EventStream, LlmError, MessageAssembler, Outbound, Provider, events_from_message,
};
use serde_json::{Value, json};

fn streamed(mut body: Value) -> Value {
    body["stream"] = json!(true);
    body
}

fn answer(content: Value) -> MessagesResponse {
    serde_json::from_value(json!({
        "id": "msg_s", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": content, "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 5, "output_tokens": 5}
    }))
    .unwrap()
}

/// The events of a streamed response body.
async fn read_events(response: reqwest::Response) -> Vec<StreamEvent> {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let bytes = response.bytes().await.unwrap();
    SseDecoder::new()
        .push(&bytes)
        .iter()
        .map(|frame| parse_event(frame).unwrap())
        .collect()
}

fn assemble(events: &[StreamEvent]) -> MessagesResponse {
    let mut assembler = MessageAssembler::new();
    for event in events {
        assembler.push(event).unwrap();
    }
    assembler.finish().unwrap()
}

#[tokio::test]
async fn a_streamed_answer_keeps_its_event_order_and_comes_back_restored() {
    let gw = start(|_| {}).await;
    let response = gw
        .post("/v1/messages", &streamed(message(&clinical_text())))
        .await;
    let events = read_events(response).await;
    let kinds: Vec<&str> = events.iter().map(StreamEvent::event_type).collect();
    assert_eq!(
        &kinds[..3],
        ["message_start", "content_block_start", "ping"]
    );
    assert_eq!(
        &kinds[kinds.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    let text = assemble(&events).text();
    assert!(text.contains(NAME) && text.contains(PHONE) && text.contains(SSN));
    gw.assert_no_phi_upstream();
    assert_eq!(gw.actions(), vec![Action::Disclosure, Action::Response]);
}

#[tokio::test]
async fn a_placeholder_cut_at_every_byte_upstream_is_still_restored() {
    let gw = start(|_| {}).await;
    let text = "Seen [NAME_1] today, call [PHONE_1].";
    let expected = format!("Seen {NAME} today, call {PHONE}.");
    for cut in 0..=text.len() {
        let mut events = events_from_message(&answer(json!([{"type": "text", "text": ""}])), 8);
        // Replace the (empty) text with two deltas split at `cut`.
        let at = events
            .iter()
            .position(|e| matches!(e, StreamEvent::ContentBlockStop { .. }))
            .unwrap();
        for (offset, piece) in [&text[..cut], &text[cut..]].into_iter().enumerate() {
            let delta = Delta::TextDelta {
                text: piece.to_owned(),
            };
            events.insert(
                at + offset,
                StreamEvent::ContentBlockDelta { index: 0, delta },
            );
        }
        let chunk_bytes = 1 + cut % 7;
        gw.mock().push(MockResponse::ChunkedStream {
            events,
            chunk_bytes,
        });
        let response = gw
            .post("/v1/messages", &streamed(message(&clinical_text())))
            .await;
        let got = assemble(&read_events(response).await).text();
        assert_eq!(
            got, expected,
            "cut at byte {cut}, writes of {chunk_bytes} bytes"
        );
    }
}

#[tokio::test]
async fn a_streamed_tool_call_is_restored_into_valid_json() {
    let gw = start(|_| {}).await;
    let tool = json!([{"type": "tool_use", "id": "toolu_9", "name": "chart",
        "input": {"patient": "[NAME_1]", "ssn": "[SSN_1]", "n": 2}}]);
    let events = events_from_message(&answer(tool), 3);
    gw.mock().push(MockResponse::ChunkedStream {
        events,
        chunk_bytes: 5,
    });
    let response = gw
        .post("/v1/messages", &streamed(message(&clinical_text())))
        .await;
    let message = assemble(&read_events(response).await);
    let value = serde_json::to_value(&message).unwrap();
    assert_eq!(
        value["content"][0]["input"],
        json!({"patient": NAME, "ssn": SSN, "n": 2})
    );
}

#[tokio::test]
async fn an_upstream_error_after_the_200_reaches_the_client_in_the_api_shape() {
    let gw = start(|_| {}).await;
    let mut events =
        events_from_message(&answer(json!([{"type": "text", "text": "Hi [NAME_1]"}])), 4);
    events.truncate(4);
    events.push(StreamEvent::Error {
        error: ApiError::new("overloaded_error", "upstream text that must not be relayed"),
    });
    gw.mock().push(MockResponse::Stream(events));
    let response = gw
        .post("/v1/messages", &streamed(message(&clinical_text())))
        .await;
    let events = read_events(response).await;
    let Some(StreamEvent::Error { error }) = events.last() else {
        panic!("the stream does not end with an error event");
    };
    assert_eq!(error.error_type, "overloaded_error");
    assert!(!error.message.contains("must not be relayed"));
    let last = gw
        .audit
        .entries(0, 10)
        .unwrap()
        .pop()
        .unwrap()
        .event
        .unwrap();
    assert_eq!(
        (last.action, last.outcome),
        (Action::Response, Outcome::Failed)
    );
}

/// A provider that streams forever and notes when its stream is dropped.
struct Endless {
    dropped: Arc<AtomicBool>,
}

struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl Provider for Endless {
    fn name(&self) -> &str {
        "endless"
    }

    fn leaves_premises(&self) -> bool {
        false
    }

    async fn send(&self, _outbound: &Outbound) -> Result<MessagesResponse, LlmError> {
        Err(LlmError::Unsupported { operation: "send" })
    }

    async fn stream(&self, _outbound: &Outbound) -> Result<EventStream, LlmError> {
        let head = events_from_message(&answer(json!([{"type": "text", "text": ""}])), 8);
        let head: Vec<_> = head.into_iter().take(3).map(Ok).collect();
        let flag = DropFlag(self.dropped.clone());
        let tail = futures::stream::unfold(flag, |flag| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let delta = Delta::TextDelta {
                text: "more ".into(),
            };
            Some((Ok(StreamEvent::ContentBlockDelta { index: 0, delta }), flag))
        });
        Ok(futures::stream::iter(head).chain(tail).boxed())
    }
}

#[tokio::test]
async fn a_client_that_disconnects_cancels_the_upstream_stream() {
    let dropped = Arc::new(AtomicBool::new(false));
    let provider = Arc::new(Endless {
        dropped: dropped.clone(),
    });
    let gw = start_with(provider, GatewayConfig::new(TENANT), None).await;
    let mut response = gw.post("/v1/messages", &streamed(message("hello"))).await;
    assert_eq!(response.status(), 200);
    assert!(response.chunk().await.unwrap().is_some());
    assert!(!dropped.load(Ordering::SeqCst));
    drop(response);
    for _ in 0..200 {
        if dropped.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        dropped.load(Ordering::SeqCst),
        "the upstream stream outlived its client"
    );
}
