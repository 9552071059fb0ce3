//! A gateway with tasks, review and administration over an encrypted store with one patient,
//! in front of the mock upstream, for the console's route tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test on error"
)]
#![allow(dead_code, reason = "each test file uses a different subset")]

#[path = "../backing/mod.rs"]
mod backing;

use std::sync::Arc;

use phigate_agent::import_bundle;
use phigate_audit::{Action, AuditLog};
use phigate_auth::{MAX_ACCESS_TOKEN_TTL, Principal, Role, TokenSigner, scopes};
use phigate_llm::mock::{MockResponse, MockUpstream};
use phigate_llm::types::{ContentBlock, MessagesResponse, Role as MsgRole, StopReason, Usage};
use phigate_store::Store;
use reqwest::Method;
use serde_json::{Value, json};

pub const TENANT: &str = "t1";
pub const PATIENT: &str = "pat-1";
pub const FAMILY: &str = "Okonkwo-Vance";
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub struct Harness {
    pub url: String,
    pub mock: MockUpstream,
    pub audit: Arc<AuditLog>,
    pub store: Store,
    signer: TokenSigner,
    _server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

pub async fn start() -> Harness {
    let backing::Backing {
        mock,
        provider,
        store,
        audit,
        dir,
    } = backing::start().await;
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": PATIENT, "gender": "female",
            "birthDate": "1961-03-09", "name": [{"given": ["Rosalind"], "family": FAMILY}]}}
    ]});
    let admin = Principal::with_role("admin-1", TENANT, Role::Admin);
    import_bundle(
        &store,
        &audit,
        &admin,
        TENANT,
        bundle.to_string().as_bytes(),
    )
    .unwrap();
    let (gateway, signer) = backing::task_gateway(TENANT, store.clone(), audit.clone(), provider);
    let refs = store.clone();
    let gateway = gateway
        .with_admin(store.clone())
        .with_patient_refs(Arc::new(move |tenant: &str, id: &str| {
            refs.patient_ref(tenant, id).as_str().to_owned()
        }));
    let (url, server) = backing::serve_on_loopback(gateway).await;
    Harness {
        url,
        mock,
        audit,
        store,
        signer,
        _server: server,
        _dir: dir,
    }
}

impl Harness {
    pub fn token_for(&self, user: &str, role: Role) -> String {
        let principal = Principal {
            user_id: user.into(),
            tenant: TENANT.into(),
            role,
            scopes: scopes(role).iter().map(|s| (*s).to_owned()).collect(),
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.signer
            .issue(&principal, "phigate", MAX_ACCESS_TOKEN_TTL, now)
            .unwrap()
    }

    pub async fn send(&self, method: Method, path: &str, role: Role, body: Option<Value>) -> Value {
        let (status, body) = self.call(method, path, role, body).await;
        assert_eq!(status, 200, "{path} as {role:?}: {body}");
        body
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        role: Role,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(self.token_for(&format!("{}-1", role.as_str()), role));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub fn details(&self, action: Action) -> Vec<String> {
        self.audit
            .entries(0, 10_000)
            .unwrap()
            .into_iter()
            .filter_map(|e| e.event)
            .filter(|e| e.action == action)
            .map(|e| e.detail.unwrap_or_default())
            .collect()
    }

    pub fn everything_logged(&self) -> String {
        self.audit
            .entries(0, 10_000)
            .unwrap()
            .into_iter()
            .filter_map(|e| e.event)
            .map(|e| serde_json::to_string(&e).unwrap())
            .collect()
    }

    pub async fn draft(&self, answer: &str) -> String {
        self.mock.push(MockResponse::Json(MessagesResponse {
            id: "msg_1".into(),
            kind: "message".into(),
            role: MsgRole::Assistant,
            content: vec![ContentBlock::text(answer)],
            model: "claude-test".into(),
            stop_reason: Some(StopReason::EndTurn),
            stop_sequence: None,
            usage: Usage::default(),
            extra: serde_json::Map::new(),
        }));
        let body =
            json!({"patient": PATIENT, "input": "[doctor] Any headaches, Ms Okonkwo-Vance?"});
        let run = self
            .send(
                Method::POST,
                "/v1/tasks/clinical-note",
                Role::Clinician,
                Some(body),
            )
            .await;
        run["draft_id"].as_str().unwrap().to_owned()
    }
}
