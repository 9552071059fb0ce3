//! Tokens from an external identity provider on the gateway, end to end: a JWKS server of the
//! test's own on loopback, tokens it signs, and the gateway accepting them beside its own with
//! the mapped role and the caller named by issuer and subject in the audit log; refusing a
//! wrong issuer, a wrong audience, an unknown key, an unmapped role and an expired token; and
//! picking up a key the provider rotated in.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::Json;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::{TENANT, anthropic, message};
use phigate_audit::{Action, AuditEvent, AuditLog, CheckpointSigner, Outcome};
use phigate_auth::{Role, TokenSigner};
use phigate_deid::{Detector, DetectorConfig};
use phigate_gateway::{Gateway, GatewayConfig, serve};
use phigate_llm::mock::MockUpstream;
use phigate_oauth::{ExternalIdp, IdpConfig};
use serde_json::{Value, json};

const ISSUER: &str = "https://login.hospital.example";

struct Key {
    pair: EcdsaKeyPair,
    kid: &'static str,
}

impl Key {
    fn new(kid: &'static str) -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        Self { pair, kid }
    }

    fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "kid": self.kid,
               "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])})
    }

    fn sign(&self, claims: &Value) -> String {
        let header = B64.encode(json!({"alg": "ES256", "kid": self.kid}).to_string());
        let input = format!("{header}.{}", B64.encode(claims.to_string()));
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", B64.encode(signature.as_ref()))
    }
}

struct Harness {
    url: String,
    jwks: Arc<Mutex<Value>>,
    audit: Arc<AuditLog>,
    _mock: MockUpstream,
    _dir: tempfile::TempDir,
}

/// The provider's JWKS on loopback, serving whatever `jwks` holds at the time.
async fn jwks_server(jwks: Arc<Mutex<Value>>) -> String {
    let app = axum::Router::new().route(
        "/jwks",
        get(move || {
            let jwks = jwks.clone();
            async move { Json(jwks.lock().unwrap().clone()) }
        }),
    );
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

async fn start(keys: &[&Key]) -> Harness {
    let jwks = Arc::new(Mutex::new(
        json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()}),
    ));
    let jwks_url = jwks_server(jwks.clone()).await;
    let idp = ExternalIdp::new(IdpConfig {
        issuer: ISSUER.into(),
        jwks_uri: jwks_url,
        audience: "phigate-gateway".into(),
        role_claim: "groups".into(),
        role_map: vec![
            ("ehr-physicians".into(), Role::Clinician),
            ("ehr-nurses".into(), Role::Nurse),
        ],
        tenant: TENANT.into(),
        cache_ttl: Duration::from_secs(3600),
        min_refresh: Duration::ZERO,
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = CheckpointSigner::load_or_create(&dir.path().join("audit.pk8")).unwrap();
    let audit =
        Arc::new(AuditLog::open(&dir.path().join("audit.db"), checkpoint, "test/audit").unwrap());
    let mock = MockUpstream::start().await.unwrap();
    let own = TokenSigner::from_pkcs8(&TokenSigner::generate_pkcs8().unwrap(), "phigate").unwrap();
    let mut config = GatewayConfig::new(TENANT);
    config.provider_baa = true;
    let gateway = Gateway::new(
        config,
        audit.clone(),
        Arc::new(Detector::new(DetectorConfig::default()).unwrap()),
        anthropic(&mock),
        own.verifier("phigate"),
    )
    .with_external_issuers(vec![idp]);
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = serve(listener, Arc::new(gateway), std::future::pending()).await;
    });
    Harness {
        url,
        jwks,
        audit,
        _mock: mock,
        _dir: dir,
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn claims(sub: &str, groups: &[&str]) -> Value {
    json!({"iss": ISSUER, "sub": sub, "aud": "phigate-gateway", "exp": now() + 300,
           "nbf": now() - 5, "groups": groups})
}

impl Harness {
    async fn models(&self, token: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .get(format!("{}/v1/models", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn events(&self) -> Vec<AuditEvent> {
        let entries = self.audit.entries(0, 10_000).unwrap();
        entries.into_iter().filter_map(|e| e.event).collect()
    }
}

#[tokio::test]
async fn a_providers_token_is_accepted_with_its_mapped_role_and_audited_as_its_subject() {
    let k1 = Key::new("k1");
    let h = start(&[&k1]).await;
    let physician = k1.sign(&claims("emp-1001", &["staff", "ehr-physicians"]));
    assert_eq!(
        h.models(&physician).await.0,
        200,
        "a clinician may list models"
    );

    let response = reqwest::Client::new()
        .post(format!("{}/v1/messages", h.url))
        .bearer_auth(&physician)
        .header("anthropic-version", "2023-06-01")
        .json(&message("Summarise: blood pressure stable."))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let subject = format!("{ISSUER}#emp-1001");
    let disclosed = h
        .events()
        .into_iter()
        .find(|e| e.outcome == Outcome::Success && e.actor.user_id == subject)
        .expect("the call is audited under the external subject");
    assert_eq!(disclosed.actor.role, "clinician");

    // A nurse may not call the Messages API: the role came from the claim, not from the token.
    let nurse = k1.sign(&claims("emp-2002", &["ehr-nurses"]));
    let (status, body) = h.models(&nurse).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["type"], "permission_error");
    let denial = h
        .events()
        .into_iter()
        .find(|e| e.action == Action::Denial && e.actor.user_id == format!("{ISSUER}#emp-2002"))
        .expect("the refusal is audited under the external subject");
    assert_eq!(denial.actor.role, "nurse");
}

#[tokio::test]
async fn wrong_issuer_audience_key_role_or_expiry_is_refused_and_audited() {
    let k1 = Key::new("k1");
    let stranger = Key::new("k-unknown");
    let h = start(&[&k1]).await;
    let physicians = &["ehr-physicians"];
    let mut other_issuer = claims("emp-1", physicians);
    other_issuer["iss"] = json!("https://login.elsewhere.example");
    let mut other_audience = claims("emp-1", physicians);
    other_audience["aud"] = json!("some-other-app");
    let mut expired = claims("emp-1", physicians);
    expired["exp"] = json!(now() - 3600);
    let cases = [
        ("wrong issuer", k1.sign(&other_issuer)),
        ("wrong audience", k1.sign(&other_audience)),
        ("unknown key", stranger.sign(&claims("emp-1", physicians))),
        (
            "unmapped role",
            k1.sign(&claims("emp-1", &["staff", "visitors"])),
        ),
        ("expired", k1.sign(&expired)),
    ];
    for (case, token) in &cases {
        let (status, body) = h.models(token).await;
        assert_eq!(status, 401, "{case}");
        assert_eq!(body["error"]["type"], "authentication_error", "{case}");
    }
    let denials = h
        .events()
        .into_iter()
        .filter(|e| e.action == Action::Denial && e.outcome == Outcome::Denied)
        .count();
    assert_eq!(denials, cases.len(), "every refusal is audited");
    assert!(
        !h.events().iter().any(|e| e.outcome == Outcome::Success),
        "nothing was let through"
    );
}

#[tokio::test]
async fn a_key_the_provider_rotates_in_is_picked_up_on_its_unknown_kid() {
    let old = Key::new("2026-11");
    let h = start(&[&old]).await;
    assert_eq!(
        h.models(&old.sign(&claims("emp-1", &["ehr-physicians"])))
            .await
            .0,
        200
    );

    let new = Key::new("2026-12");
    let signed_by_new = new.sign(&claims("emp-1", &["ehr-physicians"]));
    assert_eq!(h.models(&signed_by_new).await.0, 401, "not yet published");
    *h.jwks.lock().unwrap() = json!({"keys": [new.jwk()]});
    assert_eq!(
        h.models(&signed_by_new).await.0,
        200,
        "published: refetched on its kid"
    );
}
