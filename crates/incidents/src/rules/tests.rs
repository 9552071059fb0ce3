use phigate_audit::Actor;
use time::macros::{datetime, offset};

use super::*;

fn event(user: &str, action: Action, outcome: Outcome, at: i64) -> Observed {
    let actor = Actor {
        user_id: user.into(),
        role: "clinician".into(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, action, outcome);
    // 2026-03-02 10:00 UTC, a working hour, plus `at` seconds.
    event.time = datetime!(2026-03-02 10:00 UTC) + time::Duration::seconds(at);
    Observed {
        event,
        store_failed: false,
    }
}

fn read(user: &str, patient: usize, at: i64) -> Observed {
    let mut observed = event(user, Action::Read, Outcome::Success, at);
    observed.event.patient_ref = Some(format!("{patient:064x}"));
    observed
}

fn rules(fired: &[Firing]) -> Vec<Rule> {
    fired.iter().map(|f| f.rule).collect()
}

#[test]
fn one_user_reading_many_patients_fires_at_the_threshold_and_not_before() {
    let mut engine = Engine::new(RuleConfig {
        bulk_read_patients: 5,
        ..RuleConfig::default()
    });
    for patient in 0..4 {
        assert!(engine.observe(&read("u-1", patient, 10)).is_empty());
        // Rereading the same patient does not count twice.
        assert!(engine.observe(&read("u-1", patient, 11)).is_empty());
        // Another user's reads are theirs.
        assert!(engine.observe(&read("u-2", patient + 10, 12)).is_empty());
    }
    let fired = engine.observe(&read("u-1", 4, 20));
    assert_eq!(rules(&fired), [Rule::BulkPatientRead]);
    assert_eq!(fired[0].subject, "u-1");
    assert_eq!(fired[0].patient_refs.len(), 5);
}

#[test]
fn reads_spread_wider_than_the_window_do_not_fire() {
    let mut engine = Engine::new(RuleConfig {
        bulk_read_patients: 3,
        window_secs: 60,
        ..RuleConfig::default()
    });
    for (patient, at) in [(0, 0), (1, 50), (2, 110), (3, 170)] {
        assert!(engine.observe(&read("u-1", patient, at)).is_empty());
    }
}

#[test]
fn failed_sign_ins_fire_per_account_and_across_the_tenant() {
    let mut engine = Engine::new(RuleConfig {
        failed_sign_ins_per_user: 3,
        failed_sign_ins_overall: 5,
        ..RuleConfig::default()
    });
    let mut fired = Vec::new();
    for n in 0..3 {
        fired.extend(engine.observe(&event("u-9", Action::SignIn, Outcome::Denied, n)));
    }
    assert_eq!(rules(&fired), [Rule::FailedSignIns]);
    for n in 0..2 {
        fired.extend(engine.observe(&event("unknown", Action::SignIn, Outcome::Denied, n)));
    }
    assert_eq!(
        rules(&fired),
        [Rule::FailedSignIns, Rule::FailedSignInsOverall]
    );
    // Successful sign-ins count for nothing.
    let ok = engine.observe(&event("u-9", Action::SignIn, Outcome::Success, 9));
    assert!(ok.is_empty());
}

#[test]
fn a_leak_gate_block_an_injection_and_a_safety_alert_each_fire_at_once() {
    let mut engine = Engine::new(RuleConfig::default());
    let mut blocked = event("u-1", Action::Denial, Outcome::Denied, 0);
    blocked.event.detail = Some("egress gate blocked: SSN".into());
    let fired = engine.observe(&blocked);
    assert_eq!(rules(&fired), [Rule::LeakGateBlock]);
    assert!(fired[0].summary.contains("SSN"));

    let mut injected = event("u-1", Action::Denial, Outcome::Denied, 1);
    injected.event.detail =
        Some("refused: the input reads as a prompt injection (override)".into());
    assert_eq!(rules(&engine.observe(&injected)), [Rule::InjectionDetected]);

    let mut tool = event("u-1", Action::ToolCall, Outcome::Success, 2);
    tool.event.detail = Some("result withheld: it reads as a prompt injection".into());
    let fired = engine.observe(&tool);
    assert!(fired[0].summary.starts_with("a tool result"));

    let alert = read("u-1", 7, 3);
    let mut alert = alert;
    alert.event.action = Action::SafetyAlert;
    assert_eq!(rules(&engine.observe(&alert)), [Rule::SafetyAlert]);
}

#[test]
fn a_leak_gate_detail_that_is_not_an_entity_tag_is_not_repeated() {
    let mut engine = Engine::new(RuleConfig::default());
    let mut blocked = event("u-1", Action::Denial, Outcome::Denied, 0);
    blocked.event.detail = Some("egress gate blocked: Jane Doe".into());
    let fired = engine.observe(&blocked);
    assert!(fired[0].summary.contains("UNKNOWN"));
    assert!(!fired[0].summary.contains("Jane"));
}

#[test]
fn a_burst_of_denials_fires_once_per_burst() {
    let mut engine = Engine::new(RuleConfig {
        denial_burst: 4,
        ..RuleConfig::default()
    });
    let fired: Vec<Firing> = (0..9)
        .flat_map(|n| engine.observe(&event("u-3", Action::Denial, Outcome::Denied, n)))
        .collect();
    assert_eq!(rules(&fired), [Rule::DenialBurst, Rule::DenialBurst]);
}

#[test]
fn access_outside_local_working_hours_fires_for_people_not_services() {
    let mut engine = Engine::new(RuleConfig {
        unusual_hours: true,
        work_start_hour: 8,
        work_end_hour: 18,
        utc_offset: offset!(-5),
        ..RuleConfig::default()
    });
    // 10:00 UTC is 05:00 at UTC-5: before work.
    let fired = engine.observe(&read("u-1", 1, 0));
    assert_eq!(rules(&fired), [Rule::UnusualHours]);
    let mut service = read("svc", 1, 0);
    service.event.actor.role = "service".into();
    assert!(engine.observe(&service).is_empty());
    // 15:00 UTC is 10:00 local.
    assert!(engine.observe(&read("u-1", 2, 5 * 3600)).is_empty());
}

#[test]
fn an_audit_store_failure_fires_critical_and_incident_entries_feed_nothing() {
    let mut engine = Engine::new(RuleConfig::default());
    let mut failed = read("u-1", 1, 0);
    failed.store_failed = true;
    let fired = engine.observe(&failed);
    assert_eq!(rules(&fired), [Rule::AuditStoreFailure]);
    assert_eq!(fired[0].rule.severity().as_str(), "critical");
    let mut own = event("local-operator", Action::Incident, Outcome::Success, 0);
    own.event.detail = Some("egress gate blocked: SSN".into());
    assert!(engine.observe(&own).is_empty());
}
