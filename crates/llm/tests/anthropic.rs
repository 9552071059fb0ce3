//! The Anthropic client against the mock upstream, on loopback only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should stop right there"
)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use phigate_llm::mock::{MockResponse, MockUpstream};
use phigate_llm::types::{MessagesRequest, MessagesResponse, StreamEvent};
use phigate_llm::{
    AnthropicConfig, AnthropicProvider, ApiKey, Fault, LlmError, MessageAssembler, Outbound,
    Provider, TransportKind, events_from_message,
};
use serde_json::json;

const KEY: &str = "sk-ant-test-key";

fn config(mock: &MockUpstream) -> AnthropicConfig {
    let mut config = AnthropicConfig::new(ApiKey::new(KEY));
    config.base_url = mock.base_url();
    config.backoff_base = Duration::from_millis(10);
    config.backoff_max = Duration::from_millis(40);
    config.timeout = Duration::from_secs(10);
    config
}

fn provider(config: AnthropicConfig) -> AnthropicProvider {
    AnthropicProvider::new(config).expect("provider")
}

fn outbound(stream: bool) -> Outbound {
    let mut request = MessagesRequest::new("claude-sonnet-4-5", 256, "Summarise [NAME_1]'s visit.");
    request.stream = Some(stream);
    request.extra.insert("service_tier".into(), json!("auto"));
    Outbound::from_request(
        &request,
        "2023-06-01",
        vec!["beta-one-2025".into(), "beta-two".into()],
    )
    .expect("outbound")
}

fn message(text: &str) -> MessagesResponse {
    serde_json::from_value(json!({
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
        "content": [{"type": "text", "text": text}], "model": "claude-sonnet-4-5",
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 12, "output_tokens": 6}
    }))
    .expect("message fixture")
}

#[tokio::test]
async fn a_mock_that_stops_recording_still_answers_and_keeps_what_it_had() {
    let mock = MockUpstream::start().await.unwrap();
    let client = provider(config(&mock));
    client.send(&outbound(false)).await.unwrap();
    mock.stop_recording();
    mock.push(MockResponse::Json(message("Still here.")));

    let answer = client.send(&outbound(false)).await.unwrap();

    assert_eq!(answer, message("Still here."));
    let received = mock.received();
    assert_eq!(
        received.len(),
        1,
        "only the request before the switch is kept"
    );
    assert_eq!(received[0].body, outbound(false).body);
}

#[tokio::test]
async fn send_posts_the_exact_outbound_bytes_with_the_api_headers() {
    let mock = MockUpstream::start().await.unwrap();
    mock.push(MockResponse::Json(message("Draft ready.")));
    let out = outbound(false);

    let answer = provider(config(&mock)).send(&out).await.unwrap();

    assert_eq!(answer, message("Draft ready."));
    let received = mock.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v1/messages")
    );
    assert_eq!(
        request.body, out.body,
        "the bytes sent are the bytes checked"
    );
    assert_eq!(request.header("x-api-key"), Some(KEY));
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        request.header("anthropic-beta"),
        Some("beta-one-2025,beta-two")
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.json()["service_tier"], "auto");
}

#[tokio::test]
async fn a_rate_limited_request_waits_for_retry_after_and_then_succeeds() {
    let mock = MockUpstream::start().await.unwrap();
    mock.push(MockResponse::Error {
        status: 429,
        error_type: "rate_limit_error".into(),
        retry_after: Some(1),
        headers: Vec::new(),
    });
    mock.push(MockResponse::Json(message("After the wait.")));

    let started = Instant::now();
    let answer = provider(config(&mock))
        .send(&outbound(false))
        .await
        .unwrap();

    assert_eq!(answer.text(), "After the wait.");
    assert_eq!(mock.received().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_ms_is_honoured_in_milliseconds_and_wins_over_retry_after() {
    let mock = MockUpstream::start().await.unwrap();
    mock.push(MockResponse::Error {
        status: 429,
        error_type: "rate_limit_error".into(),
        retry_after: Some(30),
        headers: vec![("retry-after-ms".into(), "300".into())],
    });
    mock.push(MockResponse::Json(message("After the short wait.")));

    let started = Instant::now();
    let answer = provider(config(&mock))
        .send(&outbound(false))
        .await
        .unwrap();

    let waited = started.elapsed();
    assert_eq!(answer.text(), "After the short wait.");
    assert_eq!(mock.received().len(), 2);
    assert!(
        waited >= Duration::from_millis(280) && waited < Duration::from_secs(5),
        "waited {waited:?}"
    );
}

#[tokio::test]
async fn x_should_retry_false_stops_the_retry_of_an_overloaded_answer() {
    let mock = MockUpstream::start().await.unwrap();
    let refuse = [("x-should-retry", "false")];
    mock.push(MockResponse::error_with_headers(
        529,
        "overloaded_error",
        &refuse,
    ));
    mock.push(MockResponse::Json(message("never asked for")));

    let err = provider(config(&mock))
        .send(&outbound(false))
        .await
        .unwrap_err();

    assert_eq!(mock.received().len(), 1);
    assert_eq!((err.status(), err.retryable()), (529, false));
}

#[tokio::test]
async fn x_should_retry_true_retries_an_answer_whose_status_alone_would_not_be() {
    let mock = MockUpstream::start().await.unwrap();
    let insist = [("x-should-retry", "true")];
    mock.push(MockResponse::error_with_headers(
        400,
        "invalid_request_error",
        &insist,
    ));
    mock.push(MockResponse::Json(message("Second try.")));

    let answer = provider(config(&mock))
        .send(&outbound(false))
        .await
        .unwrap();

    assert_eq!(answer.text(), "Second try.");
    assert_eq!(mock.received().len(), 2);
}

#[tokio::test]
async fn a_stream_whose_headers_miss_the_first_byte_timeout_fails_before_the_total_timeout() {
    let mock = MockUpstream::start().await.unwrap();
    let events = events_from_message(&message("too late"), 4);
    let slow = MockResponse::Stream(events);
    mock.push(MockResponse::Delay(Duration::from_secs(3), Box::new(slow)));
    let mut config = config(&mock);
    config.first_byte_timeout = Duration::from_millis(200);
    config.max_retries = 0;

    let started = Instant::now();
    let err = provider(config)
        .stream(&outbound(true))
        .await
        .err()
        .expect("a timeout");

    assert!(
        matches!(
            err,
            LlmError::Transport {
                kind: TransportKind::Timeout
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), 504);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn server_errors_are_retried_until_the_budget_is_spent_then_reported_as_bad_gateway() {
    let mock = MockUpstream::start().await.unwrap();
    for _ in 0..3 {
        mock.push(MockResponse::error(500, "api_error"));
    }
    let mut config = config(&mock);
    config.max_retries = 2;

    let err = provider(config).send(&outbound(false)).await.unwrap_err();

    assert_eq!(mock.received().len(), 3);
    assert!(
        matches!(&err, LlmError::Upstream { status: 500, error_type, request_id: Some(_), .. }
        if error_type == "api_error")
    );
    assert_eq!(
        (err.status(), err.fault(), err.retryable()),
        (502, Fault::Upstream, true)
    );
    assert_eq!(err.api_error().error_type, "api_error");
    assert!(
        !err.to_string().contains("Internal server error"),
        "no upstream text: {err}"
    );
}

#[tokio::test]
async fn an_invalid_request_is_not_retried_and_is_the_clients_fault() {
    let mock = MockUpstream::start().await.unwrap();
    mock.push(MockResponse::error(400, "invalid_request_error"));

    let err = provider(config(&mock))
        .send(&outbound(false))
        .await
        .unwrap_err();

    assert_eq!(mock.received().len(), 1);
    assert_eq!(
        (err.status(), err.fault(), err.retryable()),
        (400, Fault::Client, false)
    );
}

#[tokio::test]
async fn an_upstream_that_rejects_our_key_is_the_gateways_fault() {
    let mock = MockUpstream::start().await.unwrap();
    let mut config = config(&mock);
    config.api_key = ApiKey::new("");

    let err = provider(config).send(&outbound(false)).await.unwrap_err();

    assert!(
        matches!(&err, LlmError::Upstream { status: 401, error_type, .. }
        if error_type == "authentication_error")
    );
    assert_eq!((err.status(), err.fault()), (502, Fault::Gateway));
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let mock = MockUpstream::start().await.unwrap();
    mock.push(MockResponse::CloseConnection);
    mock.push(MockResponse::Json(message("Second try.")));

    let answer = provider(config(&mock))
        .send(&outbound(false))
        .await
        .unwrap();

    assert_eq!(answer.text(), "Second try.");
    assert_eq!(mock.received().len(), 2);
}

#[tokio::test]
async fn a_slow_upstream_times_out_as_gateway_timeout() {
    let mock = MockUpstream::start().await.unwrap();
    let slow = MockResponse::Json(message("too late"));
    mock.push(MockResponse::Delay(Duration::from_secs(3), Box::new(slow)));
    let mut config = config(&mock);
    config.timeout = Duration::from_millis(200);
    config.max_retries = 0;

    let err = provider(config).send(&outbound(false)).await.unwrap_err();

    assert!(
        matches!(
            err,
            LlmError::Transport {
                kind: TransportKind::Timeout
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), 504);
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_failures_and_stops_calling_the_upstream() {
    let mock = MockUpstream::start().await.unwrap();
    mock.push(MockResponse::error(529, "overloaded_error"));
    mock.push(MockResponse::error(529, "overloaded_error"));
    let mut config = config(&mock);
    config.max_retries = 0;
    config.breaker.failure_threshold = 2;
    let provider = provider(config);

    for _ in 0..2 {
        let err = provider.send(&outbound(false)).await.unwrap_err();
        assert_eq!(err.status(), 529);
    }
    let err = provider.send(&outbound(false)).await.unwrap_err();

    assert!(matches!(err, LlmError::CircuitOpen { .. }), "{err:?}");
    assert_eq!(err.status(), 503);
    assert_eq!(mock.received().len(), 2);
}

async fn collect(provider: &AnthropicProvider) -> Vec<Result<StreamEvent, LlmError>> {
    provider
        .stream(&outbound(true))
        .await
        .unwrap()
        .collect()
        .await
}

#[tokio::test]
async fn a_stream_cut_at_arbitrary_bytes_assembles_to_the_scripted_message() {
    let mock = MockUpstream::start().await.unwrap();
    let scripted = message("Blood pressure 120/80 — stable. Next visit in 2 weeks. ✓ Ünïcode 🩺");
    let events = events_from_message(&scripted, 5);
    mock.push(MockResponse::ChunkedStream {
        events: events.clone(),
        chunk_bytes: 7,
    });

    let received = collect(&provider(config(&mock))).await;

    let received: Vec<StreamEvent> = received.into_iter().map(Result::unwrap).collect();
    assert_eq!(received, events);
    let mut assembler = MessageAssembler::new();
    received
        .iter()
        .for_each(|event| assembler.push(event).unwrap());
    assert_eq!(assembler.finish().unwrap(), scripted);
    assert_eq!(
        mock.received()[0].header("accept"),
        Some("text/event-stream")
    );
}

#[tokio::test]
async fn an_error_event_mid_stream_ends_the_stream_with_that_error_and_no_retry() {
    let mock = MockUpstream::start().await.unwrap();
    let mut events = events_from_message(&message("partial answer"), 4);
    events.truncate(4);
    events.push(
        serde_json::from_value(json!({
            "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}
        }))
        .unwrap(),
    );
    mock.push(MockResponse::Stream(events));

    let received = collect(&provider(config(&mock))).await;

    assert!(received[..received.len() - 1].iter().all(Result::is_ok));
    let last = received.last().unwrap().as_ref().unwrap_err();
    assert!(
        matches!(last, LlmError::StreamFailed { error_type } if error_type == "overloaded_error")
    );
    assert_eq!(last.status(), 529);
    assert_eq!(mock.received().len(), 1);
}

#[tokio::test]
async fn a_stream_that_ends_before_message_stop_is_reported_as_truncated() {
    let mock = MockUpstream::start().await.unwrap();
    let mut events = events_from_message(&message("cut short"), 4);
    events.pop();
    mock.push(MockResponse::Stream(events));

    let received = collect(&provider(config(&mock))).await;

    assert!(matches!(received.last(), Some(Err(LlmError::Truncated))));
}

#[tokio::test]
async fn a_stream_is_retried_only_before_it_begins() {
    let mock = MockUpstream::start().await.unwrap();
    mock.push(MockResponse::error(503, "api_error"));

    let received = collect(&provider(config(&mock))).await;

    let text: String = received
        .iter()
        .filter_map(|event| match event {
            Ok(StreamEvent::ContentBlockDelta {
                delta: phigate_llm::types::Delta::TextDelta { text },
                ..
            }) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        text,
        "Mock upstream reply. You said: Summarise [NAME_1]'s visit."
    );
    assert_eq!(mock.received().len(), 2);
}

#[tokio::test]
async fn the_mock_refuses_requests_without_the_api_headers_like_the_real_api() {
    let mock = MockUpstream::start().await.unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/v1/messages", mock.base_url());

    let no_version = client
        .post(&url)
        .header("x-api-key", KEY)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(no_version.status(), 400);
    let body: serde_json::Value = no_version.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let no_key = client
        .post(&url)
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 401);
    assert!(no_key.headers().contains_key("request-id"));
}

#[tokio::test]
async fn token_counting_and_model_listing_reach_their_endpoints() {
    let mock = MockUpstream::start().await.unwrap();
    let provider = provider(config(&mock));
    let request: phigate_llm::types::CountTokensRequest = serde_json::from_value(json!({
        "model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "one two three"}]
    }))
    .unwrap();
    let out = Outbound::from_count_tokens(&request, "2023-06-01", vec![]).unwrap();

    let count = provider.count_tokens(&out).await.unwrap();
    let models = provider.list_models().await.unwrap();

    assert!(count.input_tokens > 0);
    assert_eq!(models.data[0].id, "claude-mock-1");
    let paths: Vec<String> = mock.received().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/messages/count_tokens", "/v1/models"]);
}

#[test]
fn plain_http_is_refused_for_anything_but_loopback() {
    let mut config = AnthropicConfig::new(ApiKey::new(KEY));
    config.base_url = "http://api.example.invalid".into();
    assert!(matches!(
        AnthropicProvider::new(config.clone()),
        Err(LlmError::Config { .. })
    ));
    config.base_url = "http://[::1]:8080/".into();
    assert!(AnthropicProvider::new(config).is_ok());
}
