//! What the gateway's task, patient and console tests stand on: a scripted mock upstream with
//! the real Anthropic client in front of it, an encrypted store and an audit log, all in a
//! temporary directory that lives as long as the value; and the task gateway most of them serve
//! on loopback.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use phigate_agent::{Catalog, Pipeline};
use phigate_audit::{AuditLog, CheckpointSigner};
use phigate_auth::TokenSigner;
use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_deid::{Detector, DetectorConfig};
use phigate_gateway::{Gateway, GatewayConfig, serve};
use phigate_llm::mock::MockUpstream;
use phigate_llm::{AnthropicConfig, AnthropicProvider, ApiKey, Provider};
use phigate_store::Store;

pub struct Backing {
    pub mock: MockUpstream,
    pub provider: Arc<dyn Provider>,
    pub store: Store,
    pub audit: Arc<AuditLog>,
    pub dir: tempfile::TempDir,
}

pub async fn start() -> Backing {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockUpstream::start().await.unwrap();
    let mut settings = AnthropicConfig::new(ApiKey::new("sk-test"));
    settings.base_url = mock.base_url();
    settings.max_retries = 0;
    settings.timeout = Duration::from_secs(10);
    let provider: Arc<dyn Provider> = Arc::new(AnthropicProvider::new(settings).unwrap());
    let kms = LocalKms::from_key(KeyMaterial::from_bytes(&[5u8; 32]).unwrap());
    let store = Store::open(&dir.path().join("app.db"), Arc::new(kms)).unwrap();
    let checkpoint = CheckpointSigner::load_or_create(&dir.path().join("audit.pk8")).unwrap();
    let audit =
        Arc::new(AuditLog::open(&dir.path().join("audit.db"), checkpoint, "test/audit").unwrap());
    Backing {
        mock,
        provider,
        store,
        audit,
        dir,
    }
}

/// A gateway for `tenant` running the built-in tasks over `store`, `audit` and `provider` (with a
/// BAA), and the signer of the tokens it accepts.
pub fn task_gateway(
    tenant: &str,
    store: Store,
    audit: Arc<AuditLog>,
    provider: Arc<dyn Provider>,
) -> (Gateway, TokenSigner) {
    let detector = Arc::new(Detector::new(DetectorConfig::default()).unwrap());
    let pipeline = Pipeline {
        tenant: tenant.into(),
        store,
        audit: audit.clone(),
        detector: detector.clone(),
        provider: provider.clone(),
        provider_baa: true,
        model: "claude-test".into(),
        catalog: Arc::new(Catalog::builtin().unwrap()),
    };
    let pkcs8 = TokenSigner::generate_pkcs8().unwrap();
    let signer = TokenSigner::from_pkcs8(&pkcs8, "phigate").unwrap();
    let mut config = GatewayConfig::new(tenant);
    config.provider_baa = true;
    let gateway = Gateway::new(
        config,
        audit,
        detector,
        provider,
        signer.verifier("phigate"),
    )
    .with_tasks(Arc::new(pipeline));
    (gateway, signer)
}

/// Serves `gateway` on a loopback port: its base URL and the server task.
pub async fn serve_on_loopback(gateway: Gateway) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = serve(listener, Arc::new(gateway), std::future::pending()).await;
    });
    (url, server)
}
