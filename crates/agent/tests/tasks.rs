//! Coding and triage end to end against the loopback mock upstream, scripted to answer as the
//! model would: the coding checks drop invented and non-billable codes and report them, and the
//! triage safety rules raise a level the model set too low.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::*;
use phigate_agent::{Catalog, TaskInput};
use phigate_audit::Action;
use phigate_auth::Role;
use phigate_llm::mock::MockUpstream;
use serde_json::{Value, json};

fn aci_note(id: &str) -> String {
    let path = repo_root().join(format!("testdata/aci-bench/{id}.json"));
    let value: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    value["note"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn coding_drops_an_invented_and_a_non_billable_code_and_reports_both() {
    let fx = fixture();
    let (patient, _) = import(&fx, &synthea_bundles()[0]);
    let mock = MockUpstream::start().await.unwrap();
    let answer = json!({"codes": [
        {"code": "I50.9", "description": "Heart failure, unspecified",
         "quote": "congestive heart failure", "confidence": 0.9},
        {"code": "i10", "quote": "Hypertension.", "confidence": 0.85},
        {"code": "F32", "description": "Depressive episode", "quote": "depression", "confidence": 0.6},
        {"code": "X99.123", "description": "made up", "quote": "depression", "confidence": 0.4},
        {"code": "R07.9", "quote": "crushing substernal pain", "confidence": 0.3}
    ]});
    mock.push(says(&format!("Suggested codes:\n```json\n{answer}\n```")));
    let catalog = Catalog::builtin().unwrap();
    let note = aci_note("D2N001");
    let run = pipeline(&fx, anthropic(&mock), true)
        .run(
            &principal(Role::Coder),
            TaskInput {
                task: catalog.task("coding").unwrap(),
                patient_id: &patient,
                text: &note,
            },
        )
        .await
        .unwrap();

    let output = run.output.unwrap();
    let kept: Vec<&str> = output["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(kept, ["I50.9", "I10"]);
    let dropped: Vec<(String, &str)> = run
        .report
        .dropped_codes
        .iter()
        .map(|d| (d.code.clone(), d.reason))
        .collect();
    assert_eq!(
        dropped,
        [
            ("F32".to_owned(), "not-billable"),
            ("X99.123".to_owned(), "unknown-code"),
            ("R07.9".to_owned(), "quote-not-in-note"),
        ]
    );
    assert_eq!(
        output["dropped"].as_array().unwrap().len(),
        3,
        "reported in the output too"
    );
    assert!(run.draft_id.is_some(), "coding suggestions wait for review");
    let sent = String::from_utf8(mock.received()[0].body.to_vec())
        .unwrap()
        .to_lowercase();
    assert!(
        !sent.contains("collins"),
        "the note's patient name reached the upstream"
    );
}

#[tokio::test]
async fn a_coding_answer_that_breaks_the_schema_is_refused_and_audited() {
    let fx = fixture();
    let (patient, _) = import(&fx, &synthea_bundles()[0]);
    let mock = MockUpstream::start().await.unwrap();
    mock.push(says(r#"{"codes": [{"code": "I10", "confidence": 7}]}"#));
    let catalog = Catalog::builtin().unwrap();
    let err = pipeline(&fx, anthropic(&mock), true)
        .run(
            &principal(Role::Coder),
            TaskInput {
                task: catalog.task("coding").unwrap(),
                patient_id: &patient,
                text: "Hypertension.",
            },
        )
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "the model's answer is not valid: $.codes[0]: missing required quote"
    );
    assert_eq!(err.status(), 502);
    assert!(
        actions(&fx.audit)
            .iter()
            .any(|(a, d)| *a == Action::Response && d.starts_with("output schema"))
    );
}

async fn triage(complaint: &str, model_esi: u8) -> Value {
    let fx = fixture();
    let (patient, _) = import(&fx, &synthea_bundles()[3]);
    let mock = MockUpstream::start().await.unwrap();
    mock.push(says(
        &json!({"esi": model_esi, "rationale": "stable", "red_flags": []}).to_string(),
    ));
    let catalog = Catalog::builtin().unwrap();
    let run = pipeline(&fx, anthropic(&mock), true)
        .run(
            &principal(Role::Nurse),
            TaskInput {
                task: catalog.task("triage").unwrap(),
                patient_id: &patient,
                text: complaint,
            },
        )
        .await
        .unwrap();
    assert!(
        run.draft_id.is_some(),
        "triage needs a clinician's confirmation"
    );
    run.output.unwrap()
}

#[tokio::test]
async fn triage_safety_rules_raise_the_acuity_when_the_model_answers_too_low() {
    let out = triage(
        "Crushing chest pain for an hour. BP 84/52, HR 118, SpO2 95%.",
        4,
    )
    .await;
    assert_eq!(out["esi"], 1);
    assert_eq!(out["model_esi"], 4);
    assert_eq!(out["raised_by_rules"], true);
    let rules: Vec<&str> = out["safety_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"chest-pain-hypotension") && rules.contains(&"hypotension"));
    assert_eq!(out["needs_confirmation"], true);
    assert!(
        out["label"]
            .as_str()
            .unwrap()
            .starts_with("Decision support")
    );

    let out = triage("Short of breath since morning, SpO2 87% on room air.", 5).await;
    assert_eq!(
        (out["esi"].as_u64(), out["model_esi"].as_u64()),
        (Some(2), Some(5))
    );

    let out = triage(
        "Sudden facial droop and slurred speech since 10 minutes.",
        3,
    )
    .await;
    assert_eq!(out["esi"], 2);
    assert_eq!(out["safety_rules"][0]["rule"], "stroke-signs");
}

#[tokio::test]
async fn triage_rules_never_lower_what_the_model_said() {
    let out = triage("Sprained ankle, denies chest pain. BP 128/80, SpO2 99%.", 2).await;
    assert_eq!(out["esi"], 2);
    assert_eq!(out["raised_by_rules"], false);
    assert!(out["safety_rules"].as_array().unwrap().is_empty());
}
