//! Opening a patient by break-glass: the policy decides, the grant is stored with its sealed
//! reason, and the access is recorded as a `BreakGlass` audit entry naming the patient by its
//! keyed reference. A refusal is audited too.

use std::time::Duration;

use phigate_audit::{Action, AuditLog, Outcome};
use phigate_auth::{BreakGlassPolicy, Principal};
use phigate_store::{NewBreakGlass, Store};

use crate::audit_trail::Trail;
use crate::{AgentError, random_id};

/// A granted emergency access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlassGrant {
    /// Grant id, also in the audit entry.
    pub id: String,
    /// The patient's keyed reference.
    pub patient_ref: String,
    /// When the access ends (Unix seconds).
    pub expires_at: i64,
}

/// What is asked for.
pub struct BreakGlassRequest<'a> {
    /// The patient's logical id.
    pub patient_id: &'a str,
    /// Why, in the clinician's words.
    pub reason: &'a str,
    /// For how long.
    pub duration: Duration,
}

/// Grants `principal` emergency access to a patient at `now`, or refuses; both are audited.
pub fn open_break_glass(
    store: &Store,
    audit: &AuditLog,
    policy: &BreakGlassPolicy,
    principal: &Principal,
    request: &BreakGlassRequest<'_>,
    now: i64,
) -> Result<BreakGlassGrant, AgentError> {
    let id = random_id()?;
    let patient = store.patient_ref(&principal.tenant, request.patient_id);
    let mut trail = Trail {
        log: audit,
        principal,
        request_id: &id,
        task: "break-glass",
        patient_ref: Some(patient.as_str().to_owned()),
        seqs: Vec::new(),
    };
    let granted = match policy.check(principal, request.reason, request.duration) {
        Ok(granted) => granted,
        Err(refused) => {
            let mut event = trail.event(Action::BreakGlass, Outcome::Denied);
            event.detail = Some(refused.to_string());
            trail.record(event)?;
            return Err(refused.into());
        }
    };
    let expires_at = now + granted.as_secs() as i64;
    store.insert_break_glass(&NewBreakGlass {
        id: &id,
        tenant: &principal.tenant,
        user_id: &principal.user_id,
        role: principal.role.as_str(),
        patient: &patient,
        reason: request.reason.trim(),
        created_at: now,
        expires_at,
    })?;
    let mut event = trail.event(Action::BreakGlass, Outcome::Success);
    event.purpose = Some("emergency".to_owned());
    event.detail = Some(format!(
        "emergency access for {} s; reason sealed in the store",
        granted.as_secs()
    ));
    trail.record(event)?;
    Ok(BreakGlassGrant {
        id,
        patient_ref: patient.as_str().to_owned(),
        expires_at,
    })
}
