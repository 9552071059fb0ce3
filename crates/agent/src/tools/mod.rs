//! Tools the model may call. They run here, inside the gateway, on the local encrypted store:
//! the model only ever names them and passes placeholders, which the caller of
//! [`run`] has already restored and checked (see `crate::agent_loop`).

mod admin;
mod patient;
mod record;

use phigate_fhir::PatientRecord;
use phigate_llm::types::Tool;
use phigate_store::{PatientRef, Store, StoreError};
use serde_json::{Value, json};
use thiserror::Error;
use time::OffsetDateTime;

use crate::ToolPolicy;

pub(crate) use patient::own_appointments;
pub(crate) use record::scope_for as record_scope;

/// The tools Phigate implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolName {
    /// Recent resources of one type.
    GetRecord,
    /// Free appointment slots.
    FindSlots,
    /// Book a slot.
    BookSlot,
    /// Insurance coverage and benefits.
    GetCoverage,
    /// Recent claims.
    ListClaims,
    /// The explanation of benefit of one claim.
    GetExplanationOfBenefit,
    /// The patient's own appointments.
    ListMyAppointments,
    /// Free slots, for the patient.
    FindFreeSlots,
    /// Book a free slot for the patient.
    BookAppointment,
    /// Cancel one of the patient's appointments.
    CancelAppointment,
    /// Move one of the patient's appointments to another free slot.
    RescheduleAppointment,
    /// The patient's own claims.
    ListMyBills,
    /// The explanation of benefit of one of the patient's claims.
    GetMyExplanationOfBenefit,
    /// The patient's own coverage.
    GetMyCoverage,
    /// The patient's own medication list.
    ListMyMedications,
}

impl ToolName {
    /// Parses a tool name as the model and the policy file spell it.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "get_record" => Self::GetRecord,
            "find_slots" => Self::FindSlots,
            "book_slot" => Self::BookSlot,
            "get_coverage" => Self::GetCoverage,
            "list_claims" => Self::ListClaims,
            "get_explanation_of_benefit" => Self::GetExplanationOfBenefit,
            "list_my_appointments" => Self::ListMyAppointments,
            "find_free_slots" => Self::FindFreeSlots,
            "book_appointment" => Self::BookAppointment,
            "cancel_appointment" => Self::CancelAppointment,
            "reschedule_appointment" => Self::RescheduleAppointment,
            "list_my_bills" => Self::ListMyBills,
            "get_my_explanation_of_benefit" => Self::GetMyExplanationOfBenefit,
            "get_my_coverage" => Self::GetMyCoverage,
            "list_my_medications" => Self::ListMyMedications,
            _ => return None,
        })
    }

    /// Whether the tool changes the record.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Self::BookSlot
                | Self::BookAppointment
                | Self::CancelAppointment
                | Self::RescheduleAppointment
        )
    }

    /// Whether the tool is one of the patient's own: it takes no patient argument and acts on
    /// the run's patient, the one the caller's token is bound to.
    pub fn is_patients_own(self) -> bool {
        matches!(
            self,
            Self::ListMyAppointments
                | Self::FindFreeSlots
                | Self::BookAppointment
                | Self::CancelAppointment
                | Self::RescheduleAppointment
                | Self::ListMyBills
                | Self::GetMyExplanationOfBenefit
                | Self::GetMyCoverage
                | Self::ListMyMedications
        )
    }

    fn input_schema(self) -> Value {
        let patient = json!({"type": "string", "description": "The patient's placeholder id from the context."});
        let (props, required): (Value, &[&str]) = match self {
            Self::GetRecord => (
                json!({"patient": patient, "resource_type": {"type": "string",
                    "enum": record::RESOURCE_TYPES}}),
                &["patient", "resource_type"],
            ),
            Self::FindSlots => (
                json!({"patient": patient, "service": {"type": "string"},
                    "within_days": {"type": "integer", "minimum": 1, "maximum": 90}}),
                &["patient"],
            ),
            Self::BookSlot => (
                json!({"patient": patient, "slot_id": {"type": "string"}}),
                &["patient", "slot_id"],
            ),
            Self::GetCoverage => (json!({"patient": patient}), &["patient"]),
            Self::ListClaims => (
                json!({"patient": patient, "limit": {"type": "integer", "minimum": 1, "maximum": 20}}),
                &["patient"],
            ),
            Self::GetExplanationOfBenefit => (
                json!({"patient": patient, "claim_id": {"type": "string"}}),
                &["patient", "claim_id"],
            ),
            Self::ListMyAppointments | Self::ListMyBills | Self::ListMyMedications => (
                json!({"limit": {"type": "integer", "minimum": 1, "maximum": 20}}),
                &[],
            ),
            Self::FindFreeSlots => (
                json!({"service": {"type": "string"},
                    "within_days": {"type": "integer", "minimum": 1, "maximum": 90}}),
                &[],
            ),
            Self::BookAppointment => (json!({"slot_id": {"type": "string"}}), &["slot_id"]),
            Self::CancelAppointment => (
                json!({"appointment_id": {"type": "string"}}),
                &["appointment_id"],
            ),
            Self::RescheduleAppointment => (
                json!({"appointment_id": {"type": "string"}, "slot_id": {"type": "string"}}),
                &["appointment_id", "slot_id"],
            ),
            Self::GetMyExplanationOfBenefit => {
                (json!({"claim_id": {"type": "string"}}), &["claim_id"])
            }
            Self::GetMyCoverage => (json!({}), &[]),
        };
        json!({"type": "object", "properties": props, "required": required})
    }
}

/// The tool as the model is told about it.
pub(crate) fn definition(policy: &ToolPolicy) -> Option<Tool> {
    let name = ToolName::parse(&policy.name)?;
    Some(Tool {
        name: policy.name.clone(),
        description: Some(policy.description.clone()),
        input_schema: name.input_schema(),
        extra: serde_json::Map::new(),
    })
}

/// Why a tool could not do what it was asked. Sent back to the model as an error result, so
/// the messages are short and never carry a value.
#[derive(Debug, Error)]
pub enum ToolError {
    /// An argument is missing or malformed.
    #[error("bad argument: {0}")]
    BadArgument(&'static str),
    /// Nothing matches.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// The store refused the change (for example the slot is taken).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The store failed.
    #[error("the record store failed")]
    Store,
}

impl From<StoreError> for ToolError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => Self::Conflict(what),
            StoreError::NotFound(what) => Self::NotFound(what),
            _ => Self::Store,
        }
    }
}

/// What a tool may touch: one patient of one tenant, in the store.
pub(crate) struct ToolEnv<'a> {
    pub store: &'a Store,
    pub tenant: &'a str,
    pub patient: &'a PatientRef,
    pub patient_id: &'a str,
    pub record: &'a PatientRecord,
    pub now: OffsetDateTime,
}

/// Fields of a tool result that hold identifiers (claim and appointment ids): they are replaced
/// by placeholders whole, without relying on detection.
pub(crate) const ID_FIELDS: &[&str] = &["claim_id", "appointment_id"];

/// Runs one tool whose arguments are restored and whose caller, patient and permission were
/// checked.
pub(crate) fn run(name: ToolName, env: &ToolEnv<'_>, args: &Value) -> Result<Value, ToolError> {
    match name {
        ToolName::GetRecord => record::get_record(env, args),
        ToolName::FindSlots => admin::find_slots(env, args),
        ToolName::BookSlot => admin::book_slot(env, args),
        ToolName::GetCoverage => Ok(admin::coverage(env)),
        ToolName::ListClaims => admin::list_claims(env, args),
        ToolName::GetExplanationOfBenefit | ToolName::GetMyExplanationOfBenefit => {
            admin::explanation_of_benefit(env, args)
        }
        ToolName::ListMyAppointments => patient::list_appointments(env, args),
        ToolName::FindFreeSlots => admin::find_slots(env, args),
        ToolName::BookAppointment => patient::book(env, args),
        ToolName::CancelAppointment => patient::cancel(env, args),
        ToolName::RescheduleAppointment => patient::reschedule(env, args),
        ToolName::ListMyBills => admin::list_claims(env, args),
        ToolName::GetMyCoverage => Ok(admin::coverage(env)),
        ToolName::ListMyMedications => patient::medications(env, args),
    }
}

fn str_arg<'a>(args: &'a Value, name: &'static str) -> Result<&'a str, ToolError> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .ok_or(ToolError::BadArgument(name))
}

fn int_arg(args: &Value, name: &'static str, default: u64, max: u64) -> Result<u64, ToolError> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=max).contains(n))
            .ok_or(ToolError::BadArgument(name)),
    }
}
