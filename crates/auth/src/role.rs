//! Roles and the scopes each grants. Scopes follow SMART on FHIR for data (`user/Condition.r`)
//! and name Phigate's own capabilities the same way (`task/clinical-note`, `draft/sign`).

use serde::{Deserialize, Serialize};

use crate::AuthError;

/// The roles Phigate knows. Each maps to the least set of scopes its work needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Manages users, clients, keys and configuration; sees no patient data by role.
    Admin,
    /// Runs clinical tasks and signs clinical drafts.
    Clinician,
    /// Runs triage.
    Nurse,
    /// Suggests and reviews diagnosis codes.
    Coder,
    /// Scheduling, insurance and billing work.
    FrontDesk,
    /// Reads the audit log; sees no patient data.
    Auditor,
    /// A patient, bound to their own record.
    Patient,
    /// A machine client calling the Messages API.
    Service,
}

impl Role {
    /// The role's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Clinician => "clinician",
            Self::Nurse => "nurse",
            Self::Coder => "coder",
            Self::FrontDesk => "front-desk",
            Self::Auditor => "auditor",
            Self::Patient => "patient",
            Self::Service => "service",
        }
    }

    /// Parses a role name.
    pub fn parse(name: &str) -> Result<Self, AuthError> {
        let all = [
            Self::Admin,
            Self::Clinician,
            Self::Nurse,
            Self::Coder,
            Self::FrontDesk,
            Self::Auditor,
            Self::Patient,
            Self::Service,
        ];
        all.into_iter()
            .find(|r| r.as_str() == name)
            .ok_or_else(|| AuthError::UnknownRole(name.to_owned()))
    }
}

/// The scopes a role grants.
pub fn scopes(role: Role) -> &'static [&'static str] {
    const CLINICAL_READ: [&str; 7] = [
        "user/Patient.r",
        "user/Condition.r",
        "user/MedicationRequest.r",
        "user/AllergyIntolerance.r",
        "user/Observation.r",
        "user/Encounter.r",
        "user/DocumentReference.r",
    ];
    match role {
        Role::Admin => &["admin/users", "admin/clients", "admin/keys", "admin/config"],
        Role::Clinician => &[
            CLINICAL_READ[0],
            CLINICAL_READ[1],
            CLINICAL_READ[2],
            CLINICAL_READ[3],
            CLINICAL_READ[4],
            CLINICAL_READ[5],
            CLINICAL_READ[6],
            "task/clinical-note",
            "task/triage",
            "task/coding",
            "draft/read",
            "draft/sign",
            "messages/create",
        ],
        Role::Nurse => &[
            "user/Patient.r",
            "user/Condition.r",
            "user/Observation.r",
            "user/AllergyIntolerance.r",
            "task/triage",
            "draft/read",
        ],
        Role::Coder => &[
            "user/Patient.r",
            "user/Condition.r",
            "user/Encounter.r",
            "task/coding",
            "draft/read",
        ],
        Role::FrontDesk => &["user/Patient.r", "user/Encounter.r", "task/admin"],
        Role::Auditor => &["audit/read", "audit/export"],
        Role::Patient => &["patient/Patient.r", "task/patient-assistant"],
        Role::Service => &["messages/create"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip_and_unknown_names_are_refused() {
        for name in [
            "admin",
            "clinician",
            "nurse",
            "coder",
            "front-desk",
            "auditor",
            "patient",
        ] {
            assert_eq!(Role::parse(name).unwrap().as_str(), name);
        }
        assert!(matches!(
            Role::parse("root"),
            Err(AuthError::UnknownRole(_))
        ));
    }

    #[test]
    fn auditors_and_admins_see_no_patient_data_by_role() {
        for role in [Role::Admin, Role::Auditor] {
            assert!(scopes(role).iter().all(|s| !s.starts_with("user/")));
        }
    }
}
