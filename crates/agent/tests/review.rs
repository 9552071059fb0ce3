//! Draft review: listed, read, edited, approved or rejected; only a signer role with
//! `draft/sign` decides; signer and time are recorded; the AI-generated label stays; every step
//! is audited.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::*;
use phigate_agent::{AI_LABEL, AgentError, Catalog, ReviewDecision, TaskInput};
use phigate_audit::Action;
use phigate_auth::Role;
use phigate_llm::mock::MockUpstream;
use phigate_store::DraftStatus;
use serde_json::json;

#[tokio::test]
async fn a_clinician_edits_and_signs_a_draft_and_others_cannot() {
    let fx = fixture();
    let (patient, _) = import(&fx, &synthea_bundles()[1]);
    let mock = MockUpstream::start().await.unwrap();
    let pipeline = pipeline(&fx, anthropic(&mock), true);
    let catalog = Catalog::builtin().unwrap();
    let clinician = principal(Role::Clinician);
    let run = pipeline
        .run(
            &clinician,
            TaskInput {
                task: catalog.task("clinical-note").unwrap(),
                patient_id: &patient,
                text: "[doctor] knee pain for a week.",
            },
        )
        .await
        .unwrap();
    let id = run.draft_id.unwrap();

    let listed = pipeline
        .list_drafts(&clinician, Some(DraftStatus::AwaitingReview))
        .unwrap();
    assert_eq!(
        listed.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [id.as_str()]
    );
    // Minimum necessary: a clinical note is built from medications a nurse's role may not read,
    // so nurses neither see it listed nor open it.
    let listed = pipeline
        .list_drafts(&principal(Role::Nurse), Some(DraftStatus::AwaitingReview))
        .unwrap();
    assert!(listed.is_empty());
    let err = pipeline
        .read_draft(&principal(Role::Nurse), &id)
        .err()
        .unwrap();
    assert_eq!(err.status(), 403);
    assert!(matches!(
        pipeline.list_drafts(&principal(Role::Auditor), None),
        Err(AgentError::Denied(_))
    ));

    // A nurse may not sign; a coder may not edit a clinical note.
    assert!(pipeline.read_draft(&clinician, &id).is_ok());
    let err = pipeline
        .decide_draft(&principal(Role::Nurse), &id, ReviewDecision::Approve)
        .err()
        .unwrap();
    assert_eq!(err.status(), 403);
    let err = pipeline
        .edit_draft(&principal(Role::Coder), &id, json!("x"))
        .err()
        .unwrap();
    assert_eq!(err.status(), 403);

    let edited = pipeline
        .edit_draft(
            &clinician,
            &id,
            json!({"label": "human written", "text": "S: knee pain."}),
        )
        .unwrap();
    assert_eq!(
        edited.body["label"], AI_LABEL,
        "the label stays whatever the edit"
    );
    assert_eq!(edited.body["edits"].as_array().unwrap().len(), 1);

    let signed = pipeline
        .decide_draft(&clinician, &id, ReviewDecision::Approve)
        .unwrap();
    assert_eq!(signed.draft.status, DraftStatus::Signed);
    assert_eq!(
        signed.draft.reviewed_by.as_deref(),
        Some(clinician.user_id.as_str())
    );
    assert!(signed.draft.reviewed_at.is_some());
    assert_eq!(signed.body["label"], AI_LABEL);
    let again = pipeline
        .decide_draft(&clinician, &id, ReviewDecision::Reject)
        .err()
        .unwrap();
    assert_eq!(again.status(), 409, "a signed draft stays signed");
    assert!(pipeline.edit_draft(&clinician, &id, json!("late")).is_err());

    let trail = actions(&fx.audit);
    assert!(
        trail
            .iter()
            .any(|(a, d)| *a == Action::DraftReviewed && d.ends_with("edited"))
    );
    assert!(
        trail
            .iter()
            .any(|(a, d)| *a == Action::DraftSigned && d.ends_with("signed"))
    );
    let denials = trail
        .iter()
        .filter(|(a, d)| *a == Action::Denial && d.starts_with("draft review"))
        .count();
    assert_eq!(
        denials, 6,
        "list, read, sign, edit refusals and the late decision and edit are audited"
    );
}

#[tokio::test]
async fn a_rejected_draft_records_its_reviewer_and_bad_ids_are_refused() {
    let fx = fixture();
    let (patient, _) = import(&fx, &synthea_bundles()[1]);
    let mock = MockUpstream::start().await.unwrap();
    let pipeline = pipeline(&fx, anthropic(&mock), true);
    let catalog = Catalog::builtin().unwrap();
    let clinician = principal(Role::Clinician);
    let run = pipeline
        .run(
            &clinician,
            TaskInput {
                task: catalog.task("clinical-note").unwrap(),
                patient_id: &patient,
                text: "[doctor] cough.",
            },
        )
        .await
        .unwrap();
    let id = run.draft_id.unwrap();
    let rejected = pipeline
        .decide_draft(&clinician, &id, ReviewDecision::Reject)
        .unwrap();
    assert_eq!(rejected.draft.status, DraftStatus::Rejected);
    assert!(rejected.draft.reviewed_at.is_some());
    assert_eq!(
        pipeline
            .read_draft(&clinician, "../etc")
            .err()
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        pipeline
            .read_draft(&clinician, "00ff")
            .err()
            .unwrap()
            .status(),
        404
    );
}
