//! What the patient's page shows beside the conversation: their own appointments, read from
//! their own record and audited like any read of it.

use phigate_audit::{Action, Outcome};
use phigate_auth::Principal;
use phigate_store::PatientRef;
use serde_json::{Value, json};

use super::ASSISTANT_TASK;
use crate::audit_trail::Trail;
use crate::{AgentError, Pipeline, random_id, tools};

impl Pipeline {
    /// The appointments of `patient` (the record `principal`'s account is bound to), soonest
    /// first, with the read audited with the patient as actor.
    pub fn own_appointments(
        &self,
        principal: &Principal,
        patient: &PatientRef,
    ) -> Result<Value, AgentError> {
        let request_id = random_id()?;
        let task = self.catalog.task(ASSISTANT_TASK)?;
        let mut trail = Trail {
            log: &self.audit,
            principal,
            request_id: &request_id,
            task: &task.name,
            patient_ref: Some(patient.as_str().to_owned()),
            seqs: Vec::new(),
        };
        let allowed = task.authorize(principal).and_then(|()| {
            self.catalog
                .tool("list_my_appointments")
                .ok_or(AgentError::Internal("list_my_appointments is not declared"))?
                .authorize(principal)
        });
        if let Err(refused) = allowed {
            let mut event = trail.event(Action::Denial, Outcome::Denied);
            event.detail = Some(refused.to_string());
            trail.record(event)?;
            return Err(refused);
        }
        let record = self.load_record(patient)?;
        let mut read = trail.event(Action::Read, Outcome::Success);
        read.purpose = Some(task.purpose.clone());
        read.detail = Some("own appointments".into());
        trail.record(read)?;
        let appointments = tools::own_appointments(&record);
        Ok(json!({"request_id": request_id, "appointments": appointments}))
    }
}
