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
    row(Endpoint, "POST /v1/tasks/scheduling", &["task/scheduling"]),
    row(Endpoint, "POST /v1/tasks/billing", &["task/billing"]),
    row(Endpoint, "GET /v1/drafts", &["draft/read"]),
    row(Endpoint, "GET /v1/drafts/{id}", &["draft/read"]),
    row(
        Endpoint,
        "POST /v1/drafts/{id}/sign",
        &["draft/read", "draft/sign"],
    ),
    row(Endpoint, "POST /v1/break-glass", &["break-glass"]),
    // Auditors.
    row(Endpoint, "GET /v1/audit/entries", &["audit/read"]),
    row(Endpoint, "GET /v1/audit/verify", &["audit/read"]),
    row(Endpoint, "GET /v1/audit/break-glass", &["audit/read"]),
    row(
        Endpoint,
        "GET /v1/audit/export",
        &["audit/read", "audit/export"],
    ),
    // Administrators.
    row(Endpoint, "GET /v1/admin/users", &["admin/users"]),
    row(Endpoint, "POST /v1/admin/users", &["admin/users"]),
    row(Endpoint, "GET /v1/admin/clients", &["admin/clients"]),
    row(Endpoint, "POST /v1/admin/clients", &["admin/clients"]),
    row(Endpoint, "POST /v1/admin/keys/rotate", &["admin/keys"]),
    // Tasks: the capability plus the data each one reads.
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
        &[
            "task/coding",
            "user/Patient.r",
            "user/Condition.r",
            "user/Encounter.r",
        ],
    ),
    row(
        Task,
        "scheduling",
        &["task/scheduling", "user/Patient.r", "user/Appointment.rs"],
    ),
    row(
        Task,
        "billing",
        &["task/billing", "user/Patient.r", "user/Coverage.r"],
    ),
    // Tools the agent may call on a user's behalf.
    row(Tool, "patient_summary", &["user/Patient.r"]),
    row(Tool, "problem_list", &["user/Condition.rs"]),
    row(Tool, "medication_list", &["user/MedicationRequest.rs"]),
    row(Tool, "allergy_list", &["user/AllergyIntolerance.rs"]),
    row(Tool, "vital_signs", &["user/Observation.rs"]),
    row(Tool, "encounter_history", &["user/Encounter.rs"]),
    row(Tool, "icd10_lookup", &["task/coding"]),
    row(
        Tool,
        "appointment_slots",
        &["user/Slot.rs", "user/Schedule.rs"],
    ),
    row(Tool, "book_appointment", &["user/Appointment.cu"]),
    row(Tool, "coverage_lookup", &["user/Coverage.rs"]),
    row(Tool, "claim_status", &["user/Claim.rs"]),
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
