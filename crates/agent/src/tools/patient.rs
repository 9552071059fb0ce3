//! The patient's own tools, for the patient-facing assistant. None takes a patient: each acts on
//! the run's patient, the one the caller's token is bound to, and reads only that patient's
//! record. An id of anything else (another patient's appointment, claim or booked slot) is
//! "not found", exactly like an id that does not exist, so a refusal never confirms that it
//! exists.

use phigate_fhir::{PatientRecord, first_string};
use serde_json::{Value, json};

use super::{ToolEnv, ToolError, admin, int_arg, str_arg};

/// The patient's appointments, soonest first: id, status, start, end and service.
pub(super) fn list_appointments(env: &ToolEnv<'_>, args: &Value) -> Result<Value, ToolError> {
    let limit = int_arg(args, "limit", 20, 50)? as usize;
    let mut all = own_appointments(env.record);
    if let Value::Array(items) = &mut all {
        items.truncate(limit);
    }
    Ok(all)
}

/// Every appointment of the record, soonest first.
pub(crate) fn own_appointments(record: &PatientRecord) -> Value {
    let mut appointments: Vec<&Value> = record.of_type("Appointment").collect();
    appointments.sort_by_key(|a| first_string(a, "start"));
    Value::Array(
        appointments
            .into_iter()
            .map(|a| {
                json!({
                    "appointment_id": a.get("id"),
                    "status": first_string(a, "status"),
                    "start": first_string(a, "start"),
                    "end": first_string(a, "end"),
                    "service": first_string(a, "serviceType.text"),
                })
            })
            .collect(),
    )
}

/// Books a free slot; a slot that is not free (booked by anyone) is "not found".
pub(super) fn book(env: &ToolEnv<'_>, args: &Value) -> Result<Value, ToolError> {
    admin::book_slot(env, args).map_err(not_free)
}

/// Cancels one of the patient's booked appointments and frees its slot.
pub(super) fn cancel(env: &ToolEnv<'_>, args: &Value) -> Result<Value, ToolError> {
    let (id, appointment) = own_booked(env, args)?;
    let slot = slot_of(&appointment);
    let mut cancelled = appointment;
    cancelled["status"] = json!("cancelled");
    env.store.cancel_appointment(
        env.tenant,
        env.patient,
        &id,
        slot.as_deref(),
        cancelled.to_string().as_bytes(),
    )?;
    Ok(json!({
        "appointment_id": id,
        "status": "cancelled",
        "start": first_string(&cancelled, "start"),
    }))
}

/// Moves one of the patient's booked appointments into another free slot; the old slot is free
/// again.
pub(super) fn reschedule(env: &ToolEnv<'_>, args: &Value) -> Result<Value, ToolError> {
    let (id, appointment) = own_booked(env, args)?;
    let slot_id = str_arg(args, "slot_id")?;
    let slot = env
        .store
        .free_slot(env.tenant, slot_id)?
        .ok_or(ToolError::NotFound("free slot"))?;
    let old_slot = slot_of(&appointment);
    let mut updated = appointment;
    updated["start"] = json!(slot.start);
    updated["end"] = json!(slot.end);
    updated["serviceType"] = json!([{"text": slot.service}]);
    updated["slot"] = json!([{"reference": format!("Slot/{}", slot.id)}]);
    let moved = env
        .store
        .reschedule_appointment(
            env.tenant,
            env.patient,
            &id,
            old_slot.as_deref(),
            &slot.id,
            updated.to_string().as_bytes(),
        )
        .map_err(|err| not_free(err.into()))?;
    Ok(json!({
        "appointment_id": id,
        "status": "booked",
        "start": moved.start,
        "end": moved.end,
        "service": moved.service,
    }))
}

/// The patient's medication list, newest first: name, status, dosage and the year prescribed.
pub(super) fn medications(env: &ToolEnv<'_>, args: &Value) -> Result<Value, ToolError> {
    let limit = int_arg(args, "limit", 20, 50)? as usize;
    let mut requests: Vec<&Value> = env.record.of_type("MedicationRequest").collect();
    requests.sort_by_key(|m| std::cmp::Reverse(first_string(m, "authoredOn")));
    Ok(Value::Array(
        requests
            .into_iter()
            .take(limit)
            .map(|m| {
                json!({
                    "medication": first_string(m, "medicationCodeableConcept.coding.display")
                        .or_else(|| first_string(m, "medicationCodeableConcept.text")),
                    "status": first_string(m, "status"),
                    "dosage": first_string(m, "dosageInstruction.text"),
                    "year": first_string(m, "authoredOn")
                        .map(|d| d.chars().take(4).collect::<String>()),
                })
            })
            .collect(),
    ))
}

/// The appointment `appointment_id` of this patient's record, if it is still booked.
fn own_booked(env: &ToolEnv<'_>, args: &Value) -> Result<(String, Value), ToolError> {
    let id = str_arg(args, "appointment_id")?;
    let appointment = env
        .record
        .of_type("Appointment")
        .find(|a| a.get("id").and_then(Value::as_str) == Some(id))
        .ok_or(ToolError::NotFound("appointment"))?;
    if first_string(appointment, "status").as_deref() != Some("booked") {
        return Err(ToolError::Conflict("the appointment is not booked"));
    }
    Ok((id.to_owned(), appointment.clone()))
}

/// The slot an appointment holds (`Slot/ID`).
fn slot_of(appointment: &Value) -> Option<String> {
    first_string(appointment, "slot.reference")
        .and_then(|r| r.strip_prefix("Slot/").map(str::to_owned))
}

/// A slot that is taken reads as one that is not there: whose it is stays unsaid.
fn not_free(err: ToolError) -> ToolError {
    match err {
        ToolError::Conflict(_) => ToolError::NotFound("free slot"),
        other => other,
    }
}
