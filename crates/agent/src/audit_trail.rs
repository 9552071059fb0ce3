//! Building the audit events of one task run.

use phigate_audit::{Action, Actor, AuditEvent, AuditLog, Outcome};
use phigate_auth::Principal;

use crate::AgentError;

/// The audit context shared by every event of one run.
pub(crate) struct Trail<'a> {
    pub log: &'a AuditLog,
    pub principal: &'a Principal,
    pub request_id: &'a str,
    pub task: &'a str,
    pub patient_ref: Option<String>,
    pub seqs: Vec<u64>,
}

impl Trail<'_> {
    pub fn event(&self, action: Action, outcome: Outcome) -> AuditEvent {
        let actor = Actor {
            user_id: self.principal.user_id.clone(),
            role: self.principal.role.as_str().to_owned(),
            client_id: None,
            address: None,
        };
        let mut event = AuditEvent::new(actor, action, outcome);
        event.patient_ref = self.patient_ref.clone();
        event.task = Some(self.task.to_owned());
        event.request_id = Some(self.request_id.to_owned());
        event
    }

    /// Appends durably; a failure here stops the run before anything else happens.
    pub fn record(&mut self, event: AuditEvent) -> Result<(), AgentError> {
        let receipt = self
            .log
            .append(event)
            .map_err(AgentError::AuditUnavailable)?;
        self.seqs.push(receipt.seq);
        Ok(())
    }
}
