//! What the gateway's task, patient and console tests stand on: a scripted mock upstream with
//! the real Anthropic client in front of it, an encrypted store and an audit log, all in a
//! temporary directory that lives as long as the value.

use std::sync::Arc;
use std::time::Duration;

use phigate_audit::{AuditLog, CheckpointSigner};
use phigate_crypto::{KeyMaterial, LocalKms};
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
