//! Reading and acknowledging incidents, for the HTTP API and the command line.

use phigate_audit::{Action, Actor, AuditEvent, AuditLog, Outcome};
use phigate_store::{IncidentRecord, Store};
use time::OffsetDateTime;

use crate::IncidentError;
use crate::model::{IncidentView, Status};

/// Most incidents one listing returns.
pub const LIST_LIMIT: u32 = 500;

/// A tenant's incidents in the store.
#[derive(Clone)]
pub struct IncidentBook {
    store: Store,
    tenant: String,
}

impl IncidentBook {
    /// The incidents of `tenant` in `store`.
    pub fn new(store: Store, tenant: impl Into<String>) -> Self {
        Self {
            store,
            tenant: tenant.into(),
        }
    }

    /// The tenant.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Incidents newest first, optionally in one status.
    pub fn list(&self, status: Option<Status>) -> Result<Vec<IncidentView>, IncidentError> {
        let records = self
            .store
            .incidents(&self.tenant, status.map(Status::as_str), LIST_LIMIT)?;
        Ok(records.iter().map(IncidentView::from).collect())
    }

    /// One incident with everything stored about it.
    pub fn get(&self, id: &str) -> Result<IncidentRecord, IncidentError> {
        self.store
            .incident(&self.tenant, id)?
            .ok_or(IncidentError::NotFound)
    }

    /// The patient references an incident touched.
    pub fn patients(&self, id: &str) -> Result<Vec<String>, IncidentError> {
        Ok(self.store.incident_patients(&self.tenant, id)?)
    }

    /// Acknowledges an open incident on behalf of `actor`, auditing it; an incident already
    /// acknowledged or closed is returned unchanged, and nothing is audited.
    pub fn acknowledge(
        &self,
        id: &str,
        actor: Actor,
        audit: &AuditLog,
    ) -> Result<IncidentRecord, IncidentError> {
        let before = self.get(id)?;
        if before.status != Status::Open.as_str() {
            return Ok(before);
        }
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut event = AuditEvent::new(actor.clone(), Action::Incident, Outcome::Success);
        event.detail = Some(format!("acknowledged incident {id}"));
        // Audit first: an acknowledgement nobody can trace is not made.
        audit.append(event)?;
        self.store
            .acknowledge_incident(&self.tenant, id, &actor.user_id, now)?
            .ok_or(IncidentError::NotFound)
    }
}
