//! Incident containment as the pipeline enforces it: a blocked provider is called by no task,
//! and a frozen patient's data is read, disclosed or changed by no task, tool, draft review or
//! import. Both are read from the store on every use, so an operator's `phigate providers
//! block` or `phigate patient freeze` takes effect on the next request of every running process.
//!
//! Break-glass does not override a freeze: the freeze is checked whatever the caller holds. An
//! error reading the containment state refuses the request (fail closed).

use phigate_audit::{Action, Actor, AuditEvent, AuditLog, Outcome};
use phigate_auth::Principal;
use phigate_store::{PatientAccess, PatientRef, Store};

use crate::audit_trail::Trail;
use crate::{AgentError, Pipeline};

impl Pipeline {
    /// Refuses when an operator has blocked the pipeline's provider.
    pub(crate) fn check_provider_open(&self) -> Result<(), AgentError> {
        provider_open(&self.store, &self.tenant, self.provider.name())
    }

    /// Refuses when `patient` is outside `principal`'s reach: the tenant confines staff to their
    /// care relationships and the caller is neither on the patient's care team nor holding a
    /// live break-glass grant. Checked after the freeze, so a grant never opens a frozen patient.
    pub(crate) fn check_in_scope(
        &self,
        principal: &Principal,
        patient: &PatientRef,
    ) -> Result<PatientAccess, AgentError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let access = self
            .store
            .patient_access(&self.tenant, &principal.user_id, patient, now)?;
        if access.allowed() {
            Ok(access)
        } else {
            Err(AgentError::OutsideCareTeam)
        }
    }

    /// Flags a use of a break-glass grant in the audit log, so every access it opened is
    /// listed beside the grant itself.
    pub(crate) fn flag_break_glass(
        &self,
        trail: &mut Trail<'_>,
        access: PatientAccess,
        what: &str,
    ) -> Result<(), AgentError> {
        if access != PatientAccess::BreakGlass {
            return Ok(());
        }
        let mut event = trail.event(Action::BreakGlass, Outcome::Success);
        event.purpose = Some("emergency".to_owned());
        event.detail = Some(format!("{what} under a break-glass grant"));
        trail.record(event)
    }

    /// Refuses when an operator has frozen `patient`.
    pub(crate) fn check_not_frozen(&self, patient: &PatientRef) -> Result<(), AgentError> {
        not_frozen(&self.store, &self.tenant, patient)
    }
}

/// Refuses when `provider` is blocked for `tenant`.
pub fn provider_open(store: &Store, tenant: &str, provider: &str) -> Result<(), AgentError> {
    match store.provider_block(tenant, provider)? {
        Some(_) => Err(AgentError::ProviderBlocked(provider.to_owned())),
        None => Ok(()),
    }
}

/// Refuses when `patient` is frozen for `tenant`.
pub fn not_frozen(store: &Store, tenant: &str, patient: &PatientRef) -> Result<(), AgentError> {
    if store.is_patient_frozen(tenant, patient)? {
        Err(AgentError::PatientFrozen)
    } else {
        Ok(())
    }
}

/// The audit action of a refusal: `containment` when an operator's block or freeze caused it,
/// so `phigate audit search --action containment` lists the commands and everything they
/// stopped; `denial` otherwise.
pub(crate) fn refusal_action(err: &AgentError) -> Action {
    if err.is_containment() {
        Action::Containment
    } else {
        Action::Denial
    }
}

/// Records a refusal outside a task run (an import): who, which patient, and why.
pub(crate) fn audit_refusal(
    audit: &AuditLog,
    principal: &Principal,
    patient: &PatientRef,
    err: &AgentError,
) -> Result<(), AgentError> {
    let actor = Actor {
        user_id: principal.user_id.clone(),
        role: principal.role.as_str().to_owned(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, refusal_action(err), Outcome::Denied);
    event.patient_ref = Some(patient.as_str().to_owned());
    event.detail = Some(format!("import refused: {err}"));
    audit.append(event).map_err(AgentError::AuditUnavailable)?;
    Ok(())
}
