//! The request path against a mock Anthropic upstream on loopback: what leaves, in what order
//! it is audited, and what happens when a step refuses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

use std::sync::Arc;
use std::time::Duration;

use phigate_agent::{
    AgentError, Catalog, Pipeline, TaskInput, TaskSpec, clinical_note, import_bundle,
};
use phigate_audit::{Action, AuditLog, CheckpointSigner};
use phigate_auth::{Principal, Role, scopes};
use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_deid::{Detector, DetectorConfig};
use phigate_llm::mock::MockUpstream;
use phigate_llm::{AnthropicConfig, AnthropicProvider, ApiKey, EchoProvider, Provider};
use phigate_store::Store;
use serde_json::json;

const TENANT: &str = "t1";
const SSN: &str = "999-12-3456";

fn bundle() -> Vec<u8> {
    json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "pat-1", "gender": "female",
            "birthDate": "1961-03-09",
            "name": [{"given": ["Rosalind"], "family": "Okonkwo-Vance"}],
            "identifier": [{"type": {"coding": [{"code": "SS"}]}, "value": SSN}],
            "telecom": [{"system": "phone", "value": "555-201-7788"}],
            "address": [{"line": ["42 Larkspur Lane"], "city": "Brookfield", "postalCode": "01506"}]}},
        {"resource": {"resourceType": "Condition", "id": "c1",
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"display": "Hypertension"}]}, "onsetDateTime": "2015-02-01"}}
    ]})
    .to_string()
    .into_bytes()
}

struct Fixture {
    _dir: tempfile::TempDir,
    audit_path: std::path::PathBuf,
    store: Store,
    audit: Arc<AuditLog>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let kms = LocalKms::from_key(KeyMaterial::from_bytes(&[9u8; 32]).unwrap());
    let store = Store::open(&dir.path().join("app.db"), Arc::new(kms)).unwrap();
    let signer = CheckpointSigner::load_or_create(&dir.path().join("audit.pk8")).unwrap();
    let audit_path = dir.path().join("audit.db");
    let audit = Arc::new(AuditLog::open(&audit_path, signer, "test/audit").unwrap());
    let admin = principal(Role::Admin);
    import_bundle(&store, &audit, &admin, TENANT, &bundle()).unwrap();
    Fixture {
        _dir: dir,
        audit_path,
        store,
        audit,
    }
}

fn principal(role: Role) -> Principal {
    Principal {
        user_id: format!("{}-1", role.as_str()),
        tenant: TENANT.into(),
        role,
        scopes: scopes(role).iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn pipeline(fx: &Fixture, provider: Arc<dyn Provider>, baa: bool) -> Pipeline {
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

fn anthropic(mock: &MockUpstream) -> Arc<dyn Provider> {
    let mut config = AnthropicConfig::new(ApiKey::new("sk-test"));
    config.base_url = mock.base_url();
    config.max_retries = 0;
    config.timeout = Duration::from_secs(10);
    Arc::new(AnthropicProvider::new(config).unwrap())
}

const DICTATION: &str = "Rosalind reports headaches. SSN 999-12-3456. Lives at 42 Larkspur Lane.";

fn actions(audit: &AuditLog) -> Vec<Action> {
    audit
        .entries(0, 1000)
        .unwrap()
        .into_iter()
        .map(|e| e.event.unwrap().action)
        .collect()
}

#[tokio::test]
async fn with_a_baa_the_upstream_gets_placeholders_and_the_answer_gets_the_name_back() {
    let fx = fixture();
    let mock = MockUpstream::start().await.unwrap();
    let task = clinical_note().unwrap();
    let run = pipeline(&fx, anthropic(&mock), true)
        .run(
            &principal(Role::Clinician),
            TaskInput {
                task: &task,
                patient_id: "pat-1",
                text: DICTATION,
            },
        )
        .await
        .unwrap();

    let received = mock.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].body, run.outbounds[0].body,
        "the bytes checked are the bytes sent"
    );
    let sent = String::from_utf8(received[0].body.to_vec())
        .unwrap()
        .to_lowercase();
    for value in [
        "rosalind",
        "okonkwo",
        SSN,
        "555-201-7788",
        "larkspur",
        "brookfield",
        "1961",
    ] {
        assert!(!sent.contains(value), "an identifier reached the upstream");
    }
    assert!(sent.contains("[name_1]"));

    // The mock quotes the user turn back; restoring puts the identifiers back for the clinician.
    let answer = run.response.text();
    assert!(answer.contains("Rosalind Okonkwo-Vance") && answer.contains(SSN));
    assert!(run.draft_id.is_some());
    let trail = actions(&fx.audit);
    let disclosure = trail.iter().position(|a| *a == Action::Disclosure).unwrap();
    let response = trail.iter().position(|a| *a == Action::Response).unwrap();
    assert!(
        disclosure < response,
        "the disclosure is recorded before the answer"
    );
    assert_eq!(trail.last(), Some(&Action::DraftStored));
}

#[tokio::test]
async fn without_a_baa_an_off_premises_provider_gets_unlinked_safe_harbor_data() {
    let fx = fixture();
    let mock = MockUpstream::start().await.unwrap();
    let task = clinical_note().unwrap();
    let run = pipeline(&fx, anthropic(&mock), false)
        .run(
            &principal(Role::Clinician),
            TaskInput {
                task: &task,
                patient_id: "pat-1",
                text: DICTATION,
            },
        )
        .await
        .unwrap();
    let sent = String::from_utf8(mock.received()[0].body.to_vec()).unwrap();
    assert!(sent.contains("[NAME]") && !sent.contains("[NAME_1]"));
    assert!(
        !run.response.text().contains("Rosalind"),
        "nothing links back to re-identify"
    );
}

#[tokio::test]
async fn a_caller_without_the_scope_is_denied_audited_and_nothing_is_sent() {
    let fx = fixture();
    let mock = MockUpstream::start().await.unwrap();
    let task = clinical_note().unwrap();
    let err = pipeline(&fx, anthropic(&mock), true)
        .run(
            &principal(Role::Scheduler),
            TaskInput {
                task: &task,
                patient_id: "pat-1",
                text: "x",
            },
        )
        .await
        .err()
        .unwrap();
    assert_eq!(err.status(), 403);
    assert!(mock.received().is_empty());
    assert_eq!(actions(&fx.audit).last(), Some(&Action::Denial));
}

#[tokio::test]
async fn a_known_identifier_that_escapes_de_identification_is_stopped_by_the_gate() {
    let fx = fixture();
    let mock = MockUpstream::start().await.unwrap();
    // A task whose fixed prompt carries the patient's SSN: de-identification never sees the
    // system prompt, so only the independent gate stands between it and the upstream.
    let task = TaskSpec {
        system: "Patient SSN 999 12 3456 for reference.".into(),
        ..clinical_note().unwrap()
    };
    let err = pipeline(&fx, anthropic(&mock), true)
        .run(
            &principal(Role::Clinician),
            TaskInput {
                task: &task,
                patient_id: "pat-1",
                text: "x",
            },
        )
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, AgentError::EgressBlocked { kind: "SSN" }),
        "{err}"
    );
    assert!(
        !err.to_string().contains("3456"),
        "the error names the kind, not the value"
    );
    assert!(mock.received().is_empty());
    let trail = actions(&fx.audit);
    assert!(!trail.contains(&Action::Disclosure));
    assert_eq!(trail.last(), Some(&Action::Denial));
}

#[tokio::test]
async fn when_the_audit_log_cannot_be_written_nothing_is_sent() {
    let fx = fixture();
    let mock = MockUpstream::start().await.unwrap();
    // Another process holds the audit database's write lock for the whole run.
    let blocker = rusqlite::Connection::open(&fx.audit_path).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let task = clinical_note().unwrap();
    let err = pipeline(&fx, anthropic(&mock), true)
        .run(
            &principal(Role::Clinician),
            TaskInput {
                task: &task,
                patient_id: "pat-1",
                text: DICTATION,
            },
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(err, AgentError::AuditUnavailable(_)));
    assert_eq!(err.status(), 503);
    assert!(mock.received().is_empty());
    blocker.execute_batch("ROLLBACK").unwrap();
}

#[tokio::test]
async fn an_unknown_patient_is_a_not_found_and_placeholders_in_the_input_are_defused() {
    let fx = fixture();
    let task = clinical_note().unwrap();
    let echo: Arc<dyn Provider> = Arc::new(EchoProvider);
    let err = pipeline(&fx, echo.clone(), false)
        .run(
            &principal(Role::Clinician),
            TaskInput {
                task: &task,
                patient_id: "nobody",
                text: "x",
            },
        )
        .await
        .err()
        .unwrap();
    assert_eq!(err.status(), 404);

    // A caller who types a placeholder cannot make the vault "restore" it into a name.
    let run = pipeline(&fx, echo, false)
        .run(
            &principal(Role::Clinician),
            TaskInput {
                task: &task,
                patient_id: "pat-1",
                text: "who is [NAME_1]?",
            },
        )
        .await
        .unwrap();
    assert!(run.response.text().contains("who is (NAME_1)?"));
}
