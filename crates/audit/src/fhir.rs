//! Entries as FHIR R4 `AuditEvent` resources, following the IHE Basic Audit Log Patterns
//! (BALP): a disclosure to a model provider is a Privacy Disclosure recorded at the source, a
//! read of the patient store is a Patient Read. Other actions keep BALP's agent and entity
//! shapes with a Phigate action code.
//!
//! The patient appears only as the keyed HMAC reference the entry holds, as an identifier, never
//! as a resource id or a name; each resource also carries the entry's leaf hash, so an exported
//! event can be matched against the signed log.

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::{Action, AuditEntry, AuditEvent, Outcome};

const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const BALP: &str = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/";
/// The identifier system of patient references in exported events.
pub const PATIENT_REF_SYSTEM: &str = "urn:phigate:patient-ref";
/// The identifier system of entry leaf hashes in exported events.
pub const LEAF_HASH_SYSTEM: &str = "urn:phigate:audit-leaf-sha256";
const ACTION_SYSTEM: &str = "urn:phigate:audit-action";

/// The `AuditEvent` for `entry` of the log named `origin`; `None` for an entry whose body
/// retention has pruned.
pub fn audit_event(entry: &AuditEntry, origin: &str) -> Option<Value> {
    let event = entry.event.as_ref()?;
    let (profile, kind, subtype, action) = classify(event.action);
    let mut resource = json!({
        "resourceType": "AuditEvent",
        "id": format!("seq-{}", entry.seq),
        "type": kind,
        "subtype": subtype,
        "action": action,
        "recorded": event.time.format(&Rfc3339).unwrap_or_default(),
        "outcome": outcome_code(event.outcome),
        "agent": agents(event),
        "source": {
            "observer": {"display": origin},
            "type": [coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4",
                            "Application Server")],
        },
        "entity": entities(entry, event),
    });
    if let Some(profile) = profile {
        resource["meta"] = json!({"profile": [format!("{BALP}{profile}")]});
    }
    if let Some(purpose) = &event.purpose {
        resource["purposeOfEvent"] = json!([purpose_of_use(purpose)]);
    }
    if let Some(detail) = &event.detail {
        resource["outcomeDesc"] = Value::String(detail.clone());
    }
    Some(resource)
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}

/// The BALP profile, type, subtypes and CRUDE action of an action.
fn classify(action: Action) -> (Option<&'static str>, Value, Value, &'static str) {
    let own = coding(ACTION_SYSTEM, action.as_str(), action.as_str());
    match action {
        Action::Disclosure => (
            Some("IHE.BasicAudit.PrivacyDisclosure.Source"),
            coding(DCM, "110106", "Export"),
            json!([
                coding(
                    "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle",
                    "disclose",
                    "Disclose Record Lifecycle Event"
                ),
                own,
            ]),
            "R",
        ),
        Action::Read => (
            Some("IHE.BasicAudit.PatientRead"),
            coding(
                "http://terminology.hl7.org/CodeSystem/audit-event-type",
                "rest",
                "Restful Operation",
            ),
            json!([
                coding("http://hl7.org/fhir/restful-interaction", "read", "read"),
                own
            ]),
            "R",
        ),
        Action::SignIn | Action::TokenIssued => (
            None,
            coding(DCM, "110114", "User Authentication"),
            json!([own]),
            "E",
        ),
        Action::Export | Action::Backup => {
            (None, coding(DCM, "110106", "Export"), json!([own]), "R")
        }
        Action::Import | Action::Restore => {
            (None, coding(DCM, "110107", "Import"), json!([own]), "C")
        }
        Action::DraftStored | Action::DraftReviewed | Action::DraftSigned => (
            None,
            coding(DCM, "110100", "Application Activity"),
            json!([own]),
            if action == Action::DraftStored {
                "C"
            } else {
                "U"
            },
        ),
        Action::PatientForget | Action::Retention => (
            None,
            coding(DCM, "110100", "Application Activity"),
            json!([own]),
            "D",
        ),
        _ => (
            None,
            coding(DCM, "110100", "Application Activity"),
            json!([own]),
            "E",
        ),
    }
}

fn outcome_code(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => "0",
        Outcome::Denied => "4",
        Outcome::Failed => "8",
    }
}

/// A purpose of use as a v3 ActReason code where one fits, else as text.
fn purpose_of_use(purpose: &str) -> Value {
    let system = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
    let code = match purpose.to_ascii_lowercase().as_str() {
        "treatment" => Some(("TREAT", "treatment")),
        "payment" => Some(("HPAYMT", "healthcare payment")),
        "operations" | "healthcare operations" => Some(("HOPERAT", "healthcare operations")),
        "emergency" | "break-glass" | "break_glass" => Some(("ETREAT", "Emergency Treatment")),
        _ => None,
    };
    match code {
        Some((code, display)) => {
            json!({"coding": [coding(system, code, display)], "text": purpose})
        }
        None => json!({"text": purpose}),
    }
}

fn agents(event: &AuditEvent) -> Value {
    let actor = &event.actor;
    let mut user = json!({
        "type": {"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                   "IRCP", "information recipient")]},
        "who": {"identifier": {"value": actor.user_id}},
        "requestor": true,
    });
    if !actor.role.is_empty() {
        user["role"] = json!([{"text": actor.role}]);
    }
    if let Some(address) = &actor.address {
        user["network"] = json!({"address": address, "type": "2"});
    }
    if let Some(client) = &actor.client_id {
        user["altId"] = Value::String(client.clone());
    }
    let mut agents = vec![
        json!({
            "type": {"coding": [coding(DCM, "110153", "Source Role ID")]},
            "who": {"display": "phigate"},
            "requestor": false,
        }),
        user,
    ];
    if let Some(provider) = &event.provider {
        agents.push(json!({
            "type": {"coding": [coding(DCM, "110152", "Destination Role ID")]},
            "who": {"display": provider},
            "requestor": false,
        }));
    }
    Value::Array(agents)
}

fn entities(entry: &AuditEntry, event: &AuditEvent) -> Value {
    let system_object = |code: &str, display: &str| {
        json!({"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
               "code": code, "display": display})
    };
    let mut entities = Vec::new();
    if let Some(patient) = &event.patient_ref {
        entities.push(json!({
            "what": {"identifier": {"system": PATIENT_REF_SYSTEM, "value": patient}},
            "type": system_object("1", "Person"),
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role",
                     "code": "1", "display": "Patient"},
        }));
    }
    let mut record = json!({
        "what": {"identifier": {"system": LEAF_HASH_SYSTEM,
                                "value": hex::encode(entry.leaf_hash)}},
        "type": system_object("2", "System Object"),
    });
    let details: Vec<Value> = [
        ("task", &event.task),
        ("request_id", &event.request_id),
        ("sent_sha256", &event.sent_sha256),
        ("received_sha256", &event.received_sha256),
    ]
    .into_iter()
    .filter_map(|(name, value)| {
        value
            .as_ref()
            .map(|v| json!({"type": name, "valueString": v}))
    })
    .collect();
    if !details.is_empty() {
        record["detail"] = Value::Array(details);
    }
    entities.push(record);
    Value::Array(entities)
}
