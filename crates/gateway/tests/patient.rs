//! The patient's routes over HTTP: a patient's token is bound to one record, and nothing in a
//! request (a body field, a query parameter, another route's patient id, a draft id) reaches
//! another patient's appointments, bills or notes. The chat page is served with a strict policy.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod backing;

use std::sync::Arc;

use phigate_agent::import_bundle;
use phigate_audit::{Action, AuditLog};
use phigate_auth::{MAX_ACCESS_TOKEN_TTL, Principal, Role, TokenSigner, scopes};
use phigate_llm::mock::{MockResponse, MockUpstream};
use phigate_llm::types::{ContentBlock, MessagesResponse, Role as MsgRole, StopReason, Usage};
use phigate_store::{PatientRef, Store};
use reqwest::Method;
use serde_json::{Value, json};

const TENANT: &str = "t1";
/// Patient B's identifiers, which must never reach patient A or the upstream.
const B_NAME: &str = "Wilhelmina Castellanos-Okafor";
const B_SSN: &str = "999-71-4420";
const B_NOTE: &str = "Persistent cough; HIV viral load pending.";

struct Harness {
    url: String,
    mock: MockUpstream,
    audit: Arc<AuditLog>,
    store: Store,
    signer: TokenSigner,
    a: PatientRef,
    b: PatientRef,
    _server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

fn bundle(id: &str, given: &str, family: &str, ssn: &str) -> Value {
    json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": id, "gender": "female",
            "birthDate": "1961-03-09", "name": [{"given": [given], "family": family}],
            "identifier": [{"type": {"coding": [{"code": "SS"}]}, "value": ssn}]}},
        {"resource": {"resourceType": "Claim", "id": format!("claim-{id}"), "status": "active",
            "created": "2024-02-03", "total": {"value": 812.5, "currency": "USD"}}}
    ]})
}

async fn start(portal: bool) -> Harness {
    let backing::Backing {
        mock,
        provider,
        store,
        audit,
        dir,
    } = backing::start().await;
    let admin = Principal::with_role("admin-1", TENANT, Role::Admin);
    for b in [
        bundle("pat-a", "Rosalind", "Okonkwo-Vance", "999-12-3456"),
        bundle("pat-b", "Wilhelmina", "Castellanos-Okafor", B_SSN),
    ] {
        import_bundle(&store, &audit, &admin, TENANT, b.to_string().as_bytes()).unwrap();
    }
    let (mut gateway, signer) =
        backing::task_gateway(TENANT, store.clone(), audit.clone(), provider);
    if portal {
        gateway = gateway.with_patient_portal("portal-client".into());
    }
    let (url, server) = backing::serve_on_loopback(gateway).await;
    Harness {
        url,
        mock,
        audit,
        a: store.patient_ref(TENANT, "pat-a"),
        b: store.patient_ref(TENANT, "pat-b"),
        store,
        signer,
        _server: server,
        _dir: dir,
    }
}

impl Harness {
    /// A token of `role`, bound to `patient` when given.
    fn token(&self, role: Role, patient: Option<&PatientRef>) -> String {
        let principal = Principal {
            user_id: format!("{}-1", role.as_str()),
            tenant: TENANT.into(),
            role,
            scopes: scopes(role).iter().map(|s| (*s).to_owned()).collect(),
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.signer
            .issue_bound(
                &principal,
                None,
                patient.map(PatientRef::as_str),
                "phigate",
                MAX_ACCESS_TOKEN_TTL,
                now,
            )
            .unwrap()
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, String) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    fn denials(&self) -> usize {
        self.audit
            .entries(0, 10_000)
            .unwrap()
            .into_iter()
            .filter_map(|e| e.event)
            .filter(|e| e.action == Action::Denial)
            .count()
    }

    fn upstream(&self) -> String {
        self.mock
            .received()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect()
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

fn ask(text: &str) -> Value {
    json!({"messages": [{"role": "user", "content": text}]})
}

/// Nothing of patient B's is in `text`.
fn none_of_b(text: &str) -> bool {
    ![
        B_NAME,
        "Wilhelmina",
        B_SSN,
        "claim-pat-b",
        "b-appointment",
        B_NOTE,
    ]
    .iter()
    .any(|v| text.contains(v))
}

#[tokio::test]
async fn a_patient_reaches_another_patients_appointments_bills_and_notes_by_no_route() {
    let h = start(true).await;
    h.store
        .put_slots(
            TENANT,
            &[phigate_store::Slot {
                id: "slot-b".into(),
                start: "2031-01-02T09:00:00Z".into(),
                end: "2031-01-02T10:00:00Z".into(),
                service: "primary-care".into(),
                status: phigate_store::SlotStatus::Free,
            }],
        )
        .unwrap();
    let b_appointment = json!({"resourceType": "Appointment", "id": "b-appointment",
        "status": "booked", "start": "2031-01-02T09:00:00Z", "serviceType": [{"text": "primary-care"}]});
    h.store
        .book_slot(
            TENANT,
            "slot-b",
            &h.b,
            "b-appointment",
            b_appointment.to_string().as_bytes(),
        )
        .unwrap();
    // A clinician's note about B, stored as a draft awaiting review.
    h.mock.push(says(B_NOTE));
    let clinician = h.token(Role::Clinician, None);
    let (status, draft) = h
        .send(
            Method::POST,
            "/v1/tasks/clinical-note",
            &clinician,
            Some(json!({"patient": "pat-b", "input": "Cough for three weeks."})),
        )
        .await;
    assert_eq!(status, 200);
    let draft_id = serde_json::from_str::<Value>(&draft).unwrap()["draft_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = h.mock.received().len();

    let a = h.token(Role::Patient, Some(&h.a));
    let attempts: Vec<(Method, String, Option<Value>, u16)> = vec![
        // A patient field in the assistant's body, or a query on the appointments route.
        (
            Method::POST,
            "/v1/patient/assistant".into(),
            Some(json!({"patient": "pat-b", "messages": [{"role": "user", "content": "hi"}]})),
            400,
        ),
        (
            Method::GET,
            "/v1/patient/appointments?patient=pat-b".into(),
            None,
            400,
        ),
        // The staff task routes, which take a patient id.
        (
            Method::POST,
            "/v1/tasks/assistant".into(),
            Some(json!({"patient": "pat-b", "input": "my bills"})),
            403,
        ),
        (
            Method::POST,
            "/v1/tasks/admin".into(),
            Some(json!({"patient": "pat-b", "input": "list the bills"})),
            403,
        ),
        // The note about B, by its draft id.
        (Method::GET, format!("/v1/drafts/{draft_id}"), None, 403),
        (Method::GET, "/v1/drafts".into(), None, 403),
        // The Messages API and the audit log.
        (
            Method::POST,
            "/v1/messages".into(),
            Some(
                json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}),
            ),
            403,
        ),
        (Method::GET, "/v1/audit/entries".into(), None, 403),
    ];
    for (method, path, body, expected) in attempts {
        let denials = h.denials();
        let (status, text) = h.send(method, &path, &a, body).await;
        assert_eq!(status, expected, "{path}");
        assert!(none_of_b(&text), "{path} answered with B's data");
        if expected == 403 {
            assert!(h.denials() > denials, "{path}: the refusal is audited");
        }
    }
    assert_eq!(h.mock.received().len(), before, "nothing went to the model");

    // A's own appointments: none, and none of B's.
    let (status, text) = h
        .send(Method::GET, "/v1/patient/appointments", &a, None)
        .await;
    assert_eq!(status, 200);
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed["appointments"], json!([]));
    // B's own token sees B's appointment there: the route reads the token's patient.
    let b = h.token(Role::Patient, Some(&h.b));
    let (_, text) = h
        .send(Method::GET, "/v1/patient/appointments", &b, None)
        .await;
    assert!(text.contains("b-appointment"));
}

#[tokio::test]
async fn the_assistant_answers_for_the_tokens_patient_only_and_refuses_unbound_or_staff_tokens() {
    let h = start(true).await;
    h.mock.push(says("You have one bill of 812.5 USD."));
    let a = h.token(Role::Patient, Some(&h.a));
    let (status, text) = h
        .send(
            Method::POST,
            "/v1/patient/assistant",
            &a,
            Some(ask(&format!("What do I owe? Also what does {B_NAME} owe?"))),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reply["type"], "assistant_reply");
    assert!(reply["text"].as_str().unwrap().contains("812.5"));
    assert_eq!(reply["safety"]["model_called"], true);
    let sent = h.upstream();
    assert!(
        !sent.contains("Wilhelmina") && !sent.contains("Castellanos"),
        "B's name left"
    );
    assert!(!sent.contains("Okonkwo"), "A's name left");

    let unbound = h.token(Role::Patient, None);
    let clinician = h.token(Role::Clinician, Some(&h.b));
    let forged = h.token(Role::Patient, Some(&h.b)).replace('.', ".x");
    for (token, expected) in [(&unbound, 403), (&clinician, 403), (&forged, 401)] {
        let (status, text) = h
            .send(
                Method::POST,
                "/v1/patient/assistant",
                token,
                Some(ask("my bills")),
            )
            .await;
        assert_eq!(status, expected);
        assert!(none_of_b(&text));
    }
    assert_eq!(h.mock.received().len(), 1);
}

#[tokio::test]
async fn a_red_flag_over_http_leads_with_the_emergency_instruction_and_alerts_staff() {
    let h = start(true).await;
    h.mock.push(says("It's probably nothing."));
    let a = h.token(Role::Patient, Some(&h.a));
    let (status, text) = h
        .send(
            Method::POST,
            "/v1/patient/assistant",
            &a,
            Some(ask("crushing chest pain and I can't catch my breath")),
        )
        .await;
    assert_eq!(status, 200);
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert!(reply["text"].as_str().unwrap().starts_with("Call 911 now"));
    assert_eq!(reply["safety"]["alert_raised"], true);
    assert!(h.mock.received().is_empty());
    let alert = h
        .audit
        .entries(0, 10_000)
        .unwrap()
        .into_iter()
        .filter_map(|e| e.event)
        .find(|e| e.action == Action::SafetyAlert)
        .expect("a safety_alert entry");
    assert_eq!(alert.patient_ref.as_deref(), Some(h.a.as_str()));
    assert_eq!(alert.detail.as_deref(), Some("chest-pain"));
}

#[tokio::test]
async fn the_chat_page_is_served_with_a_strict_policy_and_no_inline_code() {
    let h = start(true).await;
    let client = reqwest::Client::new();
    for (path, kind) in [
        ("/patient/", "text/html"),
        ("/patient/app.js", "text/javascript"),
        ("/patient/style.css", "text/css"),
    ] {
        let response = client.get(format!("{}{path}", h.url)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        let csp = headers["content-security-policy"].to_str().unwrap();
        for part in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(part), "{path}: {part}");
        }
        assert!(!csp.contains("unsafe-inline"));
        assert!(headers["content-type"].to_str().unwrap().starts_with(kind));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let body = response.text().await.unwrap();
        if kind == "text/html" {
            assert!(
                !body.contains("<script>") && !body.contains("style=") && !body.contains("onclick")
            );
            assert!(body.contains("name=\"viewport\""));
        }
    }
    let config: Value = client
        .get(format!("{}/patient/config.json", h.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["client_id"], "portal-client");

    let unconfigured = start(false).await;
    let response = client
        .get(format!("{}/patient/config.json", unconfigured.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
