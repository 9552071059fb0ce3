//! Importing one input file (a bundle or bulk NDJSON) into the encrypted store, all or nothing:
//! the file is parsed, its references checked and its patients' deletion tombstones consulted
//! before anything is written, and then every patient of the file is written in one
//! transaction. Each patient's import is audited.

use phigate_audit::{Action, Actor, AuditError, AuditEvent, AuditLog, Outcome};
use phigate_auth::Principal;
use phigate_fhir::{FhirError, ImportSet, InputFormat, ReferenceSummary};
use phigate_store::{ImportCounts, PatientRef, Store, StoreError};
use thiserror::Error;

/// Why a file was refused. Nothing of it was written. Messages name positions and keyed
/// references, never values.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file is malformed, or a reference does not resolve.
    #[error(transparent)]
    Fhir(#[from] FhirError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A patient of the file was deleted on request; importing them again must be asked for.
    #[error(
        "patient ref {patient_ref} was deleted on request {request_id}; \
         pass --allow-reimport to import them again"
    )]
    Deleted {
        /// The first 16 characters of the patient's keyed reference.
        patient_ref: String,
        /// The deletion request's id.
        request_id: String,
    },
    /// A patient of the file is frozen by incident containment; nothing of the file is written.
    #[error("patient ref {patient_ref}: that patient's data is frozen (incident containment)")]
    Frozen {
        /// The first 16 characters of the patient's keyed reference.
        patient_ref: String,
    },
    /// The data was written but the audit log could not record it.
    #[error("audit log unavailable")]
    Audit(#[source] AuditError),
}

/// How to import.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// Import patients that a deletion request removed (their tombstones stay on record).
    pub allow_reimport: bool,
}

/// What importing one file did.
#[derive(Debug)]
pub struct FileReport {
    /// `transaction bundle`, `batch bundle`, `collection bundle` or `NDJSON`.
    pub kind: &'static str,
    /// Resources in the file.
    pub resources: usize,
    /// What was written.
    pub counts: ImportCounts,
    /// Resources naming no patient, not stored.
    pub unassigned: usize,
    /// The references found, by kind.
    pub references: ReferenceSummary,
    /// The patients written, as keyed references.
    pub patients: Vec<PatientRef>,
    /// Patients imported again after a deletion request.
    pub reimported: usize,
}

/// Imports one file. `progress` is told how many resources each step sealed.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site per transport, all named"
)]
pub fn import_file(
    store: &Store,
    audit: &AuditLog,
    principal: &Principal,
    tenant: &str,
    format: InputFormat,
    bytes: &[u8],
    options: ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<FileReport, ImportError> {
    let set = ImportSet::parse(format, bytes)?;
    let (kind, resources) = (set.kind(), set.len());
    let references = set.references()?;
    for unresolved in &references.unresolved {
        if !store.resource_exists(tenant, &unresolved.resource_type, &unresolved.id)? {
            return Err(unresolved.dangling().into());
        }
    }
    let grouped = set.into_patients();

    let mut patients = Vec::with_capacity(grouped.patients.len());
    let mut reimport = Vec::new();
    for group in &grouped.patients {
        let patient = store.patient_ref(tenant, &group.patient_id);
        if store.is_patient_frozen(tenant, &patient)? {
            let refusal = crate::AgentError::PatientFrozen;
            if let Err(err) =
                crate::containment::audit_refusal(audit, principal, &patient, &refusal)
            {
                return Err(match err {
                    crate::AgentError::AuditUnavailable(audit_err) => ImportError::Audit(audit_err),
                    _ => ImportError::Frozen {
                        patient_ref: short(&patient),
                    },
                });
            }
            return Err(ImportError::Frozen {
                patient_ref: short(&patient),
            });
        }
        if let Some(tombstone) = store.tombstone(tenant, &patient)?
            && tombstone.reimported_at.is_none()
        {
            if !options.allow_reimport {
                return Err(ImportError::Deleted {
                    patient_ref: short(&patient),
                    request_id: tombstone.request_id,
                });
            }
            reimport.push(patient.clone());
        }
        patients.push(patient);
    }
    for patient in &reimport {
        store.allow_reimport(tenant, patient)?;
    }

    let mut prepared = Vec::with_capacity(patients.len());
    for (group, patient) in grouped.patients.iter().zip(&patients) {
        prepared.push(store.prepare_import(tenant, patient, &group.rows)?);
        progress(group.rows.len() as u64);
    }
    let counts = store.commit_import(tenant, &prepared)?;

    for (patient, prepared) in patients.iter().zip(&prepared) {
        let c = prepared.counts();
        let again = if reimport.contains(patient) {
            ", imported again after a deletion request"
        } else {
            ""
        };
        let detail = format!(
            "{kind}: {} new, {} updated, {} unchanged resources{again}",
            c.created, c.updated, c.unchanged
        );
        record(audit, principal, patient, detail)?;
    }
    Ok(FileReport {
        kind,
        resources,
        counts,
        unassigned: grouped.unassigned,
        references: references.summary,
        patients,
        reimported: reimport.len(),
    })
}

fn record(
    audit: &AuditLog,
    principal: &Principal,
    patient: &PatientRef,
    detail: String,
) -> Result<(), ImportError> {
    let actor = Actor {
        user_id: principal.user_id.clone(),
        role: principal.role.as_str().to_owned(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::Import, Outcome::Success);
    event.patient_ref = Some(patient.as_str().to_owned());
    event.detail = Some(detail);
    audit.append(event).map_err(ImportError::Audit)?;
    Ok(())
}

fn short(patient: &PatientRef) -> String {
    patient.as_str().get(..16).unwrap_or_default().to_owned()
}
