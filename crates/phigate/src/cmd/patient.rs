//! `phigate patient forget`: crypto-shredding one patient.

use std::process::ExitCode;

use anyhow::{Result, bail};
use phigate_audit::{Action, Actor, AuditEvent, Outcome};
use phigate_store::Store;

use crate::cli::PatientCommand;
use crate::config::Config;
use crate::datadir;
use crate::output::Out;

/// Runs `phigate patient …`.
pub fn run(config: &Config, command: &PatientCommand) -> Result<ExitCode> {
    let PatientCommand::Forget { id, by_ref } = command;
    let opened = datadir::open(config)?;
    let patient = if *by_ref {
        match Store::parse_patient_ref(id) {
            Some(patient) => patient,
            None => bail!("a patient reference is 64 lowercase hexadecimal characters"),
        }
    } else {
        opened.store.patient_ref(&config.tenant, id)
    };

    let actor = Actor {
        user_id: "local-operator".into(),
        role: "admin".into(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::PatientForget, Outcome::Success);
    event.patient_ref = Some(patient.as_str().to_owned());
    let result = opened.store.forget_patient(&config.tenant, &patient);
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
