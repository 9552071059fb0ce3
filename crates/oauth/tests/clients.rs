//! Machines: `client_credentials` with each authentication method, and what is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA384, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::{Harness, error_code, start};
use phigate_auth::Role;
use phigate_oauth::ASSERTION_TYPE;
use serde_json::{Value, json};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn client_secret_basic_gets_a_short_lived_audience_bound_token() {
    let h = start(|_| {}).await;
    let secret = h.add_client("svc", "client_secret_basic", Role::Service, None);
    let response = h
        .post_basic(
            "/oauth/token",
            "svc",
            &secret,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = answer(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "messages/create");
    assert!(body.get("refresh_token").is_none());
    let claims = h
        .server
        .verifier(now())
        .verify(body["access_token"].as_str().unwrap(), now())
        .unwrap();
    assert_eq!(claims.sub, "svc");
    assert_eq!(claims.aud, "phigate");
    assert_eq!(claims.iss, h.url);
    assert_eq!(claims.tenant, "north");
    assert_eq!(claims.roles, ["service"]);
    assert_eq!(claims.client_id.as_deref(), Some("svc"));
}

#[tokio::test]
async fn client_secret_post_works_and_wrong_or_mismatched_secrets_do_not() {
    let h = start(|_| {}).await;
    let secret = h.add_client("poster", "client_secret_post", Role::Service, None);
    let basic = h.add_client("basic", "client_secret_basic", Role::Service, None);
    let ok = h
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "poster"),
                ("client_secret", &secret),
            ],
        )
        .await;
    assert_eq!(ok.status(), 200);

    let wrong = h
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "poster"),
                ("client_secret", "guess"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let (_, body) = answer(wrong).await;
    assert_eq!(error_code(&body), "invalid_client");
    assert!(!body.to_string().contains("guess"));

    // A client registered for Basic may not post its secret in the form.
    let (status, body) = answer(
        h.post_form(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "basic"),
                ("client_secret", &basic),
            ],
        )
        .await,
    )
    .await;
    assert_eq!((status, error_code(&body)), (401, "invalid_client"));

    // Two methods at once are refused.
    let (status, body) = answer(
        h.post_basic(
            "/oauth/token",
            "basic",
            &basic,
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", &basic),
            ],
        )
        .await,
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "invalid_request"));
}

#[tokio::test]
async fn implicit_and_password_grants_and_unknown_grants_are_unsupported() {
    let h = start(|_| {}).await;
    let secret = h.add_client("svc", "client_secret_basic", Role::Service, None);
    for grant in [
        "password",
        "implicit",
        "token",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        let (status, body) = answer(
            h.post_basic(
                "/oauth/token",
                "svc",
                &secret,
                &[("grant_type", grant), ("username", "a"), ("password", "b")],
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "unsupported_grant_type"),
            "{grant}"
        );
    }
    let (status, body) = answer(h.post_basic("/oauth/token", "svc", &secret, &[]).await).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_request"));
    let duplicated = h
        .http
        .post(format!("{}/oauth/token", h.url))
        .basic_auth("svc", Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(duplicated.status(), 400);
    let json_body = h
        .http
        .post(format!("{}/oauth/token", h.url))
        .basic_auth("svc", Some(&secret))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400);
}

#[tokio::test]
async fn a_public_client_may_not_use_client_credentials() {
    let h = start(|_| {}).await;
    h.add_client("spa", "none", Role::Clinician, None);
    let (status, body) = answer(
        h.post_form(
            "/oauth/token",
            &[("grant_type", "client_credentials"), ("client_id", "spa")],
        )
        .await,
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "unauthorized_client"));
}

#[tokio::test]
async fn a_scope_beyond_the_clients_registration_is_invalid_scope() {
    let h = start(|_| {}).await;
    let secret = h.add_client("svc", "client_secret_basic", Role::Service, None);
    let (status, body) = answer(
        h.post_basic(
            "/oauth/token",
            "svc",
            &secret,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "admin/users user/*.cruds"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "invalid_scope"));
}

/// A client assertion signed by `sign` with header `alg` and `kid`.
fn assertion(
    alg: &str,
    kid: &str,
    client: &str,
    aud: &str,
    exp: i64,
    jti: &str,
    sign: impl Fn(&[u8]) -> Vec<u8>,
) -> String {
    let header = B64.encode(json!({"alg": alg, "kid": kid, "typ": "JWT"}).to_string());
    let claims = B64.encode(
        json!({"iss": client, "sub": client, "aud": aud, "exp": exp, "jti": jti}).to_string(),
    );
    let input = format!("{header}.{claims}");
    let signature = sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature))
}

async fn with_assertion(h: &Harness, assertion: &str) -> (u16, Value) {
    answer(
        h.post_form(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion),
            ],
        )
        .await,
    )
    .await
}

#[tokio::test]
async fn private_key_jwt_with_es384_works_once_per_jti() {
    let h = start(|_| {}).await;
    let key = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
    let point = key.public_key().as_ref().to_vec();
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-384", "kid": "k1",
        "x": B64.encode(&point[1..49]), "y": B64.encode(&point[49..97])}]});
    h.add_client("backend", "private_key_jwt", Role::Service, Some(jwks));
    let rng = SystemRandom::new();
    let sign = |m: &[u8]| key.sign(&rng, m).unwrap().as_ref().to_vec();
    let aud = format!("{}/oauth/token", h.url);

    let good = assertion("ES384", "k1", "backend", &aud, now() + 240, "j-1", sign);
    let (status, body) = with_assertion(&h, &good).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "messages/create");

    let (status, body) = with_assertion(&h, &good).await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "invalid_client"),
        "replayed jti"
    );

    let cases = [
        (
            "wrong audience",
            assertion(
                "ES384",
                "k1",
                "backend",
                "https://x.invalid/token",
                now() + 60,
                "j-2",
                sign,
            ),
        ),
        (
            "expired",
            assertion("ES384", "k1", "backend", &aud, now() - 1, "j-3", sign),
        ),
        (
            "too long",
            assertion("ES384", "k1", "backend", &aud, now() + 3600, "j-4", sign),
        ),
        (
            "unknown kid",
            assertion("ES384", "k9", "backend", &aud, now() + 60, "j-5", sign),
        ),
        (
            "wrong alg",
            assertion("RS384", "k1", "backend", &aud, now() + 60, "j-6", sign),
        ),
        (
            "alg none",
            assertion("none", "k1", "backend", &aud, now() + 60, "j-7", |_| {
                Vec::new()
            }),
        ),
        (
            "bad signature",
            assertion("ES384", "k1", "backend", &aud, now() + 60, "j-8", |_| {
                vec![7u8; 96]
            }),
        ),
    ];
    for (case, assertion) in cases {
        let (status, body) = with_assertion(&h, &assertion).await;
        assert_eq!(
            (status, error_code(&body)),
            (401, "invalid_client"),
            "{case}"
        );
    }
}

#[tokio::test]
async fn private_key_jwt_with_rs384_works() {
    let h = start(|_| {}).await;
    let key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let public = key.public_key();
    let jwks = json!({"keys": [{"kty": "RSA", "kid": "r1",
        "n": B64.encode(public.modulus().big_endian_without_leading_zero()),
        "e": B64.encode(public.exponent().big_endian_without_leading_zero())}]});
    h.add_client("rsa-backend", "private_key_jwt", Role::Service, Some(jwks));
    let rng = SystemRandom::new();
    let sign = |m: &[u8]| {
        let mut signature = vec![0u8; key.public_modulus_len()];
        key.sign(&RSA_PKCS1_SHA384, &rng, m, &mut signature)
            .unwrap();
        signature
    };
    let aud = format!("{}/oauth/token", h.url);
    let good = assertion("RS384", "r1", "rsa-backend", &aud, now() + 60, "r-1", sign);
    let (status, body) = with_assertion(&h, &good).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_token_endpoint_throttles_guessing_with_429_and_retry_after() {
    let h = start(|c| {
        c.token_rate = phigate_auth::RateLimit {
            burst: 3,
            per_second: 0.1,
        }
    })
    .await;
    h.add_client("svc", "client_secret_post", Role::Service, None);
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..5 {
        let response = h
            .post_form(
                "/oauth/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "svc"),
                    ("client_secret", "guess"),
                ],
            )
            .await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            retry_after = Some(
                response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // Buckets are per client, whichever way the client authenticates.
    let secret = h.add_client("basic", "client_secret_basic", Role::Service, None);
    let basic = h
        .post_basic(
            "/oauth/token",
            "basic",
            &secret,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(basic.status(), 200);
    for _ in 0..3 {
        h.post_basic(
            "/oauth/token",
            "basic",
            "guess",
            &[("grant_type", "client_credentials")],
        )
        .await;
    }
    let throttled = h
        .post_basic(
            "/oauth/token",
            "basic",
            &secret,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(throttled.status(), 429);
    let other = h.add_client("basic2", "client_secret_basic", Role::Service, None);
    let unaffected = h
        .post_basic(
            "/oauth/token",
            "basic2",
            &other,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        unaffected.status(),
        200,
        "another Basic client has its own bucket"
    );
    let wait: u64 = retry_after.unwrap().parse().unwrap();
    assert!((1..=10).contains(&wait), "{wait}");
}

#[tokio::test]
async fn a_revoked_client_can_do_nothing() {
    let h = start(|_| {}).await;
    let secret = h.add_client("svc", "client_secret_basic", Role::Service, None);
    h.store.revoke_client("north", "svc").unwrap();
    let (status, body) = answer(
        h.post_basic(
            "/oauth/token",
            "svc",
            &secret,
            &[("grant_type", "client_credentials")],
        )
        .await,
    )
    .await;
    assert_eq!((status, error_code(&body)), (401, "invalid_client"));
}

/// Regression (security review, issue 5): refused token requests left no audit entry.
#[tokio::test]
async fn a_refused_token_request_is_audited_with_its_error_and_no_secret() {
    let h = start(|_| {}).await;
    let secret = h.add_client("poster", "client_secret_post", Role::Service, None);
    let before = h.audit.len().unwrap();
    let wrong = h
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "poster"),
                ("client_secret", "guess-1234"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 401);
    let entries = h.audit.entries(before, 10).unwrap();
    assert_eq!(entries.len(), 1);
    let event = entries[0].event.clone().unwrap();
    assert_eq!(event.action, phigate_audit::Action::Denial);
    assert_eq!(event.actor.client_id.as_deref(), Some("poster"));
    assert_eq!(
        event.detail.as_deref(),
        Some("token request refused: invalid_client")
    );
    let stored = serde_json::to_string(&event).unwrap();
    assert!(!stored.contains("guess-1234") && !stored.contains(&secret));
}
