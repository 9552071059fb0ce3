//! The `/v1/audit` routes: auditors only, every use recorded, patients only as HMAC
//! references, FHIR export in the IHE BALP shapes, and proofs that check out.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::*;
use phigate_audit::{
    Action, Actor, AuditEvent, Hash, Outcome, verify_consistency, verify_inclusion,
};
use phigate_auth::Role;
use serde_json::Value;

const PATIENT_ID: &str = "mrn-000123";

/// A gateway whose log holds a read and a disclosure for the patient, and a sign-in.
async fn with_history() -> Harness {
    let gw = start(|_| {}).await;
    let patient = patient_ref(TENANT, PATIENT_ID);
    let actor = Actor {
        user_id: "dr-who".into(),
        role: "clinician".into(),
        client_id: None,
        address: None,
    };
    for action in [Action::SignIn, Action::Read, Action::Disclosure] {
        let mut event = AuditEvent::new(actor.clone(), action, Outcome::Success);
        if action != Action::SignIn {
            event.patient_ref = Some(patient.clone());
            event.task = Some("soap-note".into());
            event.purpose = Some("treatment".into());
        }
        if action == Action::Disclosure {
            event.provider = Some("anthropic".into());
            event.detail = Some("mode=placeholders".into());
        }
        gw.audit.append(event).unwrap();
    }
    gw.audit.checkpoint().unwrap();
    gw
}

async fn get(gw: &Harness, role: Role, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", gw.url))
        .header("x-api-key", gw.token(role))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn only_the_auditor_role_may_use_the_audit_routes() {
    let gw = with_history().await;
    for path in [
        "/v1/audit/entries",
        "/v1/audit/export?format=fhir",
        "/v1/audit/disclosures?patient=mrn-000123",
        "/v1/audit/checkpoint",
        "/v1/audit/proof/inclusion?seq=0&size=3",
    ] {
        for role in [Role::Clinician, Role::Admin, Role::Service, Role::Nurse] {
            let response = get(&gw, role, path).await;
            assert_eq!(response.status(), 403, "{path} as {role:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["type"], "permission_error");
        }
        let anonymous = reqwest::get(format!("{}{path}", gw.url)).await.unwrap();
        assert_eq!(anonymous.status(), 401, "{path}");
        assert_eq!(get(&gw, Role::Auditor, path).await.status(), 200, "{path}");
    }
    // Each refusal and each use is on the record.
    let actions = gw.actions();
    assert!(actions.contains(&Action::Denial));
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == Action::AuditAccess)
            .count(),
        5
    );
}

#[tokio::test]
async fn auditors_search_by_user_patient_identifier_action_and_time() {
    let gw = with_history().await;
    let seqs = |body: Value| -> Vec<u64> {
        body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect()
    };
    let body: Value = get(&gw, Role::Auditor, "/v1/audit/entries?patient=mrn-000123")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(body.clone()), [1, 2]);
    assert_eq!(
        body["entries"][0]["event"]["patient_ref"],
        patient_ref(TENANT, PATIENT_ID)
    );
    let body = get(
        &gw,
        Role::Auditor,
        "/v1/audit/entries?user=dr-who&action=disclosure",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(seqs(body), [2]);
    let body = get(&gw, Role::Auditor, "/v1/audit/entries?since=2999-01-01")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(body), Vec::<u64>::new());
    let bad = get(&gw, Role::Auditor, "/v1/audit/entries?action=nonsense").await;
    assert_eq!(bad.status(), 400);
    let bad = get(&gw, Role::Auditor, "/v1/audit/entries?colour=blue").await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn the_fhir_export_is_balp_shaped_ndjson_with_the_patient_only_as_an_hmac() {
    let gw = with_history().await;
    let response = get(&gw, Role::Auditor, "/v1/audit/export?format=fhir").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/fhir+ndjson"
    );
    let text = response.text().await.unwrap();
    assert!(!text.contains(PATIENT_ID), "the identifier was exported");
    let resources: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The three entries, and the export itself, recorded before it ran.
    assert_eq!(resources.len(), 4);
    assert_eq!(resources[3]["subtype"][0]["code"], "audit_access");
    for resource in &resources {
        assert_eq!(resource["resourceType"], "AuditEvent");
    }
    let read = &resources[1];
    assert_eq!(
        read["meta"]["profile"][0],
        "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"
    );
    assert_eq!(read["subtype"][0]["code"], "read");
    let disclosure = &resources[2];
    assert_eq!(
        disclosure["meta"]["profile"][0],
        "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PrivacyDisclosure.Source"
    );
    assert_eq!(disclosure["type"]["code"], "110106");
    assert_eq!(disclosure["subtype"][0]["code"], "disclose");
    assert_eq!(
        disclosure["purposeOfEvent"][0]["coding"][0]["code"],
        "TREAT"
    );
    let patient = &disclosure["entity"][0];
    assert_eq!(patient["role"]["code"], "1");
    assert_eq!(
        patient["what"]["identifier"]["value"],
        patient_ref(TENANT, PATIENT_ID)
    );
    let recipient = disclosure["agent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"]["coding"][0]["code"] == "110152")
        .unwrap();
    assert_eq!(recipient["who"]["display"], "anthropic");
}

#[tokio::test]
async fn the_accounting_of_disclosures_lists_date_recipient_purpose_and_description() {
    let gw = with_history().await;
    let body: Value = get(
        &gw,
        Role::Auditor,
        "/v1/audit/disclosures?patient=mrn-000123",
    )
    .await
    .json()
    .await
    .unwrap();
    let listed = body["disclosures"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["seq"], 2);
    assert_eq!(listed[0]["recipient"], "anthropic");
    assert_eq!(listed[0]["purpose"], "treatment");
    assert!(
        listed[0]["description"]
            .as_str()
            .unwrap()
            .contains("soap-note")
    );
    assert!(listed[0]["date"].as_str().unwrap().ends_with('Z'));
    let other: Value = get(
        &gw,
        Role::Auditor,
        "/v1/audit/disclosures?patient=someone-else",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(other["disclosures"].as_array().unwrap().len(), 0);
    let unnamed = get(&gw, Role::Auditor, "/v1/audit/disclosures").await;
    assert_eq!(unnamed.status(), 400);
}

fn hash(value: &Value) -> Hash {
    let mut out = [0u8; 32];
    hex::decode_to_slice(value.as_str().unwrap(), &mut out).unwrap();
    out
}

#[tokio::test]
async fn proofs_from_the_api_verify_against_the_signed_checkpoint() {
    let gw = with_history().await;
    let checkpoint: Value = get(&gw, Role::Auditor, "/v1/audit/checkpoint")
        .await
        .json()
        .await
        .unwrap();
    let note = phigate_audit::Checkpoint::from_note(checkpoint["note"].as_str().unwrap()).unwrap();
    note.verify(checkpoint["public_key"].as_str().unwrap())
        .unwrap();
    assert_eq!(note.size, 3);

    let proof: Value = get(&gw, Role::Auditor, "/v1/audit/proof/inclusion?seq=1&size=3")
        .await
        .json()
        .await
        .unwrap();
    let path: Vec<Hash> = proof["path"].as_array().unwrap().iter().map(hash).collect();
    assert!(verify_inclusion(
        &hash(&proof["leaf_hash"]),
        1,
        3,
        &path,
        &note.root
    ));

    let proof: Value = get(
        &gw,
        Role::Auditor,
        "/v1/audit/proof/consistency?old=2&new=3",
    )
    .await
    .json()
    .await
    .unwrap();
    let path: Vec<Hash> = proof["path"].as_array().unwrap().iter().map(hash).collect();
    assert!(verify_consistency(
        2,
        3,
        &hash(&proof["old_root"]),
        &note.root,
        &path
    ));

    let outside = get(&gw, Role::Auditor, "/v1/audit/proof/inclusion?seq=9&size=3").await;
    assert_eq!(outside.status(), 400);
}
