//! Break-glass: a clinician opens a patient with a stated reason; the access is time-limited,
//! audited as `BreakGlass`, and listed with its reason in the auditor report.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::sync::Arc;
use std::time::Duration;

use phigate_agent::{AgentError, BreakGlassRequest, open_break_glass};
use phigate_audit::{Action, AuditLog, CheckpointSigner, Outcome};
use phigate_auth::{BreakGlassPolicy, Principal, Role};
use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_store::Store;

const T0: i64 = 1_800_000_000;
const REASON: &str = "Unresponsive on arrival, need allergy list before sedation";

fn open() -> (tempfile::TempDir, Store, Arc<AuditLog>) {
    let dir = tempfile::tempdir().unwrap();
    let kms = LocalKms::from_key(KeyMaterial::from_bytes(&[5u8; 32]).unwrap());
    let store = Store::open(&dir.path().join("app.db"), Arc::new(kms)).unwrap();
    let signer = CheckpointSigner::load_or_create(&dir.path().join("audit.pk8")).unwrap();
    let audit = Arc::new(AuditLog::open(&dir.path().join("audit.db"), signer, "t").unwrap());
    (dir, store, audit)
}

fn request(reason: &str) -> BreakGlassRequest<'_> {
    BreakGlassRequest {
        patient_id: "pat-77",
        reason,
        duration: Duration::from_secs(4 * 3600),
    }
}

#[test]
fn a_clinicians_break_glass_is_time_limited_audited_and_reported() {
    let (_dir, store, audit) = open();
    let clinician = Principal::with_role("dr-1", "t1", Role::Clinician);
    let policy = BreakGlassPolicy::default();
    let grant =
        open_break_glass(&store, &audit, &policy, &clinician, &request(REASON), T0).unwrap();
    assert_eq!(grant.expires_at, T0 + 3600, "capped at the policy's hour");
    let patient = store.patient_ref("t1", "pat-77");
    assert_eq!(grant.patient_ref, patient.as_str());
    assert!(
        store
            .has_break_glass("t1", "dr-1", &patient, T0 + 10)
            .unwrap()
    );
    assert!(
        !store
            .has_break_glass("t1", "dr-1", &patient, T0 + 3600)
            .unwrap()
    );
    assert!(
        !store
            .has_break_glass("t1", "dr-2", &patient, T0 + 10)
            .unwrap()
    );

    let entries = audit.entries(0, 10).unwrap();
    let entry = entries
        .iter()
        .filter_map(|e| e.event.as_ref())
        .find(|e| e.action == Action::BreakGlass)
        .unwrap();
    assert_eq!(entry.outcome, Outcome::Success);
    assert_eq!(entry.patient_ref.as_deref(), Some(patient.as_str()));
    assert!(!entry.detail.as_deref().unwrap().contains("sedation"));

    let report = store.break_glass_report("t1", T0 - 1).unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].user_id, "dr-1");
    assert_eq!(report[0].reason, REASON);
    assert!(!format!("{:?}", report[0]).contains("sedation"));
}

#[test]
fn break_glass_is_refused_without_the_scope_or_a_real_reason_and_the_refusal_is_audited() {
    let (_dir, store, audit) = open();
    let policy = BreakGlassPolicy::default();
    let nurse = Principal::with_role("rn-1", "t1", Role::Nurse);
    let err = open_break_glass(&store, &audit, &policy, &nurse, &request(REASON), T0).unwrap_err();
    assert_eq!(err.status(), 403);
    let clinician = Principal::with_role("dr-1", "t1", Role::Clinician);
    let err =
        open_break_glass(&store, &audit, &policy, &clinician, &request("urgent"), T0).unwrap_err();
    assert!(matches!(err, AgentError::Denied(_)));
    assert_eq!(err.status(), 400);
    let denials = audit
        .entries(0, 10)
        .unwrap()
        .into_iter()
        .filter_map(|e| e.event)
        .filter(|e| e.action == Action::BreakGlass && e.outcome == Outcome::Denied)
        .count();
    assert_eq!(denials, 2);
    assert!(store.break_glass_report("t1", 0).unwrap().is_empty());
}

#[test]
fn a_forgotten_patients_break_glass_reason_is_shredded() {
    let (_dir, store, audit) = open();
    let clinician = Principal::with_role("dr-1", "t1", Role::Clinician);
    let policy = BreakGlassPolicy::default();
    let grant =
        open_break_glass(&store, &audit, &policy, &clinician, &request(REASON), T0).unwrap();
    store
        .keyring()
        .forget_patient("t1", &grant.patient_ref)
        .unwrap();
    let report = store.break_glass_report("t1", 0).unwrap();
    assert_eq!(report[0].reason, "(shredded)");
}
