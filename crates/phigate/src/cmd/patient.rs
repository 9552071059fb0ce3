//! `phigate patient forget|freeze|unfreeze|frozen`: crypto-shredding one patient, and incident
//! containment of one patient's data.

use std::process::ExitCode;

use anyhow::{Result, bail};
use phigate_audit::{Action, Actor, AuditEvent, Outcome};
use phigate_store::{PatientRef, Store};

use crate::cli::{FreezeArgs, PatientCommand};
use crate::cmd::containment::{OPERATOR, audit, check_reason};
use crate::cmd::providers::rfc3339;
use crate::config::Config;
use crate::datadir::{self, Opened};
use crate::output::Out;

/// Runs `phigate patient …`.
pub fn run(config: &Config, command: &PatientCommand) -> Result<ExitCode> {
    let opened = datadir::open(config)?;
    match command {
        PatientCommand::Forget { id, by_ref } => {
            let patient = patient_ref(config, &opened, id, *by_ref)?;
            forget(config, &opened, &patient)
        }
        PatientCommand::Freeze(args) => freeze(config, &opened, args, true),
        PatientCommand::Unfreeze(args) => freeze(config, &opened, args, false),
        PatientCommand::Frozen => {
            let mut out = Out::new();
            out.line(format!(
                "{:<64} {:<22} {:<16} REASON",
                "PATIENT_REF", "FROZEN_AT", "BY"
            ));
            for f in opened.store.patient_freezes(&config.tenant)? {
                out.line(format!(
                    "{:<64} {:<22} {:<16} {}",
                    f.patient_ref,
                    rfc3339(f.frozen_at),
                    f.frozen_by,
                    f.reason
                ));
            }
            out.flush();
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn patient_ref(config: &Config, opened: &Opened, id: &str, by_ref: bool) -> Result<PatientRef> {
    if by_ref {
        match Store::parse_patient_ref(id) {
            Some(patient) => Ok(patient),
            None => bail!("a patient reference is 64 lowercase hexadecimal characters"),
        }
    } else {
        Ok(opened.store.patient_ref(&config.tenant, id))
    }
}

/// Freezes (or unfreezes) one patient and audits it. The patient is printed only as the first
/// characters of their reference.
fn freeze(config: &Config, opened: &Opened, args: &FreezeArgs, on: bool) -> Result<ExitCode> {
    check_reason(config, &args.reason)?;
    let reason = args.reason.trim();
    let patient = patient_ref(config, opened, &args.patient, args.by_ref)?;
    let short = patient.as_str().get(..16).unwrap_or_default();
    let store = &opened.store;
    let mut out = Out::new();
    if on {
        if !store.has_patient(&config.tenant, &patient)? {
            bail!("no such patient in the store");
        }
        if store.freeze_patient(&config.tenant, &patient, reason, OPERATOR)? {
            let detail = format!("patient data frozen: {reason}");
            audit(&opened.audit, Some(patient.as_str()), None, detail)?;
            out.line(format!(
                "patient ref {short}… frozen: nothing may read, disclose or change their data"
            ));
        } else {
            out.line(format!("patient ref {short}… was already frozen"));
        }
    } else {
        if !store.unfreeze_patient(&config.tenant, &patient)? {
            bail!("that patient is not frozen");
        }
        let detail = format!("patient data unfrozen: {reason}");
        audit(&opened.audit, Some(patient.as_str()), None, detail)?;
        out.line(format!("patient ref {short}… unfrozen"));
    }
    out.flush();
    Ok(ExitCode::SUCCESS)
}

fn forget(config: &Config, opened: &Opened, patient: &PatientRef) -> Result<ExitCode> {
    if opened.store.is_patient_frozen(&config.tenant, patient)? {
        // A freeze preserves the data for an investigation; shredding it would destroy that.
        bail!("that patient's data is frozen (incident containment); unfreeze it first");
    }
    let actor = Actor {
        user_id: "local-operator".into(),
        role: "admin".into(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::PatientForget, Outcome::Success);
    event.patient_ref = Some(patient.as_str().to_owned());
    let result = opened.store.forget_patient(&config.tenant, patient);
    match &result {
        Ok(report) => {
            event.detail = Some(format!(
                "tombstone: {} key versions destroyed, {} vault maps deleted, {} rows left sealed",
                report.key_versions_destroyed, report.vaults_deleted, report.rows_kept
            ));
        }
        Err(err) => {
            event.outcome = Outcome::Failed;
            event.detail = Some(format!("forget failed: {err}"));
        }
    }
    // The tombstone is written whatever happened, so the attempt is on record.
    opened.audit.append(event)?;
    opened.audit.checkpoint()?;
    let report = result?;

    let mut out = Out::new();
    out.line(format!(
        "patient ref {}: {} key versions destroyed, {} vault maps deleted",
        patient.as_str().get(..16).unwrap_or_default(),
        report.key_versions_destroyed,
        report.vaults_deleted
    ));
    out.line(format!(
        "{} resource and draft rows remain, sealed under keys that no longer exist",
        report.rows_kept
    ));
    out.flush();
    Ok(ExitCode::SUCCESS)
}
