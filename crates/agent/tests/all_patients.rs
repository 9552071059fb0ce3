//! Every task over every shipped Synthea patient, the mock upstream scripted to answer as the
//! model would (tool calls with the placeholders it was sent included): no known identifier of
//! any patient reaches the upstream, and what is restored is that patient's.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::*;
use phigate_agent::{Catalog, TaskInput};
use phigate_auth::Role;
use phigate_fhir::{Bundle, known_phi};
use phigate_llm::mock::MockUpstream;
use serde_json::json;

const FRONT_DESK: &[&str] = &[
    "task/admin",
    "user/Patient.r",
    "user/Coverage.r",
    "user/Claim.r",
    "user/ExplanationOfBenefit.r",
];

/// Whole-token presence of `value` in `text`, both folded to lower-case alphanumeric words, as
/// the egress gate compares.
fn contains_token(text: &str, value: &str) -> bool {
    let words = |s: &str| {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let (text, value) = (words(text), words(value));
    !value.is_empty() && value.concat().len() >= 4 && text.windows(value.len()).any(|w| w == value)
}

#[tokio::test]
async fn every_task_over_every_shipped_patient_keeps_their_identifiers_inside() {
    let fx = fixture();
    let catalog = Catalog::builtin().unwrap();
    let mock = MockUpstream::start().await.unwrap();
    let pipeline = pipeline(&fx, anthropic(&mock), true);
    let desk = with_scopes(Role::Clinician, FRONT_DESK);
    let (coder, nurse) = (principal(Role::Coder), principal(Role::Nurse));

    for (i, path) in synthea_bundles().iter().enumerate() {
        let (patient, bytes) = import(&fx, path);
        let record = Bundle::from_slice(&bytes)
            .unwrap()
            .into_patient_record()
            .unwrap();
        let before = mock.received().len();

        let run = |task: &'static str, who, text: &'static str| {
            let pipeline = &pipeline;
            let catalog = &catalog;
            let patient = patient.clone();
            async move {
                pipeline
                    .run(
                        who,
                        TaskInput {
                            task: catalog.task(task).unwrap(),
                            patient_id: &patient,
                            text,
                        },
                    )
                    .await
            }
        };
        let clinician = principal(Role::Clinician);
        run(
            "clinical-note",
            &clinician,
            "[doctor] how are you feeling today?",
        )
        .await
        .unwrap();
        mock.push(says(
            r#"{"codes": [{"code": "I10", "quote": "hypertension", "confidence": 0.8}]}"#,
        ));
        let coding = run("coding", &coder, "Assessment: hypertension.")
            .await
            .unwrap();
        assert_eq!(
            coding.output.unwrap()["codes"][0]["code"],
            "I10",
            "bundle {i}"
        );
        mock.push(says(r#"{"esi": 5, "rationale": "r", "red_flags": []}"#));
        let triage = run("triage", &nurse, "Cough, SpO2 89%.").await.unwrap();
        assert_eq!(
            triage.output.unwrap()["esi"],
            2,
            "bundle {i}: the SpO2 rule raised the level"
        );

        // The admin task: a first run shows the patient's id placeholder, the second calls
        // tools with it.
        let probe = run("admin", &desk, "Who insures me?").await.unwrap();
        let pid = context_sent(&probe.outbound)["patient"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        mock.push(calls(&[
            ("get_coverage", json!({"patient": pid})),
            ("list_claims", json!({"patient": pid})),
        ]));
        mock.push(says("Here is your coverage, [NAME_1]."));
        let admin = run("admin", &desk, "Who insures me?").await.unwrap();
        let outcomes: Vec<&str> = admin.report.tool_calls.iter().map(|c| c.outcome).collect();
        assert_eq!(outcomes, ["ok", "ok"], "bundle {i}");
        let given = record.patient["name"][0]["given"][0].as_str().unwrap();
        assert!(
            admin.response.text().contains(given),
            "bundle {i}: the answer names the patient once restored"
        );

        let received = mock.received();
        assert_eq!(received.len() - before, 6, "bundle {i}: six model calls");
        for request in &received[before..] {
            let sent = String::from_utf8_lossy(&request.body);
            for (kind, value) in known_phi(&record).values() {
                assert!(
                    !contains_token(&sent, value),
                    "bundle {i}: a known {} reached the upstream",
                    kind.tag()
                );
            }
            assert!(
                !sent.contains(&patient),
                "bundle {i}: the patient id reached the upstream"
            );
        }
    }
}
