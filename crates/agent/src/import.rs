//! Importing a patient bundle into the encrypted store.

use phigate_audit::{Action, Actor, AuditEvent, AuditLog, Outcome};
use phigate_auth::Principal;
use phigate_fhir::Bundle;
use phigate_store::{PatientRef, Store};

use crate::AgentError;

/// What an import wrote.
#[derive(Debug)]
pub struct ImportReport {
    /// The patient's keyed reference.
    pub patient_ref: PatientRef,
    /// The patient's logical id (an identifier: print it only to the importing operator).
    pub patient_id: String,
    /// Resources written.
    pub resources: usize,
}

/// Checks a whole bundle, then writes its patient's resources sealed, in one transaction, and
/// records the import in the audit log. A malformed bundle writes nothing.
pub fn import_bundle(
    store: &Store,
    audit: &AuditLog,
    principal: &Principal,
    tenant: &str,
    bytes: &[u8],
) -> Result<ImportReport, AgentError> {
    let record = Bundle::from_slice(bytes)?.into_patient_record()?;
    let patient_id = record.patient_id().to_owned();
    let patient_ref = store.patient_ref(tenant, &patient_id);
    if let Err(err) = crate::containment::not_frozen(store, tenant, &patient_ref) {
        crate::containment::audit_refusal(audit, principal, &patient_ref, &err)?;
        return Err(err);
    }
    let resources = store.put_patient(tenant, &patient_ref, &record.to_rows())?;

    let actor = Actor {
        user_id: principal.user_id.clone(),
        role: principal.role.as_str().to_owned(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::Import, Outcome::Success);
    event.patient_ref = Some(patient_ref.as_str().to_owned());
    event.detail = Some(format!("{resources} resources"));
    audit.append(event).map_err(AgentError::AuditUnavailable)?;
    Ok(ImportReport {
        patient_ref,
        patient_id,
        resources,
    })
}
