//! Shared fixtures: an encrypted store and audit log in a tempdir, patients imported from the
//! shipped Synthea bundles, principals, and pipelines pointed at the loopback mock upstream.

#![allow(dead_code, reason = "each test file uses part of the fixture")]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use phigate_agent::schema::first_object;
use phigate_agent::{Catalog, Pipeline, import_bundle};
use phigate_audit::{Action, AuditLog, CheckpointSigner};
use phigate_auth::{Principal, Role, scopes};
use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_deid::{Detector, DetectorConfig};
use phigate_llm::mock::{MockResponse, MockUpstream};
use phigate_llm::types::{
    ContentBlock, MessagesResponse, Role as MsgRole, StopReason, ToolUseBlock, Usage,
};
use phigate_llm::{AnthropicConfig, AnthropicProvider, ApiKey, Outbound, Provider};
use phigate_store::Store;
use serde_json::{Map, Value};

pub const TENANT: &str = "t1";

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub store: Store,
    pub audit: Arc<AuditLog>,
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let kms = LocalKms::from_key(KeyMaterial::from_bytes(&[7u8; 32]).unwrap());
    let store = Store::open(&dir.path().join("app.db"), Arc::new(kms)).unwrap();
    let signer = CheckpointSigner::load_or_create(&dir.path().join("audit.pk8")).unwrap();
    let audit =
        Arc::new(AuditLog::open(&dir.path().join("audit.db"), signer, "test/audit").unwrap());
    Fixture {
        _dir: dir,
        store,
        audit,
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every shipped Synthea bundle, in a stable order.
pub fn synthea_bundles() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for set in std::fs::read_dir(repo_root().join("testdata/synthea")).unwrap() {
        let set = set.unwrap().path();
        if set.is_dir() {
            for file in std::fs::read_dir(&set).unwrap() {
                out.push(file.unwrap().path());
            }
        }
    }
    out.sort();
    out
}

/// Imports a bundle and returns the patient's id and the raw bundle bytes.
pub fn import(fx: &Fixture, path: &Path) -> (String, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let admin = principal(Role::Admin);
    let report = import_bundle(&fx.store, &fx.audit, &admin, TENANT, &bytes).unwrap();
    (report.patient_id, bytes)
}

pub fn principal(role: Role) -> Principal {
    Principal {
        user_id: format!("{}-1", role.as_str()),
        tenant: TENANT.into(),
        role,
        scopes: scopes(role).iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// A principal of `role` with exactly `scopes`.
pub fn with_scopes(role: Role, granted: &[&str]) -> Principal {
    Principal {
        scopes: granted.iter().map(|s| (*s).to_owned()).collect(),
        ..principal(role)
    }
}

pub fn pipeline(fx: &Fixture, provider: Arc<dyn Provider>, baa: bool) -> Pipeline {
    Pipeline {
        tenant: TENANT.into(),
        store: fx.store.clone(),
        audit: fx.audit.clone(),
        detector: Arc::new(Detector::new(DetectorConfig::default()).unwrap()),
        provider,
        provider_baa: baa,
        model: "claude-test".into(),
        catalog: Arc::new(Catalog::builtin().unwrap()),
    }
}

pub fn anthropic(mock: &MockUpstream) -> Arc<dyn Provider> {
    let mut config = AnthropicConfig::new(ApiKey::new("sk-test"));
    config.base_url = mock.base_url();
    config.max_retries = 0;
    config.timeout = Duration::from_secs(20);
    Arc::new(AnthropicProvider::new(config).unwrap())
}

fn message(content: Vec<ContentBlock>, stop: StopReason) -> MessagesResponse {
    MessagesResponse {
        id: "msg_test".into(),
        kind: "message".into(),
        role: MsgRole::Assistant,
        content,
        model: "claude-test".into(),
        stop_reason: Some(stop),
        stop_sequence: None,
        usage: Usage {
            input_tokens: 100,
            output_tokens: 50,
            ..Usage::default()
        },
        extra: Map::new(),
    }
}

/// A final text answer.
pub fn says(text: &str) -> MockResponse {
    MockResponse::Json(message(vec![ContentBlock::text(text)], StopReason::EndTurn))
}

/// A turn that calls tools: `(name, input)` pairs.
pub fn calls(tools: &[(&str, Value)]) -> MockResponse {
    let content = tools
        .iter()
        .enumerate()
        .map(|(i, (name, input))| {
            ContentBlock::ToolUse(ToolUseBlock {
                id: format!("toolu_{i}"),
                name: (*name).to_owned(),
                input: input.clone(),
                extra: Map::new(),
            })
        })
        .collect();
    MockResponse::Json(message(content, StopReason::ToolUse))
}

/// The user text of the first message of an outbound request.
pub fn user_text(outbound: &Outbound) -> String {
    let body: Value = serde_json::from_slice(&outbound.body).unwrap();
    let content = &body["messages"][0]["content"];
    match content {
        Value::String(s) => s.clone(),
        other => other[0]["text"].as_str().unwrap_or_default().to_owned(),
    }
}

/// The projected context the model saw, parsed from the first request.
pub fn context_sent(outbound: &Outbound) -> Value {
    first_object(&user_text(outbound)).unwrap()
}

/// The tool results sent back in a later request, as text.
pub fn tool_results(received: &phigate_llm::mock::RecordedRequest) -> Vec<Value> {
    let body = received.json();
    let messages = body["messages"].as_array().unwrap();
    let last = messages.last().unwrap();
    last["content"].as_array().unwrap().clone()
}

pub fn actions(audit: &AuditLog) -> Vec<(Action, String)> {
    audit
        .entries(0, 10_000)
        .unwrap()
        .into_iter()
        .filter_map(|e| e.event)
        .map(|e| (e.action, e.detail.unwrap_or_default()))
        .collect()
}
