//! `phigate patient forget`: a deletion request (crypto-shredding, rows deleted, tombstone).
//! Legal holds and the tombstone list are in [`crate::cmd::hold`]; incident containment
//! (freeze, unfreeze, frozen) in [`crate::cmd::freeze`].

use std::process::ExitCode;

use anyhow::{Result, bail};
use phigate_audit::{Action, Actor, AuditEvent, Outcome};
use phigate_store::{PatientRef, Store, StoreError};

use crate::cli::PatientCommand;
use crate::cmd::{care, freeze, hold};
use crate::config::Config;
use crate::datadir::{self, Opened};
use crate::output::Out;

/// Runs `phigate patient …`.
pub fn run(config: &Config, command: &PatientCommand) -> Result<ExitCode> {
    match command {
        PatientCommand::Forget {
            id,
            by_ref,
            request_id,
            requested_by,
        } => {
            let opened = datadir::open(config)?;
            let patient = resolve(config, &opened, id, *by_ref)?;
            let request_id = match request_id {
                Some(id) => checked_id("request id", id)?,
                None => phigate_agent::random_id()?,
            };
            let requested_by = checked_id("requester", requested_by)?;
            forget(config, &opened, &patient, &request_id, &requested_by)
        }
        PatientCommand::Freeze(args) => freeze::freeze(config, &datadir::open(config)?, args, true),
        PatientCommand::Unfreeze(args) => {
            freeze::freeze(config, &datadir::open(config)?, args, false)
        }
        PatientCommand::Frozen => freeze::list(config, &datadir::open(config)?),
        PatientCommand::Confine { off } => care::confine(config, &datadir::open(config)?, *off),
        PatientCommand::Assign(args) => care::assign(config, &datadir::open(config)?, args, true),
        PatientCommand::Unassign(args) => {
            care::assign(config, &datadir::open(config)?, args, false)
        }
        other => hold::run(config, other),
    }
}

/// The patient an argument names: an id, or with `by_ref` its stored reference.
pub(crate) fn resolve(
    config: &Config,
    opened: &Opened,
    id: &str,
    by_ref: bool,
) -> Result<PatientRef> {
    if by_ref {
        match Store::parse_patient_ref(id) {
            Some(patient) => Ok(patient),
            None => bail!("a patient reference is 64 lowercase hexadecimal characters"),
        }
    } else {
        Ok(opened.store.patient_ref(&config.tenant, id))
    }
}

/// The local operator, as the audit log records command-line administration.
pub(crate) fn operator() -> Actor {
    Actor {
        user_id: "local-operator".into(),
        role: "admin".into(),
        client_id: None,
        address: None,
    }
}

/// Request ids and requesters are ids (no spaces), so they cannot carry a patient's name.
fn checked_id(what: &str, id: &str) -> Result<String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@'));
    if !ok {
        bail!("a {what} is 1 to 64 letters, digits, '-', '_', '.', ':' or '@'");
    }
    Ok(id.to_owned())
}

fn forget(
    config: &Config,
    opened: &Opened,
    patient: &PatientRef,
    request_id: &str,
    requested_by: &str,
) -> Result<ExitCode> {
    let mut event = AuditEvent::new(operator(), Action::PatientForget, Outcome::Success);
    event.patient_ref = Some(patient.as_str().to_owned());
    let tenant = &config.tenant;
    let deleted = opened
        .store
        .tombstone(tenant, patient)?
        .filter(|t| t.reimported_at.is_none());
    let result = match deleted {
        Some(t) => Err(Refusal::AlreadyDeleted(t.request_id)),
        // A freeze preserves the data for an investigation; shredding it would destroy that.
        None if opened.store.is_patient_frozen(tenant, patient)? => Err(Refusal::Frozen),
        None if opened.store.is_held(tenant, patient)? => Err(Refusal::Held),
        None => opened
            .store
            .erase_patient(tenant, patient, request_id, requested_by)
            .map_err(Refusal::Store),
    };
    event.detail = Some(match &result {
        Ok(report) => format!(
            "tombstone for request {request_id} by {requested_by}: {} key versions destroyed, \
             {} vault maps, {} drafts and {} resources deleted",
            report.key_versions_destroyed,
            report.vaults_deleted,
            report.drafts_deleted,
            report.resources_deleted
        ),
        Err(err) => {
            event.outcome = Outcome::Failed;
            format!("deletion request {request_id} by {requested_by} failed: {err}")
        }
    });
    // The attempt is on record whatever happened.
    opened.audit.append(event)?;
    opened.audit.checkpoint()?;
    let report = result?;

    let mut out = Out::new();
    out.line(format!(
        "patient ref {}: {} key versions destroyed; {} vault maps, {} drafts and {} resources \
         deleted",
        short(patient),
        report.key_versions_destroyed,
        report.vaults_deleted,
        report.drafts_deleted,
        report.resources_deleted
    ));
    out.line(format!(
        "tombstone written for request {request_id}; importing this patient again needs \
         --allow-reimport"
    ));
    out.flush();
    Ok(ExitCode::SUCCESS)
}

/// Why a deletion request was not carried out. Names keyed references and request ids only.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("the patient was already deleted on request {0}")]
    AlreadyDeleted(String),
    #[error("the patient is under legal hold; release the hold first (`phigate patient release`)")]
    Held,
    #[error("that patient's data is frozen (incident containment); unfreeze it first")]
    Frozen,
    #[error(transparent)]
    Store(StoreError),
}

/// The first 16 characters of a patient reference, as command output shows it.
pub(crate) fn short(patient: &PatientRef) -> &str {
    patient.as_str().get(..16).unwrap_or_default()
}
