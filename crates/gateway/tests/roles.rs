//! Every role against every endpoint the gateway serves, over HTTP: allowed where the
//! permission table says, `403 permission_error` elsewhere. And the per-principal rate limit.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::{message, start};
use phigate_auth::{PERMISSIONS, Role, Target};
use serde_json::Value;

/// Who may call each route, written by hand from what each job needs.
const EXPECTED: &[(&str, &str, &str, &[Role])] = &[
    (
        "POST",
        "/v1/messages",
        "POST /v1/messages",
        &[Role::Clinician, Role::Service],
    ),
    (
        "POST",
        "/v1/messages/count_tokens",
        "POST /v1/messages/count_tokens",
        &[Role::Clinician, Role::Service],
    ),
    (
        "GET",
        "/v1/models",
        "GET /v1/models",
        &[Role::Clinician, Role::Service],
    ),
    (
        "GET",
        "/v1/models/claude-mock-1",
        "GET /v1/models/{id}",
        &[Role::Clinician, Role::Service],
    ),
];

#[tokio::test]
async fn every_role_against_every_gateway_endpoint() {
    let h = start(|_| {}).await;
    let client = reqwest::Client::new();
    let mut failures = Vec::new();
    for (method, path, entry, allowed) in EXPECTED {
        assert!(
            PERMISSIONS
                .iter()
                .any(|p| p.target == Target::Endpoint && p.name == *entry),
            "{entry} is not in the permission table"
        );
        for role in Role::ALL {
            let request = match *method {
                "POST" => client
                    .post(format!("{}{path}", h.url))
                    .json(&message("Hello there, how are you?")),
                _ => client.get(format!("{}{path}", h.url)),
            };
            let response = request
                .header("x-api-key", h.token(role))
                .header("anthropic-version", "2023-06-01")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let ok = if allowed.contains(&role) {
                status == 200
            } else {
                status == 403 && body["error"]["type"] == "permission_error"
            };
            if !ok {
                failures.push(format!("{role:?} {method} {path}: {status}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn a_principal_over_its_rate_gets_429_with_retry_after_in_the_anthropic_shape() {
    let h = start(|c| {
        c.rate_limits.principal = phigate_auth::RateLimit {
            burst: 2,
            per_second: 0.5,
        };
    })
    .await;
    let client = reqwest::Client::new();
    let token = h.token(Role::Service);
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let response = client
            .get(format!("{}/v1/models", h.url))
            .header("x-api-key", &token)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        last = Some(response);
    }
    assert_eq!(statuses, [200, 200, 429]);
    let response = last.unwrap();
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    // Another principal has its own bucket.
    let other = client
        .get(format!("{}/v1/models", h.url))
        .header("x-api-key", h.token(Role::Clinician))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}
