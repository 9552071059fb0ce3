//! Break-glass over HTTP, in a tenant that confines staff to their care relationships: a
//! clinician is refused a patient outside their care team, opens them with `POST
//! /v1/break-glass` and a stated reason, reaches their tasks and drafts while the grant lives
//! and is refused again once it ends. A frozen patient stays refused whatever the grant.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod backing;

use std::sync::Arc;
use std::time::Duration;

use phigate_agent::import_bundle;
use phigate_audit::{Action, AuditEvent, AuditLog, Outcome};
use phigate_auth::{MAX_ACCESS_TOKEN_TTL, Principal, Role, TokenSigner, scopes};
use phigate_llm::mock::{MockResponse, MockUpstream};
use phigate_llm::types::{ContentBlock, MessagesResponse, Role as MsgRole, StopReason, Usage};
use phigate_store::Store;
use serde_json::{Value, json};

const TENANT: &str = "t1";
const REASON: &str = "Unresponsive on arrival, need the allergy list before sedation";

struct Harness {
    url: String,
    mock: MockUpstream,
    store: Store,
    audit: Arc<AuditLog>,
    signer: TokenSigner,
    _server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

fn bundle(id: &str) -> String {
    json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": id, "gender": "female",
            "birthDate": "1961-03-09", "name": [{"given": ["Rosalind"], "family": "Okonkwo"}]}}
    ]})
    .to_string()
}

async fn start() -> Harness {
    let backing::Backing {
        mock,
        provider,
        store,
        audit,
        dir,
    } = backing::start().await;
    let admin = Principal::with_role("admin-1", TENANT, Role::Admin);
    for id in ["pat-1", "pat-2"] {
        import_bundle(&store, &audit, &admin, TENANT, bundle(id).as_bytes()).unwrap();
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    store.set_care_team_required(TENANT, true, now).unwrap();
    let (gateway, signer) = backing::task_gateway(TENANT, store.clone(), audit.clone(), provider);
    let (url, server) = backing::serve_on_loopback(gateway).await;
    Harness {
        url,
        mock,
        store,
        audit,
        signer,
        _server: server,
        _dir: dir,
    }
}

impl Harness {
    fn token(&self, user: &str, role: Role) -> String {
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

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.url))
            .header("x-api-key", token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn note(&self, token: &str, patient: &str) -> (u16, Value) {
        self.mock.push(says("Assessment: tension headache."));
        let body = json!({"patient": patient, "input": "[doctor] headache?"});
        self.send("POST", "/v1/tasks/clinical-note", token, Some(body))
            .await
    }

    async fn break_glass(
        &self,
        token: &str,
        patient: &str,
        reason: &str,
        secs: u64,
    ) -> (u16, Value) {
        let body = json!({"patient": patient, "reason": reason, "duration_seconds": secs});
        self.send("POST", "/v1/break-glass", token, Some(body))
            .await
    }

    fn events(&self) -> Vec<AuditEvent> {
        self.audit
            .entries(0, 10_000)
            .unwrap()
            .into_iter()
            .filter_map(|e| e.event)
            .collect()
    }

    fn assign(&self, user: &str, patient: &str) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let patient = self.store.patient_ref(TENANT, patient);
        self.store.assign_care(TENANT, user, &patient, now).unwrap();
    }
}

fn says(text: &str) -> MockResponse {
    MockResponse::Json(MessagesResponse {
        id: "msg_1".into(),
        kind: "message".into(),
        role: MsgRole::Assistant,
        content: vec![ContentBlock::text(text)],
        model: "claude-test".into(),
        stop_reason: Some(StopReason::EndTurn),
        stop_sequence: None,
        usage: Usage::default(),
        extra: serde_json::Map::new(),
    })
}

#[tokio::test]
async fn staff_reach_their_care_team_patients_only() {
    let h = start().await;
    h.assign("dr-1", "pat-1");
    let dr1 = h.token("dr-1", Role::Clinician);
    assert_eq!(h.note(&dr1, "pat-1").await.0, 200, "own patient");
    let (status, body) = h.note(&dr1, "pat-2").await;
    assert_eq!(status, 403, "another clinician's patient");
    assert_eq!(body["error"]["type"], "permission_error");
    let dr2 = h.token("dr-2", Role::Clinician);
    assert_eq!(h.note(&dr2, "pat-1").await.0, 403, "nobody's team");
    assert_eq!(
        h.mock.received().len(),
        1,
        "only the allowed run reached the model"
    );
    let refused = h
        .events()
        .into_iter()
        .filter(|e| e.action == Action::Denial && e.outcome == Outcome::Denied)
        .filter(|e| {
            e.detail
                .as_deref()
                .is_some_and(|d| d.contains("care relationships"))
        })
        .count();
    assert_eq!(refused, 2, "both refusals are audited");
}

#[tokio::test]
async fn a_break_glass_grant_opens_tasks_and_drafts_until_it_expires() {
    let h = start().await;
    h.assign("dr-1", "pat-1");
    let dr1 = h.token("dr-1", Role::Clinician);
    let dr2 = h.token("dr-2", Role::Clinician);
    let (_, run) = h.note(&dr1, "pat-1").await;
    let draft = format!("/v1/drafts/{}", run["draft_id"].as_str().unwrap());
    assert_eq!(h.send("GET", &draft, &dr2, None).await.0, 403);

    let (status, grant) = h.break_glass(&dr2, "pat-1", REASON, 4).await;
    assert_eq!(status, 200, "{grant}");
    let patient = h.store.patient_ref(TENANT, "pat-1");
    assert_eq!(grant["patient_ref"], patient.as_str());
    assert_eq!(h.note(&dr2, "pat-1").await.0, 200, "task under the grant");
    assert_eq!(
        h.send("GET", &draft, &dr2, None).await.0,
        200,
        "draft under the grant"
    );
    assert_eq!(
        h.note(&dr2, "pat-2").await.0,
        403,
        "the grant names one patient"
    );

    tokio::time::sleep(Duration::from_millis(4_100)).await;
    assert_eq!(h.note(&dr2, "pat-1").await.0, 403, "task after expiry");
    assert_eq!(
        h.send("GET", &draft, &dr2, None).await.0,
        403,
        "draft after expiry"
    );

    let flagged = h
        .events()
        .into_iter()
        .filter(|e| e.action == Action::BreakGlass && e.outcome == Outcome::Success)
        .filter(|e| e.actor.user_id == "dr-2")
        .collect::<Vec<_>>();
    assert_eq!(
        flagged.len(),
        3,
        "the grant, the task run and the draft read"
    );
    assert!(
        flagged
            .iter()
            .all(|e| e.patient_ref.as_deref() == Some(patient.as_str()))
    );
    let report = h.store.break_glass_report(TENANT, 0).unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].user_id, "dr-2");
    assert_eq!(report[0].reason, REASON);
}

#[tokio::test]
async fn break_glass_is_refused_without_a_reason_to_other_roles_and_for_frozen_patients() {
    let h = start().await;
    let dr = h.token("dr-1", Role::Clinician);
    let (status, _) = h.break_glass(&dr, "pat-1", "urgent", 60).await;
    assert_eq!(status, 400, "a reason that says nothing");
    let (status, _) = h
        .send(
            "POST",
            "/v1/break-glass",
            &dr,
            Some(json!({"patient": "pat-1", "duration_seconds": 60})),
        )
        .await;
    assert_eq!(status, 400, "no reason at all");
    for role in [
        Role::Nurse,
        Role::Coder,
        Role::Admin,
        Role::Auditor,
        Role::Service,
    ] {
        let token = h.token("someone", role);
        let (status, body) = h.break_glass(&token, "pat-1", REASON, 60).await;
        assert_eq!(status, 403, "{role:?}");
        assert_eq!(body["error"]["type"], "permission_error");
    }
    assert!(h.store.break_glass_report(TENANT, 0).unwrap().is_empty());

    let patient = h.store.patient_ref(TENANT, "pat-2");
    h.store
        .freeze_patient(TENANT, &patient, "incident", "ops-1")
        .unwrap();
    assert_eq!(h.break_glass(&dr, "pat-2", REASON, 600).await.0, 200);
    let (status, body) = h.note(&dr, "pat-2").await;
    assert_eq!(status, 403, "containment beats break-glass");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("frozen")
    );
    assert!(h.mock.received().is_empty(), "nothing reached the model");
}
