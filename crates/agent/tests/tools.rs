//! The admin task's tools against the mock upstream, scripted to call them with the
//! placeholders it was sent: arguments are restored inside, the tools run on the local store,
//! results go back de-identified; callers without permission, other patients and tools the task
//! does not allow are refused and audited; and injections in dialogues, notes and tool results
//! never make a tool run.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::*;
use phigate_agent::{AgentError, Catalog, TaskInput};
use phigate_audit::Action;
use phigate_auth::{Principal, Role};
use phigate_llm::mock::MockUpstream;
use phigate_store::{Slot, SlotStatus};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

const FRONT_DESK: &[&str] = &[
    "task/admin",
    "user/Patient.r",
    "user/Slot.r",
    "user/Appointment.c",
    "user/Coverage.r",
    "user/Claim.r",
    "user/ExplanationOfBenefit.r",
];

fn add_slots(fx: &Fixture) {
    let at = |days: i64| {
        let t = OffsetDateTime::now_utc() + Duration::days(days);
        format!(
            "{:04}-{:02}-{:02}T09:00:00Z",
            t.year(),
            u8::from(t.month()),
            t.day()
        )
    };
    let slots: Vec<Slot> = (1..=3)
        .map(|i| Slot {
            id: format!("slot-{i}"),
            start: at(i),
            end: at(i).replace("T09", "T10"),
            service: "primary-care".into(),
            status: SlotStatus::Free,
        })
        .collect();
    fx.store.put_slots(TENANT, &slots).unwrap();
}

/// The placeholder the model was given for the patient's id (runs are deterministic, so a
/// first run shows which placeholder the next one will carry).
async fn patient_placeholder(fx: &Fixture, patient: &str, who: &Principal) -> String {
    let mock = MockUpstream::start().await.unwrap();
    let catalog = Catalog::builtin().unwrap();
    let run = pipeline(fx, anthropic(&mock), true)
        .run(
            who,
            TaskInput {
                task: catalog.task("admin").unwrap(),
                patient_id: patient,
                text: "When can I come in?",
            },
        )
        .await
        .unwrap();
    let context = context_sent(&run.outbound);
    let id = context["patient"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("[ID_"), "the id went out as a placeholder");
    id
}

async fn admin(
    fx: &Fixture,
    mock: &MockUpstream,
    who: &Principal,
    patient: &str,
    q: &str,
) -> Result<phigate_agent::TaskRun, AgentError> {
    let catalog = Catalog::builtin().unwrap();
    pipeline(fx, anthropic(mock), true)
        .run(
            who,
            TaskInput {
                task: catalog.task("admin").unwrap(),
                patient_id: patient,
                text: q,
            },
        )
        .await
}

fn appointments(fx: &Fixture, patient: &str) -> usize {
    let r = fx.store.patient_ref(TENANT, patient);
    fx.store
        .load_patient(TENANT, &r)
        .unwrap()
        .iter()
        .filter(|x| x.resource_type == "Appointment")
        .count()
}

fn tool_outcomes(fx: &Fixture) -> Vec<String> {
    actions(&fx.audit)
        .into_iter()
        .filter(|(a, _)| *a == Action::ToolCall)
        .map(|(_, d)| d)
        .collect()
}

#[tokio::test]
async fn scheduling_finds_and_books_a_slot_with_the_patients_placeholder() {
    let fx = fixture();
    add_slots(&fx);
    let (patient, _) = import(&fx, &synthea_bundles()[14]);
    let desk = with_scopes(Role::Clinician, FRONT_DESK);
    let pid = patient_placeholder(&fx, &patient, &desk).await;

    let mock = MockUpstream::start().await.unwrap();
    mock.push(calls(&[(
        "find_slots",
        json!({"patient": pid, "service": "primary-care"}),
    )]));
    mock.push(calls(&[(
        "book_slot",
        json!({"patient": pid, "slot_id": "slot-2"}),
    )]));
    mock.push(says("You are booked. Reply to [ID_99] never."));
    let run = admin(
        &fx,
        &mock,
        &desk,
        &patient,
        "Please book me the second free slot.",
    )
    .await
    .unwrap();

    assert_eq!(
        appointments(&fx, &patient),
        1,
        "the appointment is in the sealed record"
    );
    let free = fx.store.free_slots(TENANT, None, "0", "9", 10).unwrap();
    assert_eq!(
        free.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["slot-1", "slot-3"]
    );
    assert_eq!(
        tool_outcomes(&fx),
        ["tool=find_slots outcome=ok", "tool=book_slot outcome=ok"]
    );
    let received = mock.received();
    assert_eq!(received.len(), 3);
    for request in &received {
        let body = String::from_utf8(request.body.to_vec()).unwrap();
        assert!(
            !body.contains(&patient),
            "the patient's id reached the upstream"
        );
    }
    let booked = tool_results(&received[2]);
    let text = booked[0]["content"].as_str().unwrap();
    assert!(
        text.starts_with("<tool_data>") && text.contains("booked"),
        "fenced result"
    );
    assert!(
        text.contains("[ACCOUNT_"),
        "the appointment id goes out as a placeholder"
    );
    assert_eq!(
        run.unknown_placeholders.len(),
        0,
        "invented placeholders are removed before restoring"
    );
    assert!(run.response.text().contains("[removed]"));
    assert!(
        run.draft_id.is_none(),
        "front-desk answers need no signature"
    );
}

#[tokio::test]
async fn billing_questions_restore_the_claim_placeholder_inside_the_gateway() {
    let fx = fixture();
    let (patient, bytes) = import(&fx, &synthea_bundles()[14]);
    let desk = with_scopes(Role::Clinician, FRONT_DESK);
    let pid = patient_placeholder(&fx, &patient, &desk).await;

    let mock = MockUpstream::start().await.unwrap();
    mock.push(calls(&[
        ("get_coverage", json!({"patient": pid})),
        ("list_claims", json!({"patient": pid, "limit": 3})),
    ]));
    mock.push(calls(&[(
        "get_explanation_of_benefit",
        json!({"patient": pid, "claim_id": "[ACCOUNT_1]"}),
    )]));
    mock.push(says("Your last claim was paid."));
    admin(
        &fx,
        &mock,
        &desk,
        &patient,
        "Was my last claim paid, and who insures me?",
    )
    .await
    .unwrap();

    let received = mock.received();
    let eob = tool_results(&received[2]);
    assert_eq!(
        eob[0]["is_error"],
        Value::Null,
        "the claim was found from its placeholder"
    );
    let text = eob[0]["content"].as_str().unwrap();
    assert!(text.contains("\"outcome\"") && text.contains("\"paid\""));
    let bundle: Value = serde_json::from_slice(&bytes).unwrap();
    let claim_ids: Vec<String> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Claim")
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!claim_ids.is_empty());
    for request in &received {
        let body = String::from_utf8(request.body.to_vec()).unwrap();
        assert!(
            claim_ids.iter().all(|id| !body.contains(id.as_str())),
            "a claim id reached the upstream"
        );
    }
    let coverage = tool_results(&received[1]);
    assert!(coverage[0]["content"].as_str().unwrap().contains("payer"));
}

#[tokio::test]
async fn tools_refuse_callers_without_permission_and_other_patients() {
    let fx = fixture();
    add_slots(&fx);
    let (patient, _) = import(&fx, &synthea_bundles()[14]);
    let (other, _) = import(&fx, &synthea_bundles()[15]);
    // A front desk without the scheduling scopes.
    let limited = with_scopes(
        Role::Clinician,
        &["task/admin", "user/Patient.r", "user/Coverage.r"],
    );
    let pid = patient_placeholder(&fx, &patient, &limited).await;

    let mock = MockUpstream::start().await.unwrap();
    mock.push(calls(&[
        ("book_slot", json!({"patient": pid, "slot_id": "slot-1"})),
        ("get_coverage", json!({"patient": other})),
        ("get_coverage", json!({"patient": "[NAME_2]"})),
        (
            "get_record",
            json!({"patient": pid, "resource_type": "Condition"}),
        ),
        ("rm_rf", json!({})),
    ]));
    mock.push(says("I cannot do that."));
    admin(&fx, &mock, &limited, &patient, "Book me in.")
        .await
        .unwrap();

    assert_eq!(
        appointments(&fx, &patient) + appointments(&fx, &other),
        0,
        "nothing was booked"
    );
    assert_eq!(
        tool_outcomes(&fx),
        [
            "tool=book_slot outcome=denied reason=caller lacks user/Slot.r",
            "tool=get_coverage outcome=denied reason=patient outside this run",
            "tool=get_coverage outcome=denied reason=patient outside this run",
            "tool=get_record outcome=denied reason=tool not allowed for this task",
            "tool=unknown outcome=denied reason=tool not allowed for this task",
        ]
    );
    let results = tool_results(&mock.received()[1]);
    assert!(results.iter().all(|r| r["is_error"] == true));
}

#[tokio::test]
async fn without_a_baa_the_admin_task_is_refused_not_degraded() {
    let fx = fixture();
    let (patient, _) = import(&fx, &synthea_bundles()[14]);
    let mock = MockUpstream::start().await.unwrap();
    let catalog = Catalog::builtin().unwrap();
    let err = pipeline(&fx, anthropic(&mock), false)
        .run(
            &with_scopes(Role::Clinician, FRONT_DESK),
            TaskInput {
                task: catalog.task("admin").unwrap(),
                patient_id: &patient,
                text: "hi",
            },
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(err, AgentError::DisclosureRefused(_)), "{err}");
    assert!(mock.received().is_empty());
}

#[tokio::test]
async fn the_loop_stops_at_its_step_limit_without_running_the_last_call() {
    let fx = fixture();
    add_slots(&fx);
    let (patient, _) = import(&fx, &synthea_bundles()[14]);
    let desk = with_scopes(Role::Clinician, FRONT_DESK);
    let pid = patient_placeholder(&fx, &patient, &desk).await;
    let mock = MockUpstream::start().await.unwrap();
    for _ in 0..6 {
        mock.push(calls(&[("find_slots", json!({"patient": pid}))]));
    }
    let err = admin(&fx, &mock, &desk, &patient, "Any slots?")
        .await
        .err()
        .unwrap();
    assert!(matches!(err, AgentError::LoopBound("step")), "{err}");
    assert_eq!(mock.received().len(), 6, "max_steps model calls, no more");
    let outcomes = tool_outcomes(&fx);
    assert_eq!(outcomes.len(), 6);
    assert!(outcomes[5].contains("step limit"));
}

#[tokio::test]
async fn the_loop_stops_at_its_token_and_time_limits() {
    let fx = fixture();
    let (patient, _) = import(&fx, &synthea_bundles()[14]);
    let nurse = principal(Role::Nurse);
    let tight = |limits: &str| {
        let text = phigate_agent::BUILTIN_POLICY.replacen(
            "max_steps = 4\nmax_total_tokens = 20000\nmax_seconds = 60",
            limits,
            1,
        );
        assert_ne!(
            text,
            phigate_agent::BUILTIN_POLICY,
            "the triage limits were found"
        );
        Catalog::from_toml(&text).unwrap()
    };

    // Every scripted answer reports 150 tokens; a budget of 100 is spent by the first.
    let mock = MockUpstream::start().await.unwrap();
    mock.push(says(r#"{"esi": 3, "rationale": "r", "red_flags": []}"#));
    let mut p = pipeline(&fx, anthropic(&mock), true);
    p.catalog = std::sync::Arc::new(tight(
        "max_steps = 4\nmax_total_tokens = 100\nmax_seconds = 60",
    ));
    let task = p.catalog.task("triage").unwrap().clone();
    let err = p
        .run(
            &nurse,
            TaskInput {
                task: &task,
                patient_id: &patient,
                text: "cough",
            },
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(err, AgentError::LoopBound("token")), "{err}");

    // An upstream slower than the task's time limit.
    let mock = MockUpstream::start().await.unwrap();
    mock.push(phigate_llm::mock::MockResponse::Delay(
        std::time::Duration::from_secs(5),
        Box::new(says(r#"{"esi": 3, "rationale": "r", "red_flags": []}"#)),
    ));
    let mut p = pipeline(&fx, anthropic(&mock), true);
    p.catalog = std::sync::Arc::new(tight(
        "max_steps = 4\nmax_total_tokens = 20000\nmax_seconds = 1",
    ));
    let task = p.catalog.task("triage").unwrap().clone();
    let started = std::time::Instant::now();
    let err = p
        .run(
            &nurse,
            TaskInput {
                task: &task,
                patient_id: &patient,
                text: "cough",
            },
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(err, AgentError::LoopBound("time")), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    assert!(
        actions(&fx.audit)
            .iter()
            .any(|(a, d)| *a == Action::Response && d.contains("time limit"))
    );
}

#[tokio::test]
async fn a_record_type_padded_with_spaces_or_unknown_cannot_slip_past_the_scope_check() {
    let fx = fixture();
    let (patient, _) = import(&fx, &synthea_bundles()[3]);
    let nurse = principal(Role::Nurse);
    let catalog = Catalog::builtin().unwrap();
    let triage = |mock: &MockUpstream| {
        let pipeline = pipeline(&fx, anthropic(mock), true);
        let nurse = nurse.clone();
        let patient = patient.clone();
        let task = catalog.task("triage").unwrap().clone();
        async move {
            pipeline
                .run(
                    &nurse,
                    TaskInput {
                        task: &task,
                        patient_id: &patient,
                        text: "Cough for three days.",
                    },
                )
                .await
                .unwrap()
        }
    };
    let answer = r#"{"esi": 4, "rationale": "stable", "red_flags": []}"#;
    let first = MockUpstream::start().await.unwrap();
    first.push(says(answer));
    let run = triage(&first).await;
    let pid = context_sent(&run.outbound)["patient"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A nurse holds no MedicationRequest scope, however the type is spelled.
    let mock = MockUpstream::start().await.unwrap();
    mock.push(calls(&[
        (
            "get_record",
            json!({"patient": pid, "resource_type": "MedicationRequest "}),
        ),
        (
            "get_record",
            json!({"patient": pid, "resource_type": " MedicationRequest"}),
        ),
        (
            "get_record",
            json!({"patient": pid, "resource_type": "Nonsense"}),
        ),
        (
            "get_record",
            json!({"patient": pid, "resource_type": " Condition "}),
        ),
    ]));
    mock.push(says(answer));
    let run = triage(&mock).await;
    let outcomes: Vec<String> = run
        .report
        .tool_calls
        .iter()
        .map(|c| format!("{} {}", c.tool, c.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            "get_record denied",
            "get_record denied",
            "get_record denied",
            "get_record ok"
        ]
    );
}
