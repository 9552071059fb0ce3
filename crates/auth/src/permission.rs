//! One permission table for every HTTP endpoint, agent task and agent tool.
//!
//! Least privilege by default: an endpoint, task or tool missing from the table is refused for
//! everyone, so adding a route without deciding who may call it fails closed.

use crate::{AuthError, Principal};

/// What is being guarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// An HTTP endpoint, named `METHOD /path` with `{param}` segments.
    Endpoint,
    /// An agent task, by name.
    Task,
    /// A tool the agent may call, by name.
    Tool,
}

/// One row of the table: everything in `scopes` is needed.
#[derive(Clone, Copy, Debug)]
pub struct Permission {
    /// Endpoint, task or tool.
    pub target: Target,
    /// Its name.
    pub name: &'static str,
    /// The scopes a caller must hold, all of them.
    pub scopes: &'static [&'static str],
}

const fn row(target: Target, name: &'static str, scopes: &'static [&'static str]) -> Permission {
    Permission {
        target,
        name,
        scopes,
    }
}

use Target::{Endpoint, Task, Tool};

/// The table.
pub const PERMISSIONS: &[Permission] = &[
    // The Anthropic-compatible API.
    row(Endpoint, "POST /v1/messages", &["messages/create"]),
    row(
        Endpoint,
        "POST /v1/messages/count_tokens",
        &["messages/create"],
    ),
    row(Endpoint, "GET /v1/models", &["messages/create"]),
    row(Endpoint, "GET /v1/models/{id}", &["messages/create"]),
    // Agent work and review.
    row(
        Endpoint,
        "POST /v1/tasks/clinical-note",
        &["task/clinical-note"],
    ),
    row(Endpoint, "POST /v1/tasks/triage", &["task/triage"]),
    row(Endpoint, "POST /v1/tasks/coding", &["task/coding"]),
    row(Endpoint, "POST /v1/tasks/admin", &["task/admin"]),
    // Emergency access to a patient outside the caller's care relationships.
    row(Endpoint, "POST /v1/break-glass", &["break-glass"]),
    // The patient-facing assistant: the patient comes from the token, never from the request.
    row(Endpoint, "POST /v1/patient/assistant", &["task/assistant"]),
    row(
        Endpoint,
        "GET /v1/patient/appointments",
        &["patient/Appointment.r"],
    ),
    row(Endpoint, "GET /v1/drafts", &["draft/read"]),
    row(Endpoint, "GET /v1/drafts/{id}", &["draft/read"]),
    row(
        Endpoint,
        "PATCH /v1/drafts/{id}",
        &["draft/read", "draft/sign"],
    ),
    row(
        Endpoint,
        "POST /v1/drafts/{id}/approve",
        &["draft/read", "draft/sign"],
    ),
    row(
        Endpoint,
        "POST /v1/drafts/{id}/reject",
        &["draft/read", "draft/sign"],
    ),
    // Auditors.
    row(Endpoint, "GET /v1/audit/entries", &["audit/read"]),
    row(Endpoint, "GET /v1/audit/disclosures", &["audit/read"]),
    row(Endpoint, "GET /v1/audit/checkpoint", &["audit/read"]),
    row(Endpoint, "GET /v1/audit/proof/inclusion", &["audit/read"]),
    row(Endpoint, "GET /v1/audit/proof/consistency", &["audit/read"]),
    row(
        Endpoint,
        "GET /v1/audit/export",
        &["audit/read", "audit/export"],
    ),
    // The console's auditor routes: patient identifiers in bodies, never in URLs.
    row(Endpoint, "POST /v1/audit/search", &["audit/read"]),
    row(Endpoint, "POST /v1/audit/disclosures", &["audit/read"]),
    row(Endpoint, "GET /v1/audit/status", &["audit/read"]),
    // Administrators: accounts, OAuth clients and keys.
    row(Endpoint, "GET /v1/admin/users", &["admin/users"]),
    row(Endpoint, "POST /v1/admin/users", &["admin/users"]),
    row(
        Endpoint,
        "POST /v1/admin/users/{username}/disable",
        &["admin/users"],
    ),
    row(
        Endpoint,
        "POST /v1/admin/users/{username}/enable",
        &["admin/users"],
    ),
    row(
        Endpoint,
        "POST /v1/admin/users/{username}/reset-mfa",
        &["admin/users"],
    ),
    row(Endpoint, "GET /v1/admin/clients", &["admin/clients"]),
    row(Endpoint, "POST /v1/admin/clients", &["admin/clients"]),
    row(
        Endpoint,
        "POST /v1/admin/clients/{id}/revoke",
        &["admin/clients"],
    ),
    row(Endpoint, "GET /v1/admin/keys", &["admin/keys"]),
    row(Endpoint, "POST /v1/admin/keys/rotate", &["admin/keys"]),
    // The web console's static files: no data, so no credential; everything the console shows
    // comes from the routes above, with the signed-in person's token.
    row(Endpoint, "GET /console/{file}", &[]),
    // Security incidents, for auditors and administrators.
    row(Endpoint, "GET /v1/incidents", &["incident/read"]),
    row(
        Endpoint,
        "POST /v1/incidents/{id}/ack",
        &["incident/read", "incident/ack"],
    ),
    // Tasks: the capability plus the data each one reads. `crates/agent/policies/tasks.toml`
    // declares the same scopes, and a test in the agent crate holds the two together.
    row(
        Task,
        "clinical-note",
        &[
            "task/clinical-note",
            "user/Patient.r",
            "user/Condition.r",
            "user/MedicationRequest.r",
            "user/AllergyIntolerance.r",
            "user/Observation.r",
        ],
    ),
    row(
        Task,
        "triage",
        &[
            "task/triage",
            "user/Patient.r",
            "user/Condition.r",
            "user/Observation.r",
            "user/AllergyIntolerance.r",
        ],
    ),
    row(
        Task,
        "coding",
        &["task/coding", "user/Patient.r", "user/Condition.r"],
    ),
    row(Task, "admin", &["task/admin", "user/Patient.r"]),
    row(Task, "assistant", &["task/assistant", "patient/Patient.r"]),
    // Tools the agent runs inside the gateway on a user's behalf.
    row(Tool, "get_record", &["user/Patient.r"]),
    row(Tool, "find_slots", &["user/Slot.r"]),
    row(Tool, "book_slot", &["user/Slot.r", "user/Appointment.c"]),
    row(Tool, "get_coverage", &["user/Coverage.r"]),
    row(Tool, "list_claims", &["user/Claim.r"]),
    row(
        Tool,
        "get_explanation_of_benefit",
        &["user/ExplanationOfBenefit.r"],
    ),
    // The patient's own tools: each acts on the token's patient only and takes no patient id.
    row(Tool, "list_my_appointments", &["patient/Appointment.r"]),
    row(Tool, "find_free_slots", &["patient/Slot.r"]),
    row(
        Tool,
        "book_appointment",
        &["patient/Slot.r", "patient/Appointment.c"],
    ),
    row(Tool, "cancel_appointment", &["patient/Appointment.u"]),
    row(
        Tool,
        "reschedule_appointment",
        &["patient/Slot.r", "patient/Appointment.u"],
    ),
    row(Tool, "list_my_bills", &["patient/Claim.r"]),
    row(
        Tool,
        "get_my_explanation_of_benefit",
        &["patient/ExplanationOfBenefit.r"],
    ),
    row(Tool, "get_my_coverage", &["patient/Coverage.r"]),
    row(
        Tool,
        "list_my_medications",
        &["patient/MedicationRequest.r"],
    ),
];

/// The row for `name`, if the table has one.
pub fn permission(target: Target, name: &str) -> Option<&'static Permission> {
    PERMISSIONS
        .iter()
        .find(|p| p.target == target && p.name == name)
}

impl Principal {
    /// Succeeds only if the table lists `name` and the principal holds every scope it needs.
    pub fn authorize(&self, target: Target, name: &str) -> Result<(), AuthError> {
        match permission(target, name) {
            Some(row) => self.require(row.scopes),
            None => Err(AuthError::Denied {
                missing: "(unlisted)".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests;
