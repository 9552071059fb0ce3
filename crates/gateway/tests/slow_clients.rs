//! Slow and idle clients: a request whose body stalls or trickles is cut at the body deadline on
//! every route, a kept-alive connection left idle is closed after the header timeout, and
//! clients doing either do not hold up anyone else.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should stop right there"
)]

mod common;

use std::time::{Duration, Instant};

use axum::body::Bytes;
use common::*;
use phigate_auth::Role;
use phigate_gateway::GatewayConfig;
use phigate_llm::mock::MockUpstream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BODY_TIMEOUT: Duration = Duration::from_millis(400);

/// A gateway with a short body deadline (and a long header timeout, so only the body deadline
/// can cut), with a route beside it that reads its body through axum's extractor.
async fn gateway() -> Harness {
    let mock = MockUpstream::start().await.unwrap();
    let mut config = GatewayConfig::new(TENANT);
    config.provider_baa = true;
    config.body_timeout = BODY_TIMEOUT;
    config.header_timeout = Duration::from_secs(30);
    let extra = axum::Router::new().route(
        "/extra",
        axum::routing::post(|body: Bytes| async move { body.len().to_string() }),
    );
    start_beside(anthropic(&mock), config, Some(mock), extra).await
}

fn addr(gw: &Harness) -> String {
    gw.url.trim_start_matches("http://").to_owned()
}

/// Sends the head of a POST promising `length` bytes of body, and nothing more.
async fn stalled(gw: &Harness, path: &str, length: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr(gw)).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nx-api-key: {}\r\n\
         content-type: application/json\r\ncontent-length: {length}\r\n\r\n",
        gw.token(Role::Clinician)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Reads until the server closes the connection (at most 5 s); returns what it sent.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut read = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut read)).await;
    assert!(closed.is_ok(), "the connection was still open after 5 s");
    String::from_utf8_lossy(&read).into_owned()
}

#[tokio::test]
async fn a_body_that_stalls_after_the_headers_gets_408_and_the_connection_is_closed() {
    let gw = gateway().await;
    let started = Instant::now();
    let mut client = stalled(&gw, "/v1/messages", 100).await;
    let answer = until_closed(&mut client).await;
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "got {answer:?}");
    assert!(
        waited >= BODY_TIMEOUT - Duration::from_millis(50),
        "cut too early: {waited:?}"
    );
    assert!(gw.mock().received().is_empty());
}

#[tokio::test]
async fn a_body_that_trickles_is_cut_at_the_deadline_not_when_it_ends() {
    let gw = gateway().await;
    let mut client = stalled(&gw, "/v1/messages", 100).await;
    let started = Instant::now();
    // One byte every 50 ms: never idle long, but 100 bytes would take 5 s.
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "still open after 3 s"
        );
        let _ = client.write_all(b" ").await;
        match tokio::time::timeout(Duration::from_millis(50), client.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(2), "cut late: {waited:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "got {answer:?}");
    assert!(gw.mock().received().is_empty());
}

#[tokio::test]
async fn a_route_reading_its_body_through_an_extractor_is_bounded_by_the_same_deadline() {
    let gw = gateway().await;
    let started = Instant::now();
    let mut client = stalled(&gw, "/extra", 100).await;
    let answer = until_closed(&mut client).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(answer.starts_with("HTTP/1.1 4"), "got {answer:?}");
    // And a prompt body still passes through the wrapper whole.
    let response = reqwest::Client::new()
        .post(format!("{}/extra", gw.url))
        .body(vec![b'x'; 200_000])
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "200000");
}

#[tokio::test]
async fn stalled_clients_do_not_hold_up_other_requests() {
    let gw = gateway().await;
    let mut stalled_clients = Vec::new();
    for _ in 0..50 {
        stalled_clients.push(stalled(&gw, "/v1/messages", 1000).await);
    }
    let started = Instant::now();
    let response = gw.post("/v1/messages", &message("hello")).await;
    assert_eq!(response.status(), 200);
    assert!(
        started.elapsed() < BODY_TIMEOUT,
        "a prompt request waited on slow ones"
    );
    for mut client in stalled_clients {
        assert!(until_closed(&mut client).await.starts_with("HTTP/1.1 408"));
    }
}

#[tokio::test]
async fn a_kept_alive_connection_left_idle_is_closed_after_the_header_timeout() {
    let header_timeout = Duration::from_millis(400);
    let gw = start(|config| config.header_timeout = header_timeout).await;
    let mut client = TcpStream::connect(addr(&gw)).await.unwrap();
    client
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = client.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // The answer is in; the connection is kept alive and now left idle.
    let idle = Instant::now();
    let rest = until_closed(&mut client).await;
    let waited = idle.elapsed();
    assert!(rest.is_empty(), "nothing more was asked for");
    assert!(
        waited >= header_timeout - Duration::from_millis(100),
        "closed too early: {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "closed late: {waited:?}");
}
