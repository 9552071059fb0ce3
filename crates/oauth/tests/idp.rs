//! External identity provider tokens checked against a JWKS served on loopback: cached,
//! refetched on an unknown key id, claims mapped to roles.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::Json;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use phigate_auth::Role;
use phigate_oauth::{ExternalIdp, IdpConfig, IdpError};
use serde_json::{Value, json};

const ISSUER: &str = "https://login.hospital.example";

struct Idp {
    jwks: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
    url: String,
}

async fn jwks_server() -> Idp {
    let jwks = Arc::new(Mutex::new(json!({"keys": []})));
    let hits = Arc::new(AtomicUsize::new(0));
    let (j, h) = (jwks.clone(), hits.clone());
    let app = axum::Router::new().route(
        "/jwks",
        get(move || {
            let (j, h) = (j.clone(), h.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                Json(j.lock().unwrap().clone())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Idp { jwks, hits, url }
}

struct Key {
    pair: EcdsaKeyPair,
    kid: &'static str,
}

impl Key {
    fn new(kid: &'static str) -> Self {
        Self {
            pair: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
            kid,
        }
    }

    fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "kid": self.kid,
               "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])})
    }

    fn sign(&self, alg: &str, claims: &Value) -> String {
        let header = B64.encode(json!({"alg": alg, "kid": self.kid}).to_string());
        let input = format!("{header}.{}", B64.encode(claims.to_string()));
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", B64.encode(signature.as_ref()))
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn claims(groups: &[&str]) -> Value {
    json!({"iss": ISSUER, "sub": "emp-1001", "aud": "phigate", "exp": now() + 300,
           "nbf": now() - 5, "groups": groups})
}

fn provider(url: &str) -> ExternalIdp {
    ExternalIdp::new(IdpConfig {
        issuer: ISSUER.into(),
        jwks_uri: url.into(),
        audience: "phigate".into(),
        role_claim: "groups".into(),
        role_map: vec![
            ("ehr-nurses".into(), Role::Nurse),
            ("ehr-physicians".into(), Role::Clinician),
        ],
        tenant: "north".into(),
        cache_ttl: Duration::from_secs(3600),
        min_refresh: Duration::ZERO,
    })
    .unwrap()
}

#[tokio::test]
async fn a_token_from_the_issuer_maps_its_group_to_a_role_and_the_jwks_is_cached() {
    let idp = jwks_server().await;
    let k1 = Key::new("k1");
    *idp.jwks.lock().unwrap() = json!({"keys": [k1.jwk()]});
    let external = provider(&idp.url);

    let principal = external
        .verify(&k1.sign("ES256", &claims(&["staff", "ehr-nurses"])), now())
        .await
        .unwrap();
    assert_eq!(principal.role, Role::Nurse);
    assert_eq!(principal.user_id, "emp-1001");
    assert_eq!(principal.tenant, "north");
    assert!(principal.require(&["task/triage"]).is_ok());
    let again = external
        .verify(&k1.sign("ES256", &claims(&["ehr-physicians"])), now())
        .await
        .unwrap();
    assert_eq!(again.role, Role::Clinician);
    assert_eq!(idp.hits.load(Ordering::SeqCst), 1, "the JWKS is cached");
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_once_to_follow_a_rotation() {
    let idp = jwks_server().await;
    let (k1, k2) = (Key::new("k1"), Key::new("k2"));
    *idp.jwks.lock().unwrap() = json!({"keys": [k1.jwk()]});
    let external = provider(&idp.url);
    external
        .verify(&k1.sign("ES256", &claims(&["ehr-nurses"])), now())
        .await
        .unwrap();
    *idp.jwks.lock().unwrap() = json!({"keys": [k1.jwk(), k2.jwk()]});
    external
        .verify(&k2.sign("ES256", &claims(&["ehr-nurses"])), now())
        .await
        .unwrap();
    assert_eq!(idp.hits.load(Ordering::SeqCst), 2);
    let k3 = Key::new("k3");
    let err = external
        .verify(&k3.sign("ES256", &claims(&["ehr-nurses"])), now())
        .await
        .unwrap_err();
    assert_eq!(err, IdpError::Invalid("unknown key id"));
}

#[tokio::test]
async fn bad_external_tokens_are_refused() {
    let idp = jwks_server().await;
    let k1 = Key::new("k1");
    *idp.jwks.lock().unwrap() = json!({"keys": [k1.jwk()]});
    let external = provider(&idp.url);
    let mut wrong_iss = claims(&["ehr-nurses"]);
    wrong_iss["iss"] = "https://evil.example".into();
    let mut wrong_aud = claims(&["ehr-nurses"]);
    wrong_aud["aud"] = json!(["other-app"]);
    let mut expired = claims(&["ehr-nurses"]);
    expired["exp"] = json!(now() - 3600);
    let mut future = claims(&["ehr-nurses"]);
    future["nbf"] = json!(now() + 3600);
    let forged = {
        let token = k1.sign("ES256", &claims(&["ehr-nurses"]));
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = B64.encode(claims(&["ehr-physicians"]).to_string());
        parts.join(".")
    };
    let none = format!(
        "{}.{}.",
        B64.encode(json!({"alg": "none", "kid": "k1"}).to_string()),
        B64.encode(claims(&["ehr-nurses"]).to_string())
    );
    let cases = [
        (
            k1.sign("ES256", &wrong_iss),
            IdpError::Invalid("wrong issuer"),
        ),
        (
            k1.sign("ES256", &wrong_aud),
            IdpError::Invalid("wrong audience"),
        ),
        (k1.sign("ES256", &expired), IdpError::Invalid("expired")),
        (
            k1.sign("ES256", &future),
            IdpError::Invalid("not yet valid"),
        ),
        (forged, IdpError::Invalid("bad signature")),
        (none, IdpError::Invalid("unexpected algorithm")),
        (
            k1.sign("HS256", &claims(&["ehr-nurses"])),
            IdpError::Invalid("unexpected algorithm"),
        ),
        (k1.sign("ES256", &claims(&["visitors"])), IdpError::NoRole),
    ];
    for (token, expected) in cases {
        assert_eq!(external.verify(&token, now()).await.unwrap_err(), expected);
    }
}

#[test]
fn a_plain_http_jwks_url_off_loopback_is_refused() {
    assert!(matches!(
        ExternalIdp::new(IdpConfig {
            issuer: ISSUER.into(),
            jwks_uri: "http://login.hospital.example/jwks".into(),
            audience: "phigate".into(),
            role_claim: "groups".into(),
            role_map: Vec::new(),
            tenant: "north".into(),
            cache_ttl: Duration::from_secs(60),
            min_refresh: Duration::from_secs(10),
        }),
        Err(IdpError::Jwks(_))
    ));
}
