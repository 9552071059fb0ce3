//! Hostile input over every HTTP route of the gateway: oversized bodies, deep JSON, invalid
//! UTF-8, header injection, path traversal, SQL-injection strings in every id, query field and
//! body field, and tampered tokens. Every request is written byte for byte on a raw socket so
//! that nothing a polite client would refuse to send is filtered out. Each must end in a clear
//! error in the API's shape (or a harmless answer), never a 5xx, a panic or a hang, and
//! afterwards the store, the audit log and the server must be as they were.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should stop right there"
)]

mod console_harness;

use std::time::Duration;

use console_harness::*;
use phigate_auth::Role;
use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A marker inside every injected string: an error that quotes it quotes the caller's input.
const MARK: &str = "zq9mark";

/// Strings that would change a query built by pasting them into SQL.
fn injections() -> Vec<String> {
    [
        "' OR '1'='1' --",
        "1; DROP TABLE users; --",
        "\") OR 1=1; DELETE FROM drafts; --",
        "%' UNION SELECT name, sql FROM sqlite_master --",
        "'; UPDATE patients SET tenant='x' WHERE '1'='1",
    ]
    .iter()
    .map(|s| format!("{MARK}{s}"))
    .collect()
}

/// Percent-encodes every byte that is not unreserved, for a path segment or a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One raw HTTP/1.1 exchange: the status and body, or a failure if the server hangs.
async fn raw(url: &str, request: &[u8]) -> (u16, Vec<u8>) {
    let addr = url.trim_start_matches("http://");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        // A server that answers before reading everything may reset the rest; that is fine.
        let _ = stream.write_all(request).await;
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        response
    };
    let response = tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .expect("the server answers within 20 seconds");
    let text = String::from_utf8_lossy(&response);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = match response.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => response[at + 4..].to_vec(),
        None => Vec::new(),
    };
    (status, body)
}

fn request(method: &str, path: &str, token: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{method} {path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n\
         anthropic-version: 2023-06-01\r\nContent-Type: application/json\r\n{extra}\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A hostile request must end in a 4xx in the API's error shape that quotes nothing it was
/// sent, or (for a search that simply matches nothing) a 2xx; never a 5xx or no answer.
fn assert_refused_cleanly(case: &str, status: u16, body: &[u8]) {
    assert!(
        (200..500).contains(&status),
        "{case}: answered {status}, not a clear client error"
    );
    let text = String::from_utf8_lossy(body);
    assert!(
        !text.contains(MARK),
        "{case}: the answer quotes the caller's input"
    );
    if status >= 400 {
        let error: Value = serde_json::from_slice(body)
            .unwrap_or_else(|_| panic!("{case}: the error body is not JSON"));
        assert_eq!(error["type"], "error", "{case}");
        let kind = error["error"]["type"].as_str().unwrap_or_default();
        assert!(
            !kind.is_empty(),
            "{case}: no error type in the {status} answer"
        );
        assert!(
            !error["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{case}: the error says nothing"
        );
    }
}

/// Every route with a role allowed to call it and a well-formed body where it takes one.
fn routes() -> Vec<(&'static str, &'static str, Role, &'static str)> {
    vec![
        (
            "POST",
            "/v1/messages",
            Role::Clinician,
            r#"{"model":"m","max_tokens":5,"messages":[]}"#,
        ),
        (
            "POST",
            "/v1/messages/count_tokens",
            Role::Clinician,
            r#"{"model":"m","messages":[]}"#,
        ),
        (
            "POST",
            "/v1/tasks/clinical-note",
            Role::Clinician,
            r#"{"patient":"pat-1"}"#,
        ),
        (
            "PATCH",
            "/v1/drafts/d1",
            Role::Clinician,
            r#"{"content":{}}"#,
        ),
        ("POST", "/v1/drafts/d1/approve", Role::Clinician, ""),
        (
            "POST",
            "/v1/drafts/d1/reject",
            Role::Clinician,
            r#"{"reason":"r"}"#,
        ),
        (
            "POST",
            "/v1/admin/users",
            Role::Admin,
            r#"{"username":"u","role":"nurse"}"#,
        ),
        ("POST", "/v1/admin/users/u/disable", Role::Admin, ""),
        ("POST", "/v1/admin/users/u/reset-mfa", Role::Admin, ""),
        (
            "POST",
            "/v1/admin/clients",
            Role::Admin,
            r#"{"name":"c","role":"nurse","method":"x"}"#,
        ),
        ("POST", "/v1/admin/clients/c1/revoke", Role::Admin, ""),
        ("POST", "/v1/admin/keys/rotate", Role::Admin, ""),
        ("POST", "/v1/audit/search", Role::Auditor, "{}"),
        ("POST", "/v1/audit/disclosures", Role::Auditor, "{}"),
        (
            "POST",
            "/v1/patient/assistant",
            Role::Patient,
            r#"{"messages":[]}"#,
        ),
        ("POST", "/v1/incidents/i1/ack", Role::Admin, ""),
    ]
}

#[tokio::test]
async fn malformed_bodies_on_every_route_are_refused_clearly() {
    let h = start().await;
    let before = h
        .send(Method::GET, "/v1/admin/users", Role::Admin, None)
        .await;
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let bodies: [(&str, Vec<u8>); 5] = [
        ("deep JSON", deep.into_bytes()),
        (
            "invalid UTF-8",
            b"{\"model\":\"\xff\xfe\xc3\x28\",\"x\":\"\xed\xa0\x80\"}".to_vec(),
        ),
        (
            "a lone surrogate escape",
            br#"{"model":"\udc00","name":"\ud800"}"#.to_vec(),
        ),
        ("not JSON", b"\x00\x01\x02 {]".to_vec()),
        (
            "a NUL in a string",
            b"{\"username\":\"a\\u0000b\",\"role\":\"nurse\"}".to_vec(),
        ),
    ];
    for (method, path, role, _) in routes() {
        let token = h.token_for(&format!("{}-1", role.as_str()), role);
        for (kind, body) in &bodies {
            let (status, answer) = raw(&h.url, &request(method, path, &token, "", body)).await;
            assert_refused_cleanly(&format!("{kind} to {method} {path}"), status, &answer);
        }
    }
    assert_unharmed(&h, &before).await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_on_every_route_before_it_is_read() {
    let h = start().await;
    let before = h
        .send(Method::GET, "/v1/admin/users", Role::Admin, None)
        .await;
    for (method, path, role, _) in routes() {
        let token = h.token_for(&format!("{}-1", role.as_str()), role);
        // Declared too large: refused on the header alone, nothing read.
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 40000000000\r\n\
             Connection: close\r\n\r\n{{"
        );
        let (status, answer) = raw(&h.url, head.as_bytes()).await;
        let case = format!("declared 40 GB to {method} {path}");
        assert_refused_cleanly(&case, status, &answer);
        // Routes that take no body answer on their own terms without reading it.
        assert!(status >= 400, "{case}: answered {status}");
    }
    // Sent too large in chunks without a length: refused once the limit is passed.
    let token = h.token_for("clinician-1", Role::Clinician);
    let mut chunked = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..34 {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, answer) = raw(&h.url, &chunked).await;
    assert_refused_cleanly("34 MiB chunked to /v1/messages", status, &answer);
    assert_eq!(status, 413);
    assert_unharmed(&h, &before).await;
}

#[tokio::test]
async fn sql_injection_in_every_id_query_and_body_field_changes_nothing() {
    let h = start().await;
    let before = h
        .send(Method::GET, "/v1/admin/users", Role::Admin, None)
        .await;
    let admin = h.token_for("admin-1", Role::Admin);
    let auditor = h.token_for("auditor-1", Role::Auditor);
    let clinician = h.token_for("clinician-1", Role::Clinician);
    for evil in injections() {
        let e = encode(&evil);
        let json = serde_json::to_string(&evil).unwrap();
        let cases: Vec<(&str, String, &str, String)> = vec![
            ("GET", format!("/v1/models/{e}"), &clinician, String::new()),
            ("GET", format!("/v1/drafts/{e}"), &clinician, String::new()),
            (
                "GET",
                format!("/v1/drafts?status={e}"),
                &clinician,
                String::new(),
            ),
            (
                "PATCH",
                format!("/v1/drafts/{e}"),
                &clinician,
                r#"{"content":{}}"#.into(),
            ),
            (
                "POST",
                format!("/v1/drafts/{e}/approve"),
                &clinician,
                String::new(),
            ),
            (
                "POST",
                format!("/v1/drafts/{e}/reject"),
                &clinician,
                format!(r#"{{"reason":{json}}}"#),
            ),
            (
                "POST",
                format!("/v1/tasks/{e}"),
                &clinician,
                r#"{"patient":"pat-1"}"#.into(),
            ),
            (
                "POST",
                "/v1/tasks/clinical-note".into(),
                &clinician,
                format!(r#"{{"patient":{json}}}"#),
            ),
            (
                "POST",
                format!("/v1/admin/users/{e}/disable"),
                &admin,
                String::new(),
            ),
            (
                "POST",
                format!("/v1/admin/users/{e}/enable"),
                &admin,
                String::new(),
            ),
            (
                "POST",
                format!("/v1/admin/users/{e}/reset-mfa"),
                &admin,
                String::new(),
            ),
            (
                "POST",
                "/v1/admin/users".into(),
                &admin,
                format!(r#"{{"username":{json},"role":"nurse"}}"#),
            ),
            (
                "POST",
                "/v1/admin/users".into(),
                &admin,
                format!(r#"{{"username":"u2","role":{json}}}"#),
            ),
            (
                "POST",
                "/v1/admin/clients".into(),
                &admin,
                format!(r#"{{"name":{json},"role":{json},"method":{json}}}"#),
            ),
            (
                "POST",
                format!("/v1/admin/clients/{e}/revoke"),
                &admin,
                String::new(),
            ),
            (
                "GET",
                format!("/v1/audit/entries?user={e}&action={e}&patient={e}"),
                &auditor,
                String::new(),
            ),
            (
                "GET",
                format!("/v1/audit/entries?since={e}&until={e}&patient_ref={e}"),
                &auditor,
                String::new(),
            ),
            (
                "GET",
                format!("/v1/audit/export?format={e}"),
                &auditor,
                String::new(),
            ),
            (
                "GET",
                format!("/v1/audit/disclosures?patient={e}"),
                &auditor,
                String::new(),
            ),
            (
                "GET",
                format!("/v1/audit/proof/inclusion?seq={e}&size=1"),
                &auditor,
                String::new(),
            ),
            (
                "POST",
                "/v1/audit/search".into(),
                &auditor,
                format!(r#"{{"user":{json},"action":{json},"patient":{json}}}"#),
            ),
            (
                "GET",
                format!("/v1/incidents?status={e}"),
                &admin,
                String::new(),
            ),
            (
                "POST",
                format!("/v1/incidents/{e}/ack"),
                &admin,
                String::new(),
            ),
            ("GET", format!("/console/{e}"), &admin, String::new()),
        ];
        for (method, path, token, body) in cases {
            let (status, answer) =
                raw(&h.url, &request(method, &path, token, "", body.as_bytes())).await;
            let case = format!(
                "injection into {method} {}",
                path.split('?').next().unwrap()
            );
            assert_refused_cleanly(&case, status, &answer);
            if status < 300 {
                let text = String::from_utf8_lossy(&answer);
                assert!(!text.contains("CREATE TABLE"), "{case}: the schema leaked");
            }
        }
    }
    assert_unharmed(&h, &before).await;
}

#[tokio::test]
async fn injected_header_bytes_and_traversal_paths_are_refused() {
    let h = start().await;
    let before = h
        .send(Method::GET, "/v1/admin/users", Role::Admin, None)
        .await;
    let token = h.token_for("clinician-1", Role::Clinician);
    let body = br#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
    let headers = [
        (
            "a bare CR in a header value",
            "anthropic-beta: a\rX-Injected: 1\r\n",
        ),
        ("a NUL in a header value", "anthropic-beta: a\0b\r\n"),
        (
            "obs-fold continuation",
            "anthropic-beta: a\r\n X-Injected: 1\r\n",
        ),
        ("a forged request id", "request-id: req_zq9mark\r\n"),
        (
            "non-ASCII in the API key",
            "x-api-key: \u{00ff}\u{00fe}\r\n",
        ),
        ("a header with no name", ": value\r\n"),
    ];
    for (kind, extra) in headers {
        let (status, answer) = raw(
            &h.url,
            &request("POST", "/v1/messages", &token, extra, body),
        )
        .await;
        assert!(status != 0 && status < 500, "{kind}: answered {status}");
        let text = String::from_utf8_lossy(&answer);
        assert!(!text.contains(MARK), "{kind}: the answer reflects a header");
    }
    let paths = [
        "/console/../../Cargo.toml",
        "/console/..%2f..%2fCargo.toml",
        "/console/%2e%2e/%2e%2e/etc/passwd",
        "/console/..\\..\\Cargo.toml",
        "/console/app.js%00.png",
        "/patient/..%2f..%2fCargo.toml",
        "//etc/passwd",
    ];
    for path in paths {
        let (status, answer) = raw(&h.url, &request("GET", path, &token, "", b"")).await;
        assert_refused_cleanly(&format!("traversal {path}"), status, &answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(
            !text.contains("[workspace]") && !text.contains("root:"),
            "traversal {path}: a file outside the assets was served"
        );
    }
    assert!(
        h.mock.received().len() <= headers.len(),
        "only the polite requests went out"
    );
    assert_unharmed(&h, &before).await;
}

#[tokio::test]
async fn tampered_tokens_are_refused_as_authentication_errors() {
    let h = start().await;
    let before = h
        .send(Method::GET, "/v1/admin/users", Role::Admin, None)
        .await;
    let good = h.token_for("admin-1", Role::Admin);
    let parts: Vec<&str> = good.split('.').collect();
    let flip = |part: &str| {
        let mut bytes = part.as_bytes().to_vec();
        let at = bytes.len() / 2;
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
    let tampered = [
        (
            "header changed",
            format!("{}.{}.{}", flip(parts[0]), parts[1], parts[2]),
        ),
        (
            "claims changed",
            format!("{}.{}.{}", parts[0], flip(parts[1]), parts[2]),
        ),
        (
            "signature changed",
            format!("{}.{}.{}", parts[0], parts[1], flip(parts[2])),
        ),
        ("alg none", format!("{none}.{}.", parts[1])),
        ("signature dropped", format!("{}.{}", parts[0], parts[1])),
        ("four parts", format!("{good}.{}", parts[2])),
        ("huge", "a".repeat(200_000)),
        ("injection", format!("{MARK}' OR '1'='1")),
        ("empty", String::new()),
    ];
    for (kind, token) in tampered {
        for path in ["/v1/admin/users", "/v1/audit/entries", "/v1/drafts"] {
            let (status, answer) = raw(&h.url, &request("GET", path, &token, "", b"")).await;
            let case = format!("{kind} token on {path}");
            assert_refused_cleanly(&case, status, &answer);
            assert!(
                matches!(status, 400 | 401 | 431),
                "{case}: answered {status}"
            );
        }
    }
    assert_unharmed(&h, &before).await;
}

/// The server still answers, the users are as they were, a task still reads the patient, and
/// the audit log verifies.
async fn assert_unharmed(h: &Harness, users_before: &Value) {
    let (status, _) = raw(&h.url, &request("GET", "/healthz", "", "", b"")).await;
    assert_eq!(status, 200, "the server still answers");
    let users = h
        .send(Method::GET, "/v1/admin/users", Role::Admin, None)
        .await;
    assert_eq!(&users, users_before, "the users changed");
    let draft = h.draft("A note.").await;
    assert!(!draft.is_empty(), "a task still reads the patient");
    let report = h.audit.verify().unwrap();
    assert!(report.ok, "the audit log does not verify");
}
