//! What the web console relies on: its pages served with a strict Content-Security-Policy and
//! never cached; the administrators' routes (accounts, clients, keys) for the admin role only,
//! each change audited; the auditors' body-carried search, disclosures report and chain status;
//! and drafts read beside their sources and rejected with a reason kept out of the audit log.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use phigate_agent::{Catalog, Pipeline, import_bundle};
use phigate_audit::{Action, AuditLog, CheckpointSigner};
use phigate_auth::{MAX_ACCESS_TOKEN_TTL, Principal, Role, TokenSigner, scopes};
use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_deid::{Detector, DetectorConfig};
use phigate_gateway::{Gateway, GatewayConfig, serve};
use phigate_llm::mock::{MockResponse, MockUpstream};
use phigate_llm::types::{ContentBlock, MessagesResponse, Role as MsgRole, StopReason, Usage};
use phigate_llm::{AnthropicConfig, AnthropicProvider, ApiKey, Provider};
use phigate_store::Store;
use reqwest::Method;
use serde_json::{Value, json};

const TENANT: &str = "t1";
const PATIENT: &str = "pat-1";
const FAMILY: &str = "Okonkwo-Vance";
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

struct Harness {
    url: String,
    mock: MockUpstream,
    audit: Arc<AuditLog>,
    store: Store,
    signer: TokenSigner,
    _server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn start() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockUpstream::start().await.unwrap();
    let mut settings = AnthropicConfig::new(ApiKey::new("sk-test"));
    settings.base_url = mock.base_url();
    settings.max_retries = 0;
    settings.timeout = Duration::from_secs(10);
    let provider: Arc<dyn Provider> = Arc::new(AnthropicProvider::new(settings).unwrap());
    let kms = LocalKms::from_key(KeyMaterial::from_bytes(&[7u8; 32]).unwrap());
    let store = Store::open(&dir.path().join("app.db"), Arc::new(kms)).unwrap();
    let checkpoint = CheckpointSigner::load_or_create(&dir.path().join("audit.pk8")).unwrap();
    let audit =
        Arc::new(AuditLog::open(&dir.path().join("audit.db"), checkpoint, "test/audit").unwrap());
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
    let detector = Arc::new(Detector::new(DetectorConfig::default()).unwrap());
    let pipeline = Pipeline {
        tenant: TENANT.into(),
        store: store.clone(),
        audit: audit.clone(),
        detector: detector.clone(),
        provider: provider.clone(),
        provider_baa: true,
        model: "claude-test".into(),
        catalog: Arc::new(Catalog::builtin().unwrap()),
    };
    let pkcs8 = TokenSigner::generate_pkcs8().unwrap();
    let signer = TokenSigner::from_pkcs8(&pkcs8, "phigate").unwrap();
    let refs = store.clone();
    let gateway = Gateway::new(
        GatewayConfig::new(TENANT),
        audit.clone(),
        detector,
        provider,
        signer.verifier("phigate"),
    )
    .with_tasks(Arc::new(pipeline))
    .with_admin(store.clone())
    .with_patient_refs(Arc::new(move |tenant: &str, id: &str| {
        refs.patient_ref(tenant, id).as_str().to_owned()
    }));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = serve(listener, Arc::new(gateway), std::future::pending()).await;
    });
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
    fn token_for(&self, user: &str, role: Role) -> String {
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

    async fn send(&self, method: Method, path: &str, role: Role, body: Option<Value>) -> Value {
        let (status, body) = self.call(method, path, role, body).await;
        assert_eq!(status, 200, "{path} as {role:?}: {body}");
        body
    }

    async fn call(
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

    fn details(&self, action: Action) -> Vec<String> {
        self.audit
            .entries(0, 10_000)
            .unwrap()
            .into_iter()
            .filter_map(|e| e.event)
            .filter(|e| e.action == action)
            .map(|e| e.detail.unwrap_or_default())
            .collect()
    }

    fn everything_logged(&self) -> String {
        self.audit
            .entries(0, 10_000)
            .unwrap()
            .into_iter()
            .filter_map(|e| e.event)
            .map(|e| serde_json::to_string(&e).unwrap())
            .collect()
    }

    async fn draft(&self, answer: &str) -> String {
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

#[tokio::test]
async fn console_pages_carry_a_strict_policy_and_are_never_cached() {
    let h = start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let index = client
        .get(format!("{}/console/", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), 200);
    let html = index.headers().clone();
    let page = index.text().await.unwrap();
    for path in [
        "/console/",
        "/console/callback",
        "/console/console.js",
        "/console/console.css",
    ] {
        let response = client.get(format!("{}{path}", h.url)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert_eq!(headers["content-security-policy"], CSP, "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
    assert!(
        html["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // No inline script or style: the policy would block them, and the page must not need them.
    let lowered = page.to_lowercase();
    assert!(!lowered.contains("<style") && !lowered.contains(" style="));
    for script in lowered.split("<script").skip(1) {
        assert!(
            script.split('>').next().unwrap().contains("src="),
            "inline script"
        );
    }
    assert_eq!(
        client
            .get(format!("{}/console/secret.js", h.url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let bare = client
        .get(format!("{}/console", h.url))
        .send()
        .await
        .unwrap();
    assert!(bare.status().is_redirection());
    assert_eq!(bare.headers()["location"], "/console/");
}

#[tokio::test]
async fn the_admin_routes_are_for_the_admin_role_only_and_refusals_are_audited() {
    let h = start().await;
    let routes: [(Method, &str, Option<Value>); 9] = [
        (Method::GET, "/v1/admin/users", None),
        (
            Method::POST,
            "/v1/admin/users",
            Some(json!({"username": "x1", "role": "nurse"})),
        ),
        (Method::POST, "/v1/admin/users/admin-1/disable", None),
        (Method::POST, "/v1/admin/users/admin-1/enable", None),
        (Method::POST, "/v1/admin/users/admin-1/reset-mfa", None),
        (Method::GET, "/v1/admin/clients", None),
        (Method::POST, "/v1/admin/clients/nope/revoke", None),
        (Method::GET, "/v1/admin/keys", None),
        (Method::POST, "/v1/admin/keys/rotate", Some(json!({}))),
    ];
    for (method, path, body) in &routes {
        for role in Role::ALL.into_iter().filter(|r| *r != Role::Admin) {
            let (status, error) = h.call(method.clone(), path, role, body.clone()).await;
            assert_eq!(status, 403, "{method} {path} as {role:?}");
            assert_eq!(error["error"]["type"], "permission_error");
        }
        let anonymous = reqwest::Client::new()
            .request(method.clone(), format!("{}{path}", h.url))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401, "{method} {path}");
    }
    assert!(h.details(Action::Denial).len() >= routes.len() * 7);
    assert!(
        h.details(Action::ConfigChange).is_empty(),
        "nothing changed"
    );
}

#[tokio::test]
async fn an_admin_manages_accounts_clients_and_keys_and_every_change_is_audited() {
    let h = start().await;
    let created = h
        .send(
            Method::POST,
            "/v1/admin/users",
            Role::Admin,
            Some(json!({"username": "dr.ada", "role": "clinician"})),
        )
        .await;
    assert!(created["password"].as_str().unwrap().len() >= 16);
    assert!(created["totp_uri"].is_null(), "clinicians opt in to TOTP");
    let auditor = h
        .send(
            Method::POST,
            "/v1/admin/users",
            Role::Admin,
            Some(json!({"username": "aud.bo", "role": "auditor"})),
        )
        .await;
    assert!(
        auditor["totp_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let (status, _) = h
        .call(
            Method::POST,
            "/v1/admin/users",
            Role::Admin,
            Some(json!({"username": "dr.ada", "role": "nurse"})),
        )
        .await;
    assert_eq!(status, 400, "a name is taken once");
    for bad in [
        json!({"username": "has space", "role": "nurse"}),
        json!({"username": "svc", "role": "service"}),
        json!({"username": "x", "role": "root"}),
        json!({"username": "x", "role": "nurse", "extra": 1}),
    ] {
        let (status, _) = h
            .call(Method::POST, "/v1/admin/users", Role::Admin, Some(bad))
            .await;
        assert_eq!(status, 400);
    }

    h.send(
        Method::POST,
        "/v1/admin/users/dr.ada/disable",
        Role::Admin,
        None,
    )
    .await;
    let users = h
        .send(Method::GET, "/v1/admin/users", Role::Admin, None)
        .await;
    let ada = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "dr.ada")
        .unwrap();
    assert_eq!(ada["state"], "disabled");
    assert!(
        h.store
            .user_by_name(TENANT, "dr.ada")
            .unwrap()
            .unwrap()
            .disabled
    );
    h.send(
        Method::POST,
        "/v1/admin/users/dr.ada/enable",
        Role::Admin,
        None,
    )
    .await;
    let reset = h
        .send(
            Method::POST,
            "/v1/admin/users/dr.ada/reset-mfa",
            Role::Admin,
            None,
        )
        .await;
    assert!(reset["totp_uri"].as_str().unwrap().contains("secret="));
    let (status, _) = h
        .call(
            Method::POST,
            "/v1/admin/users/nobody/disable",
            Role::Admin,
            None,
        )
        .await;
    assert_eq!(status, 404);

    // An administrator cannot lock themselves out.
    let me = h.store.user_by_name(TENANT, "aud.bo").unwrap().unwrap();
    let token = h.token_for(&me.id, Role::Admin);
    let own = reqwest::Client::new()
        .post(format!("{}/v1/admin/users/aud.bo/disable", h.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 400);

    let client = h
        .send(
            Method::POST,
            "/v1/admin/clients",
            Role::Admin,
            Some(json!({"name": "ehr-bridge", "role": "service", "method": "client_secret_basic"})),
        )
        .await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap();
    let stored = h.store.client(&id).unwrap().unwrap();
    assert_eq!(
        stored.secret_hash.as_deref(),
        Some(phigate_oauth::hash_client_secret(secret).as_str())
    );
    let (status, _) = h
        .call(
            Method::POST,
            "/v1/admin/clients",
            Role::Admin,
            Some(json!({"name": "x", "role": "service", "method": "none",
                        "redirect_uris": ["http://example.org/cb"]})),
        )
        .await;
    assert_eq!(status, 400, "plain HTTP off loopback is refused");
    let listed = h
        .send(Method::GET, "/v1/admin/clients", Role::Admin, None)
        .await;
    assert!(
        !listed.to_string().contains(secret),
        "the secret is shown once only"
    );
    h.send(
        Method::POST,
        &format!("/v1/admin/clients/{id}/revoke"),
        Role::Admin,
        None,
    )
    .await;
    assert!(h.store.client(&id).unwrap().unwrap().revoked);

    let before = h
        .send(Method::GET, "/v1/admin/keys", Role::Admin, None)
        .await;
    let rotated = h
        .send(
            Method::POST,
            "/v1/admin/keys/rotate",
            Role::Admin,
            Some(json!({})),
        )
        .await;
    let was = before["tenant"].as_array().unwrap().len() as u64;
    assert_eq!(rotated["tenant_version"], was + 1);
    let after = h
        .send(Method::GET, "/v1/admin/keys", Role::Admin, None)
        .await;
    assert_eq!(after["tenant"].as_array().unwrap().len() as u64, was + 1);

    let changes = h.details(Action::ConfigChange);
    for expected in [
        "user added with role clinician",
        "user added with role auditor",
        "user disabled",
        "user enabled",
        "user second factor reset",
        "added (client_secret_basic)",
        "revoked",
    ] {
        assert!(changes.iter().any(|d| d.contains(expected)), "{expected}");
    }
    assert_eq!(h.details(Action::KeyRotation).len(), 1);
    let logged = h.everything_logged();
    assert!(!logged.contains("dr.ada") && !logged.contains(secret));
    assert!(!logged.contains(created["password"].as_str().unwrap()));
}

#[tokio::test]
async fn auditors_search_by_patient_in_the_body_and_see_the_chain_verified() {
    let h = start().await;
    let id = h.draft("Assessment: migraine.").await;
    for (method, path, body) in [
        (
            Method::POST,
            "/v1/audit/search",
            Some(json!({"patient": PATIENT})),
        ),
        (
            Method::POST,
            "/v1/audit/disclosures",
            Some(json!({"patient": PATIENT})),
        ),
        (Method::GET, "/v1/audit/status", None),
    ] {
        for role in [Role::Clinician, Role::Admin, Role::Nurse, Role::Service] {
            let (status, _) = h.call(method.clone(), path, role, body.clone()).await;
            assert_eq!(status, 403, "{path} as {role:?}");
        }
    }
    let reference = h.store.patient_ref(TENANT, PATIENT);
    let found = h
        .send(
            Method::POST,
            "/v1/audit/search",
            Role::Auditor,
            Some(json!({"patient": PATIENT, "action": "draft_stored"})),
        )
        .await;
    let entries = found["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["event"]["patient_ref"], reference.as_str());
    assert!(
        entries[0]["event"]["detail"]
            .as_str()
            .unwrap()
            .contains(&id)
    );
    let everything = h
        .send(Method::POST, "/v1/audit/search", Role::Auditor, None)
        .await;
    assert!(everything["entries"].as_array().unwrap().len() > entries.len());
    let (status, _) = h
        .call(
            Method::POST,
            "/v1/audit/search",
            Role::Auditor,
            Some(json!({"patient": PATIENT, "nonsense": true})),
        )
        .await;
    assert_eq!(status, 400);

    let report = h
        .send(
            Method::POST,
            "/v1/audit/disclosures",
            Role::Auditor,
            Some(json!({"patient": PATIENT})),
        )
        .await;
    assert_eq!(report["patient_ref"], reference.as_str());
    assert_eq!(report["disclosures"].as_array().unwrap().len(), 1);

    h.audit.checkpoint().unwrap();
    let status = h
        .send(Method::GET, "/v1/audit/status", Role::Auditor, None)
        .await;
    assert_eq!(status["verified"], true, "{status}");
    assert!(status["size"].as_u64().unwrap() >= 5);
    assert!(status["first_bad_seq"].is_null());
    assert!(
        !h.everything_logged().contains(PATIENT),
        "the identifier is never kept"
    );
}

#[tokio::test]
async fn a_draft_is_read_beside_its_sources_and_rejected_with_a_reason_the_log_never_holds() {
    let h = start().await;
    let id = h.draft("Assessment: migraine in [NAME_1].").await;
    let path = format!("/v1/drafts/{id}");
    let draft = h.send(Method::GET, &path, Role::Clinician, None).await;
    let input = draft["sources"]["input"].as_str().unwrap();
    assert!(
        input.contains(FAMILY),
        "the input is shown with its identifiers in place"
    );
    let record = &draft["sources"]["record"];
    assert_eq!(record["patient"]["sex"], "female");
    assert!(
        record["patient"]["name"].as_str().unwrap().contains(FAMILY),
        "the record is shown restored"
    );
    // A nurse may not read a clinical note's draft, nor so its sources.
    let (status, _) = h.call(Method::GET, &path, Role::Nurse, None).await;
    assert_eq!(status, 403);

    let reason = format!("Wrong patient: this is not {FAMILY}'s visit.");
    let (status, _) = h
        .call(
            Method::POST,
            &format!("{path}/reject"),
            Role::Nurse,
            Some(json!({"reason": reason})),
        )
        .await;
    assert_eq!(status, 403, "only a signer rejects");
    let (status, _) = h
        .call(
            Method::POST,
            &format!("{path}/reject"),
            Role::Clinician,
            Some(json!({"reason": "  "})),
        )
        .await;
    assert_eq!(status, 400, "a reason is not blank");
    let rejected = h
        .send(
            Method::POST,
            &format!("{path}/reject"),
            Role::Clinician,
            Some(json!({"reason": reason})),
        )
        .await;
    assert_eq!(rejected["status"], "rejected");
    let read = h.send(Method::GET, &path, Role::Clinician, None).await;
    assert_eq!(read["body"]["rejection"]["reason"], reason.as_str());
    assert!(!h.everything_logged().contains("Wrong patient"));
    assert!(!h.everything_logged().contains(FAMILY));
    let (status, _) = h
        .call(
            Method::POST,
            &format!("{path}/reject"),
            Role::Clinician,
            Some(json!({"reason": "again"})),
        )
        .await;
    assert_eq!(status, 409, "a reviewed draft stays as it was decided");
}
