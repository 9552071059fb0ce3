//! JWT handling, with three verifiers: Phigate's own access tokens, `private_key_jwt` client
//! assertions, and tokens from an external identity provider. Nothing the fuzzer writes may
//! verify (it holds none of the keys), and a genuine token with any single byte changed must be
//! refused by the verifier it was made for. The input's first three bytes choose the byte to
//! change and how; the rest, split at its first line break into a JWKS and a token, is also
//! handed to every verifier as it is.

#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use libfuzzer_sys::fuzz_target;
use phigate_auth::{Principal, Role, TokenSigner, TokenVerifier};
use phigate_oauth::{ExternalIdp, IdpConfig, verify_assertion};
use serde_json::{Value, json};

const NOW: i64 = 1_790_000_000;
const ISSUER: &str = "https://phigate.test";
const TOKEN_ENDPOINT: &str = "https://phigate.test/oauth/token";
const IDP_ISSUER: &str = "https://login.hospital.test";

struct Fixture {
    verifier: TokenVerifier,
    access_token: String,
    client_jwks: String,
    assertion: String,
    idp: ExternalIdp,
    idp_token: String,
}

fn jwk(pair: &EcdsaKeyPair, crv: &str, kid: &str) -> Value {
    let point = pair.public_key().as_ref();
    let half = (point.len() - 1) / 2;
    json!({"kty": "EC", "crv": crv, "kid": kid,
           "x": B64.encode(&point[1..=half]), "y": B64.encode(&point[half + 1..])})
}

fn sign(pair: &EcdsaKeyPair, alg: &str, kid: &str, claims: &Value) -> String {
    let header = B64.encode(json!({"alg": alg, "kid": kid}).to_string());
    let input = format!("{header}.{}", B64.encode(claims.to_string()));
    let signature = pair.sign(&SystemRandom::new(), input.as_bytes()).expect("signs");
    format!("{input}.{}", B64.encode(signature.as_ref()))
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let pkcs8 = TokenSigner::generate_pkcs8().expect("a key");
        let signer = TokenSigner::from_pkcs8(&pkcs8, ISSUER).expect("a signer");
        let principal = Principal::with_role("user-1", "north", Role::Clinician);
        let access_token = signer
            .issue(&principal, "phigate", Duration::from_secs(300), NOW)
            .expect("a token");

        let client = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).expect("a key");
        let client_jwks = json!({"keys": [jwk(&client, "P-384", "c1")]}).to_string();
        let claims = json!({"iss": "client-1", "sub": "client-1", "aud": TOKEN_ENDPOINT,
                            "exp": NOW + 60, "jti": "j1"});
        let assertion = sign(&client, "ES384", "c1", &claims);

        let idp_key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("a key");
        let idp = ExternalIdp::with_jwks(
            IdpConfig {
                issuer: IDP_ISSUER.into(),
                jwks_uri: "http://127.0.0.1:9/jwks".into(),
                audience: "phigate".into(),
                role_claim: "groups".into(),
                role_map: vec![("ehr-nurses".into(), Role::Nurse)],
                tenant: "north".into(),
                cache_ttl: Duration::from_secs(86_400),
                min_refresh: Duration::from_secs(86_400),
            },
            json!({"keys": [jwk(&idp_key, "P-256", "i1")]}),
        )
        .expect("an identity provider");
        let idp_claims = json!({"iss": IDP_ISSUER, "sub": "emp-1", "aud": "phigate",
                                "exp": NOW + 300, "groups": ["ehr-nurses"]});
        let idp_token = sign(&idp_key, "ES256", "i1", &idp_claims);

        let verifier = signer.verifier("phigate");
        Fixture { verifier, access_token, client_jwks, assertion, idp, idp_token }
    })
}

/// `token` with one byte changed, if the change leaves different UTF-8.
fn tamper(token: &str, at: usize, xor: u8) -> Option<String> {
    let mut bytes = token.as_bytes().to_vec();
    let len = bytes.len();
    bytes[at % len] ^= xor.max(1);
    String::from_utf8(bytes).ok().filter(|t| t != token)
}

fuzz_target!(|data: &[u8]| {
    let [a, b, xor, rest @ ..] = data else {
        return;
    };
    let at = usize::from(*a) << 8 | usize::from(*b);
    let f = fixture();
    let idp = |token: &str| futures::executor::block_on(f.idp.verify(token, NOW));

    // The genuine tokens verify, so a refusal below is the change's doing.
    assert!(f.verifier.verify(&f.access_token, NOW).is_ok());
    if let Some(token) = tamper(&f.access_token, at, *xor) {
        assert!(f.verifier.verify(&token, NOW).is_err(), "a changed access token verified");
    }
    if let Some(token) = tamper(&f.assertion, at, *xor) {
        let verdict = verify_assertion(&token, "client-1", &f.client_jwks, TOKEN_ENDPOINT, NOW);
        assert!(verdict.is_err(), "a changed client assertion verified");
    }
    if let Some(token) = tamper(&f.idp_token, at, *xor) {
        assert!(idp(&token).is_err(), "a changed identity-provider token verified");
    }

    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (jwks, token) = text.split_once('\n').unwrap_or(("", text));
    assert!(f.verifier.verify(token, NOW).is_err(), "a fuzzed access token verified");
    assert!(f.verifier.verify_signature(token).is_err());
    let verdict = verify_assertion(token, "client-1", &f.client_jwks, TOKEN_ENDPOINT, NOW);
    assert!(verdict.is_err(), "a fuzzed client assertion verified");
    let _ = verify_assertion(token, "client-1", jwks, TOKEN_ENDPOINT, NOW);
    let _ = phigate_oauth::claimed_client(token);
    assert!(idp(token).is_err(), "a fuzzed identity-provider token verified");
});
