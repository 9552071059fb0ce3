//! A loopback imitation of the Anthropic API, for tests.
//!
//! [`MockUpstream`] binds `127.0.0.1` on a free port and serves `POST /v1/messages`,
//! `POST /v1/messages/count_tokens` and `GET /v1/models` the way the API does: it refuses a
//! request without `x-api-key` (401) or `anthropic-version` (400) in the API's error shape,
//! answers JSON or server-sent events, and records every request it receives, headers and body
//! bytes, so a test can assert on exactly what left the gateway.
//!
//! Answers come from a script ([`MockResponse`]s, taken in order); with the script empty, it
//! answers with a plausible message quoting back the last user text. It is always compiled
//! because the gateway's and the binary's tests use it; it never listens beyond loopback.

mod listener;
mod render;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use self::listener::{KillSwitch, KillableListener};
use self::render::{JSON, error, render};
use crate::assemble::events_from_message;
use crate::types::{
    ContentBlock, MessagesRequest, MessagesResponse, Role, StopReason, StreamEvent, Usage,
};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum MockResponse {
    /// `200` with this message as JSON.
    Json(MessagesResponse),
    /// `200` with these events as server-sent events, each event in its own write.
    Stream(Vec<StreamEvent>),
    /// `200` with these events as server-sent events, cut into writes of `chunk_bytes` bytes
    /// wherever that falls: inside a line, a CRLF or a UTF-8 character.
    ChunkedStream {
        /// The events.
        events: Vec<StreamEvent>,
        /// Bytes per write.
        chunk_bytes: usize,
    },
    /// An error in the API's shape, with `retry-after` (seconds) and other headers when given.
    Error {
        /// The HTTP status.
        status: u16,
        /// The error `type`, e.g. `overloaded_error`.
        error_type: String,
        /// The `retry-after` header, in seconds.
        retry_after: Option<u64>,
        /// More headers, e.g. `retry-after-ms` or `x-should-retry`, as name and value.
        headers: Vec<(String, String)>,
    },
    /// Any status, content type and body, for answers the API should never give.
    Raw {
        /// The HTTP status.
        status: u16,
        /// The `content-type` header.
        content_type: String,
        /// The body.
        body: Bytes,
    },
    /// Waits, then answers with the inner response.
    Delay(Duration, Box<MockResponse>),
    /// Drops the connection without answering.
    CloseConnection,
}

impl MockResponse {
    /// An error answer without `retry-after`.
    pub fn error(status: u16, error_type: &str) -> Self {
        MockResponse::Error {
            status,
            error_type: error_type.to_owned(),
            retry_after: None,
            headers: Vec::new(),
        }
    }

    /// An error answer with extra headers, e.g. `x-should-retry`.
    pub fn error_with_headers(status: u16, error_type: &str, headers: &[(&str, &str)]) -> Self {
        MockResponse::Error {
            status,
            error_type: error_type.to_owned(),
            retry_after: None,
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }
}

/// A request as the mock received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Every header, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, byte for byte.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<MockResponse>>,
    received: Mutex<Vec<RecordedRequest>>,
    /// Set by [`MockUpstream::stop_recording`]: requests are answered, not kept.
    unrecorded: AtomicBool,
    counter: AtomicU64,
}

/// A running mock of the Anthropic API on loopback. Dropping it stops the server.
pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl MockUpstream {
    /// Starts a mock on `127.0.0.1` and a free port.
    pub async fn start() -> std::io::Result<Self> {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = tcp.local_addr()?;
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let service = app.into_make_service_with_connect_info::<KillSwitch>();
        let server = tokio::spawn(async move {
            // The server runs until the mock is dropped; an error here only ends the test's mock.
            let _ = axum::serve(KillableListener(tcp), service).await;
        });
        Ok(MockUpstream {
            addr,
            shared,
            server,
        })
    }

    /// The base URL to configure a client with, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds an answer to the end of the script.
    pub fn push(&self, response: MockResponse) {
        lock(&self.shared.script).push_back(response);
    }

    /// Every request received so far, oldest first.
    pub fn received(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.received).clone()
    }

    /// Stops keeping requests (those kept so far stay); answers are unchanged. For benchmarks
    /// only: a mock that keeps every body of a long load test grows by gigabytes, and the
    /// memory it takes from the system on the way is work no real upstream does on the
    /// gateway's cores. Tests that assert on what left the gateway keep recording.
    pub fn stop_recording(&self) {
        self.shared.unrecorded.store(true, Ordering::Relaxed);
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(switch): ConnectInfo<KillSwitch>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !shared.unrecorded.load(Ordering::Relaxed) {
        record(&shared, &method, &uri, &headers, &body);
    }
    let n = shared.counter.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("req_mock_{n:04}");

    if headers.get("x-api-key").is_none_or(|key| key.is_empty()) {
        return error(
            401,
            "authentication_error",
            "x-api-key header is required",
            &request_id,
        );
    }
    if headers.get("anthropic-version").is_none() {
        let message = "anthropic-version: header is required";
        return error(400, "invalid_request_error", message, &request_id);
    }

    let scripted = lock(&shared.script).pop_front();
    let mut response = scripted.unwrap_or_else(|| default_response(&method, uri.path(), &body, n));
    loop {
        match response {
            MockResponse::Delay(wait, next) => {
                tokio::time::sleep(wait).await;
                response = *next;
            }
            MockResponse::CloseConnection => {
                switch.kill();
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            other => return render(other, &request_id),
        }
    }
}

/// Keeps one request as received.
fn record(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) {
    let recorded = RecordedRequest {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.to_string()),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into(),
                )
            })
            .collect(),
        body: body.clone(),
    };
    lock(&shared.received).push(recorded);
}

/// What the mock answers with an empty script.
fn default_response(method: &Method, path: &str, body: &[u8], n: u64) -> MockResponse {
    let invalid = MockResponse::error(400, "invalid_request_error");
    let json = |value: Value| MockResponse::Raw {
        status: 200,
        content_type: JSON.into(),
        body: Bytes::from(value.to_string()),
    };
    match (method.as_str(), path) {
        ("POST", "/v1/messages") => {
            let Ok(request) = serde_json::from_slice::<MessagesRequest>(body) else {
                return invalid;
            };
            let message = default_message(&request, n);
            if request.is_stream() {
                let events = events_from_message(&message, 8);
                MockResponse::ChunkedStream {
                    events,
                    chunk_bytes: 64,
                }
            } else {
                MockResponse::Json(message)
            }
        }
        ("POST", "/v1/messages/count_tokens") => match serde_json::from_slice::<Value>(body) {
            Ok(value) => {
                let words = value.to_string().split_whitespace().count();
                json(json!({ "input_tokens": words }))
            }
            Err(_) => invalid,
        },
        ("GET", "/v1/models") => json(json!({
            "data": [{
                "type": "model", "id": "claude-mock-1", "display_name": "Mock Claude",
                "created_at": "2025-01-01T00:00:00Z"
            }],
            "has_more": false, "first_id": "claude-mock-1", "last_id": "claude-mock-1"
        })),
        _ => MockResponse::error(404, "not_found_error"),
    }
}

/// A plausible answer that quotes back the last user text.
fn default_message(request: &MessagesRequest, n: u64) -> MessagesResponse {
    const OPENING: &str = "Mock upstream reply. You said: ";
    let last_user = request.messages.iter().rev().find(|m| m.role == Role::User);
    let mut text = OPENING.to_owned();
    if let Some(message) = last_user {
        text.push_str(&message.content.texts().join("\n"));
    }
    // Words stand in for tokens. The opening ends in a space, so its words and the quote's add
    // up; the quote's count is the whole text's less the opening's.
    let opening_words = ascii_words(OPENING);
    let said_words = ascii_words(&text).saturating_sub(opening_words);
    MessagesResponse {
        id: format!("msg_mock_{n:04}"),
        kind: "message".to_owned(),
        role: Role::Assistant,
        usage: Usage {
            input_tokens: said_words,
            output_tokens: opening_words + said_words,
            ..Usage::default()
        },
        content: vec![ContentBlock::text(text)],
        model: request.model.clone(),
        stop_reason: Some(StopReason::EndTurn),
        stop_sequence: None,
        extra: Map::new(),
    }
}

/// Words separated by ASCII white space, counted in one pass over the bytes. The mock shares
/// the benchmark's cores with the gateway; on the bench's 8 KB prompt this takes about half the
/// time `split_ascii_whitespace().count()` does (4–5 µs against 8–10 µs, measured here).
fn ascii_words(text: &str) -> u64 {
    let mut words = 0;
    let mut in_word = false;
    for &byte in text.as_bytes() {
        let space = byte.is_ascii_whitespace();
        words += u64::from(!space && !in_word);
        in_word = !space;
    }
    words
}

#[cfg(test)]
mod tests {
    use super::{ascii_words, default_message};
    use crate::types::MessagesRequest;

    #[test]
    fn the_default_answer_counts_the_words_it_quotes_and_adds() {
        let request: MessagesRequest = match serde_json::from_value(serde_json::json!({
            "model": "claude-mock-1", "max_tokens": 16,
            "messages": [{"role": "user", "content": "  three\twords here\n"}]
        })) {
            Ok(request) => request,
            Err(err) => panic!("the request parses: {err}"),
        };
        let answer = default_message(&request, 1);
        assert_eq!(answer.usage.input_tokens, 3);
        let [block] = answer.content.as_slice() else {
            panic!("one block")
        };
        let text = serde_json::to_value(block).unwrap_or_default()["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            answer.usage.output_tokens,
            text.split_whitespace().count() as u64
        );
        assert_eq!(answer.usage.output_tokens, 8);
    }

    #[test]
    fn words_are_counted_as_split_ascii_whitespace_counts_them() {
        for text in [
            "",
            " ",
            "one",
            "  lead and trail  ",
            "tab\tform\x0cfeed\r\nline",
            "no\u{a0}break space is not ASCII white space",
            "émigré café — naïve",
        ] {
            assert_eq!(
                ascii_words(text),
                text.split_ascii_whitespace().count() as u64,
                "{text:?}"
            );
        }
    }
}
