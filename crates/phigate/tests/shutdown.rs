//! Graceful shutdown: SIGTERM while two slow requests (one answer, one stream) wait on a mock
//! upstream. Both finish whole, the server stops taking connections, exits cleanly with a final
//! checkpoint, and the audit log verifies with both responses recorded.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;
mod ops;

use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use phigate_llm::events_from_message;
use phigate_llm::mock::{MockResponse, MockUpstream};
use phigate_llm::types::MessagesResponse;

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let output = common::phigate(dir, args);
    assert!(
        output.status.success(),
        "phigate {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn message() -> MessagesResponse {
    serde_json::from_value(serde_json::json!({
        "id": "msg_slow", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "The answer took its time."}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 12, "output_tokens": 7}
    }))
    .unwrap()
}

#[test]
fn sigterm_lets_in_flight_requests_and_streams_finish_and_the_audit_log_verifies() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockUpstream::start()).unwrap();
    let slow = Duration::from_secs(3);
    mock.push(MockResponse::Delay(
        slow,
        Box::new(MockResponse::Json(message())),
    ));
    mock.push(MockResponse::Delay(
        slow,
        Box::new(MockResponse::Stream(events_from_message(&message(), 5))),
    ));

    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    run_ok(dir, &["init"]);
    let config = ops::write_config(
        dir,
        &format!(
            "[provider]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key_env = \"OPS_TEST_KEY\"\n\
             baa_on_record = true\nmax_retries = 0\n\n[server]\nshutdown_grace_secs = 20\n",
            mock.base_url()
        ),
    );
    let log = dir.join("serve.log");
    let mut server = ops::serve(dir, &config, &log, &[("OPS_TEST_KEY", "test-key")]);
    let token = run_ok(dir, &["token", "--role", "service", "--subject", "ehr-1"]);
    let bearer = format!("Bearer {}", token.trim());

    let send = |stream: bool| {
        let (addr, bearer) = (server.addr.clone(), bearer.clone());
        std::thread::spawn(move || {
            let body = serde_json::json!({
                "model": "claude-sonnet-4-5", "max_tokens": 64, "stream": stream,
                "messages": [{"role": "user", "content": "Take your time."}],
            })
            .to_string();
            ops::http(
                &addr,
                "POST",
                "/v1/messages",
                &[
                    ("Authorization", &bearer),
                    ("anthropic-version", "2023-06-01"),
                    ("Content-Type", "application/json"),
                ],
                &body,
            )
        })
    };
    let started = Instant::now();
    // One after the other, so that each takes its own scripted answer.
    let answer = send(false);
    let first = ops::eventually(Duration::from_secs(10), || {
        (mock.received().len() == 1).then_some(())
    });
    assert!(first.is_some(), "the first request reaches the upstream");
    let stream = send(true);
    // Both requests are at the upstream, waiting for its answer, when the signal comes.
    let arrived = ops::eventually(Duration::from_secs(10), || {
        (mock.received().len() == 2).then_some(())
    });
    assert!(arrived.is_some(), "both requests reach the upstream");
    server.terminate();

    // New connections are refused once shutdown has begun.
    let refused = ops::eventually(Duration::from_secs(2), || {
        TcpStream::connect(&server.addr).is_err().then_some(())
    });
    assert!(refused.is_some(), "the listener closes at SIGTERM");

    let answer = answer.join().unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.json()["content"][0]["text"],
        "The answer took its time."
    );
    let stream = stream.join().unwrap();
    assert_eq!(stream.status, 200);
    assert!(
        stream.body.contains("event: message_stop"),
        "the stream ran to its end"
    );
    assert!(started.elapsed() >= slow);

    let (clean, said) = server.wait_exit(Duration::from_secs(30));
    assert!(
        clean,
        "phigate serve exits with success after a graceful stop"
    );
    assert!(said.contains("audit log checkpointed"), "{said}");
    run_ok(dir, &["audit", "verify"]);
    let responses = run_ok(dir, &["audit", "search", "--action", "response"]);
    assert_eq!(
        responses.lines().filter(|l| l.contains("ehr-1")).count(),
        2,
        "{responses}"
    );
}
