//! Front-desk tools: scheduling over the organisation's slots, and insurance and billing over
//! the patient's `Coverage`, `Claim` and `ExplanationOfBenefit` resources.

use std::collections::BTreeMap;

use phigate_fhir::first_string;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{ToolEnv, ToolError, int_arg, str_arg};

/// `2030-01-02T09:00:00Z`: the form slots are stored in, so text order is time order.
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

pub(super) fn find_slots(env: &ToolEnv<'_>, args: &Value) -> Result<Value, ToolError> {
    let days = int_arg(args, "within_days", 14, 90)?;
    let service = match args.get("service") {
        None | Some(Value::Null) => None,
        Some(_) => Some(str_arg(args, "service")?),
    };
    let from = rfc3339(env.now);
    let to = rfc3339(env.now + Duration::days(days as i64));
    let slots = env.store.free_slots(env.tenant, service, &from, &to, 10)?;
    Ok(Value::Array(
        slots
            .into_iter()
            .map(|s| json!({"slot_id": s.id, "start": s.start, "end": s.end, "service": s.service}))
            .collect(),
    ))
}

pub(super) fn book_slot(env: &ToolEnv<'_>, args: &Value) -> Result<Value, ToolError> {
    let slot_id = str_arg(args, "slot_id")?;
    let appointment_id = crate::random_id().map_err(|_| ToolError::Store)?;
    // Booking re-checks that the slot is free inside its transaction; this read only gives the
    // appointment its times.
    let slot = env
        .store
        .free_slot(env.tenant, slot_id)?
        .ok_or(ToolError::Conflict("slot is not free"))?;
    let appointment = json!({
        "resourceType": "Appointment",
        "id": appointment_id,
        "status": "booked",
        "serviceType": [{"text": slot.service}],
        "start": slot.start,
        "end": slot.end,
        "slot": [{"reference": format!("Slot/{}", slot.id)}],
        "participant": [{"actor": {"reference": format!("Patient/{}", env.patient_id)},
                         "status": "accepted"}]
    });
    let booked = env.store.book_slot(
        env.tenant,
        slot_id,
        env.patient,
        &appointment_id,
        appointment.to_string().as_bytes(),
    )?;
    Ok(json!({
        "appointment_id": appointment_id,
        "status": "booked",
        "start": booked.start,
        "end": booked.end,
        "service": booked.service,
    }))
}

/// Payers from `Coverage` resources and from the coverage contained in claims and explanations
/// of benefit, with the years they appear and what their explanations of benefit paid.
pub(super) fn coverage(env: &ToolEnv<'_>) -> Value {
    #[derive(Default)]
    struct Payer {
        status: Option<String>,
        first_year: Option<String>,
        last_year: Option<String>,
        claims: u64,
        paid: f64,
    }
    let mut payers: BTreeMap<String, Payer> = BTreeMap::new();
    for c in env.record.of_type("Coverage") {
        let name = first_string(c, "payor.display")
            .or_else(|| first_string(c, "type.text"))
            .unwrap_or_else(|| "unnamed payer".into());
        let payer = payers.entry(name).or_default();
        payer.status = first_string(c, "status");
    }
    for eob in env.record.of_type("ExplanationOfBenefit") {
        let Some(name) = first_string(eob, "insurer.display") else {
            continue;
        };
        let year = first_string(eob, "created").map(|d| d.chars().take(4).collect::<String>());
        let payer = payers.entry(name).or_default();
        payer.claims += 1;
        payer.paid += eob
            .pointer("/payment/amount/value")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        if payer.first_year.is_none() || year < payer.first_year {
            payer.first_year.clone_from(&year);
        }
        if year > payer.last_year {
            payer.last_year = year;
        }
        payer.status.get_or_insert_with(|| "active".into());
    }
    Value::Array(
        payers
            .into_iter()
            .map(|(name, p)| {
                json!({"payer": name, "status": p.status, "first_year": p.first_year,
                       "last_year": p.last_year, "claims_on_record": p.claims,
                       "paid_total": (p.paid * 100.0).round() / 100.0})
            })
            .collect(),
    )
}

pub(super) fn list_claims(env: &ToolEnv<'_>, args: &Value) -> Result<Value, ToolError> {
    let limit = int_arg(args, "limit", 10, 20)? as usize;
    let mut claims: Vec<&Value> = env.record.of_type("Claim").collect();
    claims.sort_by_key(|c| std::cmp::Reverse(first_string(c, "created")));
    Ok(Value::Array(
        claims
            .into_iter()
            .take(limit)
            .map(|c| {
                json!({
                    "claim_id": c.get("id"),
                    "type": first_string(c, "type.coding.code"),
                    "status": first_string(c, "status"),
                    "year": first_string(c, "created").map(|d| d.chars().take(4).collect::<String>()),
                    "total": c.pointer("/total/value"),
                    "currency": c.pointer("/total/currency"),
                })
            })
            .collect(),
    ))
}

pub(super) fn explanation_of_benefit(env: &ToolEnv<'_>, args: &Value) -> Result<Value, ToolError> {
    let claim_id = str_arg(args, "claim_id")?;
    let eob = env
        .record
        .of_type("ExplanationOfBenefit")
        .find(|e| {
            first_string(e, "claim.reference")
                .is_some_and(|r| r.rsplit([':', '/']).next() == Some(claim_id))
                || e.get("identifier")
                    .and_then(Value::as_array)
                    .is_some_and(|ids| {
                        ids.iter()
                            .any(|i| i.get("value").and_then(Value::as_str) == Some(claim_id))
                    })
        })
        .ok_or(ToolError::NotFound("explanation of benefit"))?;
    let totals: Vec<Value> = eob
        .get("total")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|t| {
                    json!({"category": first_string(t, "category.coding.code"),
                           "amount": t.pointer("/amount/value")})
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(json!({
        "claim_id": claim_id,
        "outcome": first_string(eob, "outcome"),
        "insurer": first_string(eob, "insurer.display"),
        "year": first_string(eob, "created").map(|d| d.chars().take(4).collect::<String>()),
        "totals": totals,
        "paid": eob.pointer("/payment/amount/value"),
    }))
}
