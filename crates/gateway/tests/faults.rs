//! Fault injection between the gateway and what it stands on: an upstream that times out,
//! resets the connection, fails with a 5xx or breaks its event stream half-way, and an audit
//! log that cannot be written in time. Each case asserts the status and error shape the caller
//! sees, that no identifier reached the upstream or the gateway's own log lines, that the audit
//! log records what was disclosed (nothing lost), and that it still verifies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should stop right there"
)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::*;
use phigate_audit::{Action, Outcome};
use phigate_gateway::GatewayConfig;
use phigate_llm::mock::{MockResponse, MockUpstream};
use phigate_llm::sse::{SseDecoder, encode_event, parse_event};
use phigate_llm::types::{MessagesResponse, StreamEvent};
use phigate_llm::{AnthropicConfig, AnthropicProvider, ApiKey, Provider, events_from_message};
use serde_json::{Value, json};

/// Every log line any gateway in this test binary writes, at every level.
fn log_lines() -> &'static Arc<Mutex<Vec<u8>>> {
    static LINES: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LINES.get_or_init(|| {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        lines
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A gateway whose upstream client gives up after `timeout`, with the log captured.
async fn gateway(timeout: Duration) -> Harness {
    log_lines();
    let mock = MockUpstream::start().await.unwrap();
    let mut config = AnthropicConfig::new(ApiKey::new(UPSTREAM_KEY));
    config.base_url = mock.base_url();
    config.max_retries = 0;
    config.timeout = timeout;
    let provider: Arc<dyn Provider> = Arc::new(AnthropicProvider::new(config).unwrap());
    let mut settings = GatewayConfig::new(TENANT);
    settings.provider_baa = true;
    start_with(provider, settings, Some(mock)).await
}

fn answer() -> MessagesResponse {
    serde_json::from_value(json!({
        "id": "msg_f", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Noted for [NAME_1]."}], "stop_reason": "end_turn",
        "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": 5}
    }))
    .unwrap()
}

/// An event stream that starts well and then sends a frame that is not JSON.
fn broken_stream() -> MockResponse {
    let events = events_from_message(&answer(), 4);
    let mut body: String = events[..3]
        .iter()
        .map(|e| encode_event(e).unwrap())
        .collect();
    body.push_str("event: content_block_delta\ndata: {\"type\": \"content_block_del\n\n");
    MockResponse::Raw {
        status: 200,
        content_type: "text/event-stream".into(),
        body: body.into(),
    }
}

/// After a fault: no identifier upstream or in any log line, every disclosure recorded with
/// the digest of the bytes the upstream received, and a log that verifies.
fn assert_nothing_leaked_or_lost(gw: &Harness, case: &str) {
    gw.assert_no_phi_upstream();
    let logged = String::from_utf8_lossy(&log_lines().lock().unwrap()).into_owned();
    assert!(
        logged.contains("gateway."),
        "{case}: the gateway's log lines were not captured"
    );
    for (kind, value) in PHI {
        assert!(
            !logged.contains(value),
            "{case}: a {kind} is in the log lines"
        );
    }
    let events: Vec<_> = gw
        .audit
        .entries(0, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.event.unwrap())
        .collect();
    let disclosed: Vec<_> = events
        .iter()
        .filter(|e| e.action == Action::Disclosure)
        .filter_map(|e| e.sent_sha256.clone())
        .collect();
    for received in gw.mock().received() {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &received.body);
        assert!(
            disclosed.contains(&hex::encode(digest)),
            "{case}: bytes reached the upstream without a disclosure entry"
        );
    }
    let report = gw.audit.verify().unwrap();
    assert!(report.ok, "{case}: the audit log does not verify");
}

fn assert_api_error(body: &Value, error_type: &str, case: &str) {
    assert_eq!(body["type"], "error", "{case}");
    assert_eq!(body["error"]["type"], error_type, "{case}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{case}: the error says nothing");
    for (kind, value) in PHI {
        assert!(!message.contains(value), "{case}: a {kind} is in the error");
    }
}

#[tokio::test]
async fn upstream_faults_end_in_the_api_error_shape_with_nothing_leaked_or_lost() {
    let cases: [(&str, MockResponse, u16, &str); 4] = [
        (
            "timeout",
            MockResponse::Delay(
                Duration::from_secs(5),
                Box::new(MockResponse::Json(answer())),
            ),
            504,
            "timeout_error",
        ),
        ("reset", MockResponse::CloseConnection, 502, "api_error"),
        (
            "5xx",
            MockResponse::error(500, "api_error"),
            502,
            "api_error",
        ),
        (
            "overloaded",
            MockResponse::error(529, "overloaded_error"),
            529,
            "overloaded_error",
        ),
    ];
    for (case, fault, status, error_type) in cases {
        let gw = gateway(Duration::from_millis(800)).await;
        gw.mock().push(fault);
        let response = gw.post("/v1/messages", &message(&clinical_text())).await;
        assert_eq!(response.status(), status, "{case}");
        assert!(response.headers().contains_key("request-id"), "{case}");
        assert_api_error(&response.json().await.unwrap(), error_type, case);
        assert_eq!(
            gw.mock().received().len(),
            1,
            "{case}: sent once, not retried"
        );
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
            (Action::Response, Outcome::Failed),
            "{case}: the failure is recorded"
        );
        assert_nothing_leaked_or_lost(&gw, case);
    }
}

#[tokio::test]
async fn a_stream_that_breaks_half_way_ends_in_an_error_event_with_nothing_leaked_or_lost() {
    let gw = gateway(Duration::from_secs(10)).await;
    gw.mock().push(broken_stream());
    let mut body = message(&clinical_text());
    body["stream"] = json!(true);
    let response = gw.post("/v1/messages", &body).await;
    assert_eq!(response.status(), 200, "the stream had begun");
    let bytes = response.bytes().await.unwrap();
    let events: Vec<StreamEvent> = SseDecoder::new()
        .push(&bytes)
        .iter()
        .map(|frame| parse_event(frame).unwrap())
        .collect();
    let Some(StreamEvent::Error { error }) = events.last() else {
        panic!("the stream does not end with an error event");
    };
    assert_eq!(error.error_type, "api_error");
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
    assert_nothing_leaked_or_lost(&gw, "broken stream");
}

#[tokio::test]
async fn an_audit_log_locked_by_another_writer_fails_closed_and_sends_nothing() {
    let gw = gateway(Duration::from_secs(10)).await;
    // Another connection holds the write lock past the log's busy timeout: the database is
    // there but too slow to take the disclosure entry.
    let holder = rusqlite::Connection::open(&gw.audit_path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let response = gw.post("/v1/messages", &message(&clinical_text())).await;
    assert_eq!(response.status(), 503);
    assert_api_error(&response.json().await.unwrap(), "api_error", "locked audit");
    assert!(
        gw.mock().received().is_empty(),
        "nothing may be sent unaudited"
    );
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);

    // Once the lock is gone the gateway works again and the log is whole.
    let response = gw.post("/v1/messages", &message(&clinical_text())).await;
    assert_eq!(response.status(), 200);
    assert_nothing_leaked_or_lost(&gw, "locked audit");
}
