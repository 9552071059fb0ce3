//! A whole gateway on loopback in front of the mock upstream, with a fresh audit log and token
//! key, for the integration tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test on error"
)]
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use phigate_audit::{Action, AuditLog, CheckpointSigner};
use phigate_auth::{MAX_ACCESS_TOKEN_TTL, Principal, Role, TokenSigner, scopes};
use phigate_deid::{Detector, DetectorConfig};
use phigate_gateway::{Gateway, GatewayConfig, serve_with};
use phigate_llm::mock::MockUpstream;
use phigate_llm::{AnthropicConfig, AnthropicProvider, ApiKey, Provider};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

pub const TENANT: &str = "t1";
pub const UPSTREAM_KEY: &str = "sk-ant-gateway-own-key";

/// Identifiers the tests send, each with its kind for PHI-free failure messages.
pub const NAME: &str = "Rosalind Okonkwo-Vance";
pub const PHONE: &str = "617-555-0199";
pub const SSN: &str = "999-12-3456";
pub const PHI: [(&str, &str); 3] = [("NAME", NAME), ("PHONE", PHONE), ("SSN", SSN)];

/// A clinical line carrying every identifier above.
pub fn clinical_text() -> String {
    format!("Patient {NAME} (SSN {SSN}) called from {PHONE} about her blood pressure.")
}

pub struct Harness {
    pub url: String,
    pub mock: Option<MockUpstream>,
    pub audit: Arc<AuditLog>,
    pub audit_path: PathBuf,
    signer: TokenSigner,
    server: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The Anthropic client aimed at `mock`, without retries of its own.
pub fn anthropic(mock: &MockUpstream) -> Arc<dyn Provider> {
    let mut config = AnthropicConfig::new(ApiKey::new(UPSTREAM_KEY));
    config.base_url = mock.base_url();
    config.max_retries = 0;
    config.timeout = Duration::from_secs(10);
    Arc::new(AnthropicProvider::new(config).unwrap())
}

/// A gateway with a BAA on record in front of a fresh mock upstream.
pub async fn start(configure: impl FnOnce(&mut GatewayConfig)) -> Harness {
    let mock = MockUpstream::start().await.unwrap();
    let provider = anthropic(&mock);
    let mut config = GatewayConfig::new(TENANT);
    config.provider_baa = true;
    configure(&mut config);
    start_with(provider, config, Some(mock)).await
}

/// A gateway in front of any provider.
pub async fn start_with(
    provider: Arc<dyn Provider>,
    config: GatewayConfig,
    mock: Option<MockUpstream>,
) -> Harness {
    start_beside(provider, config, mock, axum::Router::new()).await
}

/// A gateway with `extra` routes served beside its own, as `phigate serve` serves the OAuth
/// server's.
pub async fn start_beside(
    provider: Arc<dyn Provider>,
    config: GatewayConfig,
    mock: Option<MockUpstream>,
    extra: axum::Router,
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.db");
    let checkpoint = CheckpointSigner::load_or_create(&dir.path().join("audit.pk8")).unwrap();
    let audit = Arc::new(AuditLog::open(&audit_path, checkpoint, "test/audit").unwrap());
    let pkcs8 = TokenSigner::generate_pkcs8().unwrap();
    let signer = TokenSigner::from_pkcs8(&pkcs8, "phigate").unwrap();
    let detector = Arc::new(Detector::new(DetectorConfig::default()).unwrap());
    let gateway = Gateway::new(
        config,
        audit.clone(),
        detector,
        provider,
        signer.verifier("phigate"),
    )
    .with_patient_refs(Arc::new(|tenant: &str, id: &str| patient_ref(tenant, id)));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = serve_with(listener, Arc::new(gateway), extra, std::future::pending()).await;
    });
    Harness {
        url: format!("http://{addr}"),
        mock,
        audit,
        audit_path,
        signer,
        server,
        _dir: dir,
    }
}

impl Harness {
    pub fn mock(&self) -> &MockUpstream {
        self.mock.as_ref().unwrap()
    }

    /// A fresh access token for a user of `role` in the gateway's tenant.
    pub fn token(&self, role: Role) -> String {
        let principal = Principal {
            user_id: format!("{}-1", role.as_str()),
            tenant: TENANT.into(),
            role,
            scopes: scopes(role).iter().map(|s| (*s).to_owned()).collect(),
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.signer
            .issue(&principal, "phigate", MAX_ACCESS_TOKEN_TTL, now)
            .unwrap()
    }

    /// POSTs `body` as a clinician.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .header("x-api-key", self.token(Role::Clinician))
            .header("anthropic-version", "2023-06-01")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Every byte the upstream received, as one string.
    pub fn upstream_bytes(&self) -> String {
        self.mock()
            .received()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Asserts no identifier the tests send reached the upstream, naming only its kind.
    pub fn assert_no_phi_upstream(&self) {
        let sent = self.upstream_bytes();
        for (kind, value) in PHI {
            assert!(!sent.contains(value), "a {kind} reached the upstream");
        }
    }

    /// The audit actions recorded so far.
    pub fn actions(&self) -> Vec<Action> {
        self.audit
            .entries(0, 10_000)
            .unwrap()
            .into_iter()
            .map(|e| e.event.unwrap().action)
            .collect()
    }
}

/// The tests' stand-in for the store's keyed patient reference: any function of tenant and
/// identifier that gives 64 hex characters.
pub fn patient_ref(tenant: &str, id: &str) -> String {
    let input = format!("patient\0{tenant}\0{id}");
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.as_bytes()).as_ref())
}

/// A one-turn request.
pub fn message(text: &str) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 256,
           "messages": [{"role": "user", "content": text}]})
}
