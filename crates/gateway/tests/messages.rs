//! `/v1/messages` without streaming, token counting and models, through the whole gateway in
//! front of the mock upstream on loopback.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should stop right there"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use phigate_audit::Action;
use phigate_auth::Role;
use phigate_gateway::GatewayConfig;
use phigate_llm::mock::MockResponse;
use phigate_llm::types::MessagesResponse;
use serde_json::{Value, json};

fn reply(content: Value) -> MockResponse {
    let message: MessagesResponse = serde_json::from_value(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": content, "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 10}
    }))
    .unwrap();
    MockResponse::Json(message)
}

#[tokio::test]
async fn a_message_leaves_without_phi_and_the_answer_comes_back_restored() {
    let gw = start(|_| {}).await;
    let response = gw.post("/v1/messages", &message(&clinical_text())).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["request-id"]
            .to_str()
            .unwrap()
            .starts_with("req_")
    );
    let body: Value = response.json().await.unwrap();
    let text = body["content"][0]["text"].as_str().unwrap();
    // The mock quotes back what it received; the gateway restores it.
    assert!(text.contains(NAME) && text.contains(PHONE) && text.contains(SSN));
    gw.assert_no_phi_upstream();
    assert!(gw.upstream_bytes().contains("[NAME_1]"));

    let received = &gw.mock().received()[0];
    assert_eq!(received.header("x-api-key"), Some(UPSTREAM_KEY));
    assert_eq!(received.header("authorization"), None);
    assert_eq!(received.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        gw.actions(),
        vec![Action::Disclosure, Action::Response],
        "the disclosure is recorded before the response"
    );
    let entries = gw.audit.entries(0, 10).unwrap();
    let sent = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &received.body);
    assert_eq!(
        entries[0].event.as_ref().unwrap().sent_sha256.as_deref(),
        Some(hex::encode(sent).as_str())
    );
}

#[tokio::test]
async fn the_response_entry_holds_the_digest_of_the_bytes_as_they_came_back() {
    let gw = start(|_| {}).await;
    // Spaced and with its keys out of the usual order: encoding the parsed answer again would
    // give other bytes, and another digest.
    let raw = "{ \"type\": \"message\", \"id\": \"msg_1\", \"role\": \"assistant\",\n  \
               \"model\": \"claude-sonnet-4-5\", \"stop_reason\": \"end_turn\", \
               \"stop_sequence\": null,\n  \"content\": [ {\"type\": \"text\", \"text\": \"Noted.\"} ], \
               \"usage\": {\"input_tokens\": 3, \"output_tokens\": 1} }\n";
    gw.mock().push(MockResponse::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: raw.as_bytes().to_vec().into(),
    });
    let response = gw.post("/v1/messages", &message("Please note this.")).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], "Noted.");
    let re_encoded = serde_json::to_vec(&body).unwrap();
    assert_ne!(re_encoded, raw.as_bytes());

    assert_eq!(gw.actions(), vec![Action::Disclosure, Action::Response]);
    let entries = gw.audit.entries(0, 10).unwrap();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, raw.as_bytes());
    assert_eq!(
        entries[1]
            .event
            .as_ref()
            .unwrap()
            .received_sha256
            .as_deref(),
        Some(hex::encode(digest).as_str())
    );
}

#[tokio::test]
async fn the_caller_needs_a_valid_phigate_token_and_the_messages_scope() {
    let gw = start(|_| {}).await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/messages", gw.url);
    let cases = [
        (None, 401, "authentication_error"),
        (
            Some("sk-ant-not-ours".to_owned()),
            401,
            "authentication_error",
        ),
        (Some(gw.token(Role::Auditor)), 403, "permission_error"),
    ];
    for (token, status, error_type) in cases {
        let mut request = client.post(&url).json(&message(&clinical_text()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status);
        let request_id = response.headers()["request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], error_type);
        assert_eq!(body["request_id"], request_id.as_str());
    }
    assert!(gw.mock().received().is_empty());
    assert_eq!(gw.actions(), vec![Action::Denial; 3]);
}

#[tokio::test]
async fn oversized_deep_or_media_bodies_are_refused_clearly_and_nothing_is_sent() {
    let gw = start(|config| {
        config.max_body_bytes = 4096;
        config.max_json_depth = 16;
    })
    .await;
    let big = message(&"lisinopril ".repeat(1000));
    let response = gw.post("/v1/messages", &big).await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "request_too_large");

    let mut deep = json!("x");
    for _ in 0..20 {
        deep = json!([deep]);
    }
    let nested = json!({"model": "m", "max_tokens": 1, "metadata": {"user_id": deep},
                        "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(gw.post("/v1/messages", &nested).await.status(), 400);

    let image = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}]}]});
    let response = gw.post("/v1/messages", &image).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Images cannot be scanned")
    );

    let response = gw.post("/v1/messages", &json!({"model": 3})).await;
    assert_eq!(response.status(), 400);
    assert!(gw.mock().received().is_empty());
}

#[tokio::test]
async fn beta_flags_are_allow_listed_and_passed_on() {
    let gw = start(|config| config.allowed_betas = vec!["context-1m-2025-08-07".into()]).await;
    let send = |beta: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/v1/messages", gw.url))
            .header("x-api-key", gw.token(Role::Clinician))
            .header("anthropic-beta", beta)
            .json(&message("hello"))
            .send()
    };
    assert_eq!(send("files-api-2025-04-14").await.unwrap().status(), 400);
    assert!(gw.mock().received().is_empty());
    assert_eq!(send("context-1m-2025-08-07").await.unwrap().status(), 200);
    let received = &gw.mock().received()[0];
    assert_eq!(
        received.header("anthropic-beta"),
        Some("context-1m-2025-08-07")
    );
}

#[tokio::test]
async fn a_tenant_with_its_own_beta_list_gets_that_list_instead_of_the_default() {
    let gw = start(|config| {
        config.allowed_betas = vec!["context-1m-2025-08-07".into()];
        config
            .tenant_betas
            .insert(TENANT.into(), vec!["files-api-2025-04-14".into()]);
        config.tenant_betas.insert(
            "another-tenant".into(),
            vec!["mcp-client-2025-04-04".into()],
        );
    })
    .await;
    let send = |beta: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/v1/messages", gw.url))
            .header("x-api-key", gw.token(Role::Clinician))
            .header("anthropic-beta", beta)
            .json(&message("hello"))
            .send()
    };
    for refused in ["context-1m-2025-08-07", "mcp-client-2025-04-04"] {
        let response = send(refused).await.unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(refused) && message.contains("not allowed"));
    }
    assert!(gw.mock().received().is_empty());
    assert_eq!(send("files-api-2025-04-14").await.unwrap().status(), 200);
    let received = &gw.mock().received()[0];
    assert_eq!(
        received.header("anthropic-beta"),
        Some("files-api-2025-04-14")
    );
}

#[tokio::test]
async fn an_api_version_that_is_not_a_date_is_refused_and_nothing_is_sent() {
    let gw = start(|_| {}).await;
    let send = |version: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/v1/messages", gw.url))
            .header("x-api-key", gw.token(Role::Clinician))
            .header("anthropic-version", version)
            .json(&message("hello"))
            .send()
    };
    for bad in ["", "latest", "2023-06-01 Jamal", "2023/06/01", "2023-6-1"] {
        let response = send(bad).await.unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
    assert!(gw.mock().received().is_empty());
    assert_eq!(send("2023-06-01").await.unwrap().status(), 200);
}

#[tokio::test]
async fn when_the_audit_log_cannot_be_written_the_answer_is_503_and_nothing_is_sent() {
    let gw = start(|_| {}).await;
    let blocker = rusqlite::Connection::open(&gw.audit_path).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let response = gw.post("/v1/messages", &message(&clinical_text())).await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "api_error");
    assert!(gw.mock().received().is_empty());
    blocker.execute_batch("ROLLBACK").unwrap();
}

#[tokio::test]
async fn when_the_audit_store_refuses_every_write_the_answer_is_503_and_nothing_is_sent() {
    // The store fails every insert (as a full or failing disk would), at once and for good.
    let gw = start(|_| {}).await;
    let attacker = rusqlite::Connection::open(&gw.audit_path).unwrap();
    attacker
        .execute_batch(
            "CREATE TRIGGER fail_writes BEFORE INSERT ON audit_log
             BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;",
        )
        .unwrap();
    for _ in 0..3 {
        let response = gw.post("/v1/messages", &message(&clinical_text())).await;
        assert_eq!(response.status(), 503);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "api_error");
        assert!(body["request_id"].as_str().unwrap().starts_with("req_"));
    }
    assert!(gw.mock().received().is_empty(), "the upstream was called");
    assert!(gw.audit.is_empty().unwrap());
}

#[tokio::test]
async fn an_identifier_in_a_field_that_is_not_de_identified_is_stopped_by_the_egress_gate() {
    let gw = start(|_| {}).await;
    // Sealed data (here a redacted thinking block's) is opaque and not de-identified; a name
    // put there must not leave. (Ids are replaced by surrogates instead: see below.)
    let request = json!({"model": "m", "max_tokens": 9, "messages": [
        {"role": "user", "content": clinical_text()},
        {"role": "assistant", "content": [
            {"type": "redacted_thinking", "data": NAME},
            {"type": "text", "text": "Noted."}]},
        {"role": "user", "content": "go on"}
    ]});
    let response = gw.post("/v1/messages", &request).await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(body.contains("NAME") && !body.contains("Okonkwo"), "{body}");
    assert!(gw.mock().received().is_empty());
    assert_eq!(gw.actions(), vec![Action::Denial]);
}

#[tokio::test]
async fn a_tool_call_is_restored_and_its_history_goes_back_with_the_same_placeholders() {
    let gw = start(|_| {}).await;
    gw.mock().push(reply(
        json!([{"type": "tool_use", "id": "toolu_1", "name": "chart",
        "input": {"patient": "[NAME_1]", "callback": {"phone": "[PHONE_1]"}}}]),
    ));
    let tools = json!([{"name": "chart", "description": "Reads a chart",
        "input_schema": {"type": "object", "properties": {"patient": {"type": "string"}}}}]);
    let first = json!({"model": "m", "max_tokens": 99, "tools": tools,
        "messages": [{"role": "user", "content": clinical_text()}]});
    let answer: Value = gw.post("/v1/messages", &first).await.json().await.unwrap();
    let call = &answer["content"][0];
    assert_eq!(
        call["input"],
        json!({"patient": NAME, "callback": {"phone": PHONE}})
    );

    let second = json!({"model": "m", "max_tokens": 99, "tools": tools, "messages": [
        {"role": "user", "content": clinical_text()},
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
            "content": [{"type": "text", "text": format!("{NAME}: BP 150/95, call {PHONE}")}]}]}
    ]});
    assert_eq!(gw.post("/v1/messages", &second).await.status(), 200);
    gw.assert_no_phi_upstream();
    let sent = gw.mock().received()[1].json();
    assert_eq!(
        sent["messages"][1]["content"][0]["input"]["patient"],
        "[NAME_1]"
    );
    assert_eq!(
        sent["messages"][2]["content"][0]["content"][0]["text"],
        "[NAME_1]: BP 150/95, call [PHONE_1]"
    );
}

#[tokio::test]
async fn ids_the_caller_chose_never_reach_the_provider_and_come_back_as_the_caller_sent_them() {
    let gw = start(|_| {}).await;
    // A hand-built history whose ids carry an identifier found nowhere else in the request.
    let (own_call, own_server) = ("call-MRN-4471234-okonkwo", "srvtoolu_mrn4471234");
    // The model answers with a tool use carrying the surrogate of the caller's first id.
    gw.mock().push(reply(json!([
        {"type": "tool_use", "id": "toolu_phg_2", "name": "chart", "input": {}},
        {"type": "tool_use", "id": "toolu_new", "name": "chart", "input": {}}])));
    let request = json!({"model": "m", "max_tokens": 99, "messages": [
        {"role": "user", "content": "check the chart"},
        {"role": "assistant", "content": [
            {"type": "server_tool_use", "id": own_server, "name": "web_search",
                "input": {"query": "bp"}},
            {"type": "tool_use", "id": own_call, "name": "chart", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": own_call, "content": "BP 150/95"}]}
    ]});
    let response = gw.post("/v1/messages", &request).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();

    let upstream = gw.upstream_bytes();
    for value in ["4471234", "okonkwo", own_call, own_server] {
        assert!(
            !upstream.to_lowercase().contains(&value.to_lowercase()),
            "an id the caller chose reached the provider"
        );
    }
    let sent = gw.mock().received()[0].json();
    let assistant = &sent["messages"][1]["content"];
    assert_eq!(assistant[0]["id"], "srvtoolu_phg_1");
    assert_eq!(assistant[1]["id"], "toolu_phg_2");
    assert_eq!(
        sent["messages"][2]["content"][0]["tool_use_id"], "toolu_phg_2",
        "a tool use and its result stay paired"
    );
    // Surrogates are numbered by first appearance, so a resent history gets the same ones.
    gw.mock()
        .push(reply(json!([{"type": "text", "text": "ok"}])));
    assert_eq!(gw.post("/v1/messages", &request).await.status(), 200);
    assert_eq!(gw.mock().received()[1].json()["messages"], sent["messages"]);
    // The provider's own new id passes through; a surrogate comes back as the caller's id.
    assert_eq!(answer["content"][1]["id"], "toolu_new");
    assert!(
        answer["content"][0]["id"] == own_call,
        "a surrogate was not mapped back to the caller's id"
    );
}

#[tokio::test]
async fn thinking_comes_back_restored_and_goes_upstream_again_exactly_as_signed() {
    let gw = start(|_| {}).await;
    let signed = "[NAME_1] has uncontrolled hypertension; [PHONE_1] is on file.";
    gw.mock().push(reply(json!([
        {"type": "thinking", "thinking": signed, "signature": "EqQBCkYIARgCIkC"},
        {"type": "text", "text": "Recheck in two weeks."}])));
    let answer: Value = gw
        .post("/v1/messages", &message(&clinical_text()))
        .await
        .json()
        .await
        .unwrap();
    let thinking = &answer["content"][0];
    assert_eq!(
        thinking["thinking"],
        format!("{NAME} has uncontrolled hypertension; {PHONE} is on file.")
    );

    let next = json!({"model": "m", "max_tokens": 99, "messages": [
        {"role": "user", "content": clinical_text()},
        {"role": "assistant", "content": answer["content"]},
        {"role": "user", "content": "And the dose?"}]});
    assert_eq!(gw.post("/v1/messages", &next).await.status(), 200);
    let sent = gw.mock().received()[1].json();
    assert_eq!(sent["messages"][1]["content"][0]["thinking"], signed);
    assert_eq!(
        sent["messages"][1]["content"][0]["signature"],
        "EqQBCkYIARgCIkC"
    );
    gw.assert_no_phi_upstream();
}

#[tokio::test]
async fn without_a_baa_the_provider_gets_unnumbered_placeholders_and_nothing_is_restored() {
    let gw = start(|config| config.provider_baa = false).await;
    let answer: Value = gw
        .post("/v1/messages", &message(&clinical_text()))
        .await
        .json()
        .await
        .unwrap();
    gw.assert_no_phi_upstream();
    let sent = gw.upstream_bytes();
    assert!(sent.contains("[NAME]") && !sent.contains("[NAME_1]"));
    let text = answer["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("[NAME]") && !text.contains(NAME));
}

#[tokio::test]
async fn an_upstream_rate_limit_reaches_the_caller_with_its_retry_after() {
    let gw = start(|_| {}).await;
    gw.mock().push(MockResponse::Error {
        status: 429,
        error_type: "rate_limit_error".into(),
        retry_after: Some(3),
        headers: Vec::new(),
    });
    let response = gw.post("/v1/messages", &message("hello")).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    let request_id = response.headers()["request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");
    // The gateway's own id, never the upstream's.
    assert_eq!(body["request_id"], request_id.as_str());
    assert!(!request_id.starts_with("req_mock_"), "{request_id}");
    assert_eq!(gw.actions(), vec![Action::Disclosure, Action::Response]);
}

#[tokio::test]
async fn token_counting_is_de_identified_and_audited_like_a_message() {
    let gw = start(|_| {}).await;
    let request = json!({"model": "m", "messages": [{"role": "user", "content": clinical_text()}]});
    let response = gw.post("/v1/messages/count_tokens", &request).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["input_tokens"].as_u64().unwrap() > 0);
    gw.assert_no_phi_upstream();
    assert_eq!(gw.actions(), vec![Action::Disclosure, Action::Response]);
}

#[tokio::test]
async fn models_are_listed_and_found_by_id_and_health_needs_no_credential() {
    let gw = start(|_| {}).await;
    let client = reqwest::Client::new();
    let get = |path: &str| {
        client
            .get(format!("{}{path}", gw.url))
            .header("x-api-key", gw.token(Role::Service))
            .send()
    };
    let list: Value = get("/v1/models").await.unwrap().json().await.unwrap();
    assert_eq!(list["data"][0]["id"], "claude-mock-1");
    let one = get("/v1/models/claude-mock-1").await.unwrap();
    assert_eq!(one.status(), 200);
    assert_eq!(get("/v1/models/nope").await.unwrap().status(), 404);
    let missing = get("/v2/nothing").await.unwrap();
    assert_eq!(missing.status(), 404);
    let request_id = missing.headers()["request-id"].to_str().unwrap().to_owned();
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["request_id"], request_id.as_str());
    for path in ["/healthz", "/readyz"] {
        let response = client
            .get(format!("{}{path}", gw.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn the_offline_echo_provider_works_behind_the_gateway() {
    let config = GatewayConfig::new(TENANT);
    let gw = start_with(Arc::new(phigate_llm::EchoProvider), config, None).await;
    let answer: Value = gw
        .post("/v1/messages", &message(&clinical_text()))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        answer["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains(NAME)
    );
}

#[tokio::test]
async fn a_client_that_sends_half_a_request_line_is_disconnected_after_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let gw = start(|config| config.header_timeout = Duration::from_millis(300)).await;
    let addr = gw.url.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"POST /v1/mess").await.unwrap();

    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;

    assert!(closed.is_ok(), "the connection was still open after 5 s");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "closed too early: {waited:?}"
    );
    assert!(gw.mock().received().is_empty());
}

#[tokio::test]
async fn an_identifier_in_a_key_or_a_name_that_cannot_be_rewritten_is_refused() {
    let gw = start(|_| {}).await;
    let requests = [
        // A tool input keyed by the patient's name.
        json!({"model": "m", "max_tokens": 9, "messages": [
            {"role": "user", "content": "look her up"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1",
                "name": "lookup", "input": {NAME: {"dob": "1970"}}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]}]}),
        // A metadata key.
        json!({"model": "m", "max_tokens": 9, "metadata": {NAME: "x"},
               "messages": [{"role": "user", "content": "hello"}]}),
        // A schema property name.
        json!({"model": "m", "max_tokens": 9,
               "tools": [{"name": "lookup", "input_schema": {"type": "object",
                   "properties": {NAME: {"type": "string"}}}}],
               "messages": [{"role": "user", "content": "hello"}]}),
    ];
    for request in requests {
        let response = gw.post("/v1/messages", &request).await;
        assert_eq!(response.status(), 400);
        let body = response.text().await.unwrap();
        assert!(
            body.contains("cannot de-identify") && !body.contains("Okonkwo"),
            "{body}"
        );
    }
    assert!(gw.mock().received().is_empty());
}

#[tokio::test]
async fn ordinary_keys_tool_names_and_schemas_pass() {
    let gw = start(|_| {}).await;
    let request = json!({"model": "m", "max_tokens": 9,
        "metadata": {"user_id": "u-1"},
        "tools": [{"name": "get_appointments", "description": "List appointments",
            "input_schema": {"type": "object", "required": ["patient_ref"],
                "properties": {"patient_ref": {"type": "string"}, "from": {"type": "string"}}}}],
        "messages": [{"role": "user", "content": clinical_text()}]});
    let response = gw.post("/v1/messages", &request).await;
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );
}
