//! Every role against every endpoint, task and tool. The expected answers are written here by
//! hand, from what each job needs, not derived from the scopes: a change to a role's scopes that
//! widens or narrows its reach fails this test until the table below agrees.

use super::*;
use crate::Role::{
    self, Admin, Auditor, Billing, Clinician, Coder, Nurse, Patient, Scheduler, Service,
};

const EXPECTED: &[(Target, &str, &[Role])] = &[
    (Endpoint, "POST /v1/messages", &[Clinician, Service]),
    (
        Endpoint,
        "POST /v1/messages/count_tokens",
        &[Clinician, Service],
    ),
    (Endpoint, "GET /v1/models", &[Clinician, Service]),
    (Endpoint, "GET /v1/models/{id}", &[Clinician, Service]),
    (Endpoint, "POST /v1/tasks/clinical-note", &[Clinician]),
    (Endpoint, "POST /v1/tasks/triage", &[Clinician, Nurse]),
    (Endpoint, "POST /v1/tasks/coding", &[Clinician, Coder]),
    (
        Endpoint,
        "POST /v1/tasks/admin",
        &[Clinician, Scheduler, Billing],
    ),
    (Endpoint, "POST /v1/patient/assistant", &[Patient]),
    (Endpoint, "GET /v1/patient/appointments", &[Patient]),
    (Endpoint, "POST /v1/break-glass", &[Clinician]),
    (Endpoint, "GET /v1/drafts", &[Clinician, Nurse, Coder]),
    (Endpoint, "GET /v1/drafts/{id}", &[Clinician, Nurse, Coder]),
    (Endpoint, "PATCH /v1/drafts/{id}", &[Clinician]),
    (Endpoint, "POST /v1/drafts/{id}/approve", &[Clinician]),
    (Endpoint, "POST /v1/drafts/{id}/reject", &[Clinician]),
    (Endpoint, "GET /v1/audit/entries", &[Auditor]),
    (Endpoint, "GET /v1/audit/disclosures", &[Auditor]),
    (Endpoint, "GET /v1/audit/checkpoint", &[Auditor]),
    (Endpoint, "GET /v1/audit/proof/inclusion", &[Auditor]),
    (Endpoint, "GET /v1/audit/proof/consistency", &[Auditor]),
    (Endpoint, "GET /v1/audit/export", &[Auditor]),
    (Endpoint, "POST /v1/audit/search", &[Auditor]),
    (Endpoint, "POST /v1/audit/disclosures", &[Auditor]),
    (Endpoint, "GET /v1/audit/status", &[Auditor]),
    (Endpoint, "GET /v1/admin/users", &[Admin]),
    (Endpoint, "POST /v1/admin/users", &[Admin]),
    (
        Endpoint,
        "POST /v1/admin/users/{username}/disable",
        &[Admin],
    ),
    (Endpoint, "POST /v1/admin/users/{username}/enable", &[Admin]),
    (
        Endpoint,
        "POST /v1/admin/users/{username}/reset-mfa",
        &[Admin],
    ),
    (Endpoint, "GET /v1/admin/clients", &[Admin]),
    (Endpoint, "POST /v1/admin/clients", &[Admin]),
    (Endpoint, "POST /v1/admin/clients/{id}/revoke", &[Admin]),
    (Endpoint, "GET /v1/admin/keys", &[Admin]),
    (Endpoint, "POST /v1/admin/keys/rotate", &[Admin]),
    (
        Endpoint,
        "GET /console/{file}",
        &[
            Clinician, Nurse, Coder, Scheduler, Billing, Auditor, Admin, Service, Patient,
        ],
    ),
    (Endpoint, "GET /v1/incidents", &[Auditor, Admin]),
    (Endpoint, "POST /v1/incidents/{id}/ack", &[Auditor, Admin]),
    (Task, "clinical-note", &[Clinician]),
    (Task, "triage", &[Clinician, Nurse]),
    (Task, "coding", &[Clinician, Coder]),
    (Task, "admin", &[Clinician, Scheduler, Billing]),
    (Task, "assistant", &[Patient]),
    (
        Tool,
        "get_record",
        &[Clinician, Nurse, Coder, Scheduler, Billing],
    ),
    (Tool, "find_slots", &[Scheduler]),
    (Tool, "book_slot", &[Scheduler]),
    (Tool, "get_coverage", &[Billing]),
    (Tool, "list_claims", &[Billing]),
    (Tool, "get_explanation_of_benefit", &[Billing]),
    (Tool, "list_my_appointments", &[Patient]),
    (Tool, "find_free_slots", &[Patient]),
    (Tool, "book_appointment", &[Patient]),
    (Tool, "cancel_appointment", &[Patient]),
    (Tool, "reschedule_appointment", &[Patient]),
    (Tool, "list_my_bills", &[Patient]),
    (Tool, "get_my_explanation_of_benefit", &[Patient]),
    (Tool, "get_my_coverage", &[Patient]),
    (Tool, "list_my_medications", &[Patient]),
];

#[test]
fn every_role_against_every_endpoint_task_and_tool() {
    let mut failures = Vec::new();
    for (target, name, allowed) in EXPECTED {
        for role in Role::ALL {
            let principal = Principal::with_role("u-1", "t", role);
            let verdict = principal.authorize(*target, name).is_ok();
            if verdict != allowed.contains(&role) {
                failures.push(format!("{role:?} on {target:?} {name}: allowed={verdict}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_expectations_cover_the_whole_table_and_nothing_else() {
    assert_eq!(EXPECTED.len(), PERMISSIONS.len());
    for row in PERMISSIONS {
        assert!(
            EXPECTED
                .iter()
                .any(|(t, n, _)| *t == row.target && *n == row.name),
            "{:?} {} has no expectation",
            row.target,
            row.name
        );
    }
}

#[test]
fn anything_not_in_the_table_is_refused_even_to_an_all_powerful_caller() {
    let mut root = Principal::with_role("u-1", "t", Admin);
    root.scopes = vec!["user/*.cruds".into(), "patient/*.cruds".into()];
    for (target, name) in [
        (Endpoint, "DELETE /v1/messages"),
        (Task, "discharge-summary"),
        (Tool, "shell"),
    ] {
        assert!(matches!(
            root.authorize(target, name),
            Err(AuthError::Denied { .. })
        ));
    }
}
