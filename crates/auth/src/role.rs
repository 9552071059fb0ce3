//! Roles and the scopes each grants. Scopes follow SMART on FHIR v2 for data
//! (`user/Condition.rs`, see [`crate::Scope`]) and name Phigate's own capabilities the same way
//! (`task/clinical-note`, `draft/sign`). Each role gets the least set its work needs.

use serde::{Deserialize, Serialize};

use crate::AuthError;

/// The roles Phigate knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Runs clinical tasks, signs clinical drafts, may use break-glass.
    Clinician,
    /// Runs triage.
    Nurse,
    /// Suggests and reviews diagnosis codes.
    Coder,
    /// Scheduling and appointments.
    Scheduler,
    /// Insurance, claims and billing questions.
    Billing,
    /// Reads the audit log and its reports; sees no patient data.
    Auditor,
    /// Manages users, clients, keys and configuration; sees no patient data by role.
    Admin,
    /// A machine client calling the Messages API.
    Service,
    /// A patient using the patient-facing assistant. Bound to exactly one patient record when
    /// the account is created; every patient-facing route and tool acts on that record only.
    Patient,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 9] = [
        Role::Clinician,
        Role::Nurse,
        Role::Coder,
        Role::Scheduler,
        Role::Billing,
        Role::Auditor,
        Role::Admin,
        Role::Service,
        Role::Patient,
    ];

    /// The role's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clinician => "clinician",
            Self::Nurse => "nurse",
            Self::Coder => "coder",
            Self::Scheduler => "scheduler",
            Self::Billing => "billing",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
            Self::Service => "service",
            Self::Patient => "patient",
        }
    }

    /// Parses a role name.
    pub fn parse(name: &str) -> Result<Self, AuthError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == name)
            .ok_or_else(|| AuthError::UnknownRole(name.to_owned()))
    }

    /// Whether people in this role must sign in with a second factor. Administrators can grant
    /// themselves anything and auditors can read everyone's trail, so a stolen password alone
    /// must not be enough. Patients may enrol one but are not made to: their account reaches
    /// one record, their own, and an authenticator app must not stand between a patient and
    /// their own appointments; backoff and lockout still apply.
    pub fn requires_mfa(self) -> bool {
        matches!(self, Self::Admin | Self::Auditor)
    }

    /// Whether the role is for people (signs in with a password) rather than machines.
    pub fn is_person(self) -> bool {
        !matches!(self, Self::Service)
    }
}

/// The scopes a role grants.
pub fn scopes(role: Role) -> &'static [&'static str] {
    match role {
        Role::Clinician => &[
            "user/Patient.rs",
            "user/Condition.rs",
            "user/MedicationRequest.rs",
            "user/AllergyIntolerance.rs",
            "user/Observation.rs",
            "user/Encounter.rs",
            "user/DocumentReference.rs",
            "task/clinical-note",
            "task/triage",
            "task/coding",
            "draft/read",
            "draft/sign",
            "messages/create",
            "break-glass",
            "task/admin",
        ],
        Role::Nurse => &[
            "user/Patient.rs",
            "user/Condition.rs",
            "user/Observation.rs",
            "user/AllergyIntolerance.rs",
            "task/triage",
            "draft/read",
        ],
        Role::Coder => &[
            "user/Patient.rs",
            "user/Condition.rs",
            "user/Encounter.rs",
            "user/Procedure.rs",
            "user/DocumentReference.rs",
            "task/coding",
            "draft/read",
        ],
        Role::Scheduler => &[
            "user/Patient.rs",
            "user/Appointment.cruds",
            "user/Schedule.rs",
            "user/Slot.rs",
            "task/admin",
        ],
        Role::Billing => &[
            "user/Patient.rs",
            "user/Encounter.rs",
            "user/Coverage.rs",
            "user/Claim.cruds",
            "user/ExplanationOfBenefit.rs",
            "task/admin",
        ],
        Role::Auditor => &[
            "audit/read",
            "audit/export",
            "incident/read",
            "incident/ack",
        ],
        Role::Admin => &[
            "admin/users",
            "admin/clients",
            "admin/keys",
            "admin/config",
            "incident/read",
            "incident/ack",
        ],
        Role::Service => &["messages/create"],
        // SMART patient-context scopes: the patient in context is the one the account is bound
        // to, never one named in a request.
        Role::Patient => &[
            "patient/Patient.r",
            "patient/Appointment.crus",
            "patient/Slot.rs",
            "patient/Claim.rs",
            "patient/ExplanationOfBenefit.rs",
            "patient/Coverage.rs",
            "patient/MedicationRequest.rs",
            "task/assistant",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scope;

    #[test]
    fn role_names_round_trip_and_unknown_names_are_refused() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
        for name in ["root", "front-desk", "Patient", "Admin", ""] {
            assert!(matches!(Role::parse(name), Err(AuthError::UnknownRole(_))));
        }
    }

    #[test]
    fn auditors_and_admins_see_no_patient_data_by_role() {
        for role in [Role::Admin, Role::Auditor, Role::Service] {
            assert!(
                scopes(role)
                    .iter()
                    .all(|s| !s.starts_with("user/") && !s.starts_with("patient/")),
                "{role:?}"
            );
        }
    }

    #[test]
    fn only_admins_and_auditors_must_use_a_second_factor() {
        let must: Vec<Role> = Role::ALL.into_iter().filter(|r| r.requires_mfa()).collect();
        assert_eq!(must, [Role::Auditor, Role::Admin]);
    }

    #[test]
    fn patients_hold_patient_context_scopes_only() {
        for scope in scopes(Role::Patient) {
            assert!(
                !scope.starts_with("user/") && !scope.starts_with("system/"),
                "{scope}"
            );
        }
        for role in Role::ALL.into_iter().filter(|r| *r != Role::Patient) {
            assert!(
                scopes(role).iter().all(|s| *s != "task/assistant"),
                "{role:?}"
            );
        }
        assert!(Role::Patient.is_person() && !Role::Patient.requires_mfa());
    }

    #[test]
    fn every_scope_a_role_grants_parses() {
        for role in Role::ALL {
            for scope in scopes(role) {
                assert!(Scope::parse(scope).is_ok(), "{scope}");
            }
        }
    }
}
