//! `phigate patient hold|release|holds|tombstones`: legal holds, and the record deletion
//! requests leave. Output names patients by keyed reference only.

use std::process::ExitCode;

use anyhow::{Result, bail};
use phigate_audit::{Action, AuditEvent, Outcome};

use crate::cli::PatientCommand;
use crate::cmd::patient::{operator, resolve, short};
use crate::config::Config;
use crate::datadir::{self, Opened};
use crate::output::Out;

/// Longest hold reason accepted.
const MAX_REASON_CHARS: usize = 1000;

/// Runs the hold and tombstone subcommands of `phigate patient`.
pub fn run(config: &Config, command: &PatientCommand) -> Result<ExitCode> {
    let opened = datadir::open(config)?;
    let mut out = Out::new();
    match command {
        PatientCommand::Hold {
            patient,
            by_ref,
            reason,
        } => {
            let reason = reason.trim();
            if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
                bail!("a hold needs a reason of 1 to {MAX_REASON_CHARS} characters");
            }
            let patient = resolve(config, &opened, patient, *by_ref)?;
            let result =
                opened
                    .store
                    .place_hold(&config.tenant, &patient, reason, "local-operator");
            record(&opened, &patient, "hold placed", result.is_ok())?;
            result?;
            out.line(format!(
                "patient ref {} is under legal hold: retention skips them and deletion \
                 requests are refused until `phigate patient release`",
                short(&patient)
            ));
        }
        PatientCommand::Release { patient, by_ref } => {
            let patient = resolve(config, &opened, patient, *by_ref)?;
            let result = opened.store.release_hold(&config.tenant, &patient);
            record(&opened, &patient, "hold released", result.is_ok())?;
            result?;
            out.line(format!(
                "patient ref {}: legal hold released",
                short(&patient)
            ));
        }
        PatientCommand::Holds => {
            let holds = opened.store.legal_holds(&config.tenant)?;
            out.line(format!("{} patients under legal hold", holds.len()));
            for hold in holds {
                out.line(format!(
                    "{}  held by {} at {}",
                    hold.patient.as_str(),
                    hold.held_by,
                    rfc3339(hold.held_at)
                ));
            }
        }
        PatientCommand::Tombstones => {
            let tombstones = opened.store.tombstones(&config.tenant)?;
            out.line(format!("{} tombstones", tombstones.len()));
            for t in tombstones {
                let again = t
                    .reimported_at
                    .map(|at| format!(", imported again at {}", rfc3339(at)))
                    .unwrap_or_default();
                out.line(format!(
                    "{}  request {} by {} at {}{again}",
                    t.patient.as_str(),
                    t.request_id,
                    t.requested_by,
                    rfc3339(t.forgotten_at)
                ));
            }
        }
        PatientCommand::Forget { .. }
        | PatientCommand::Freeze(_)
        | PatientCommand::Unfreeze(_)
        | PatientCommand::Frozen
        | PatientCommand::Confine { .. }
        | PatientCommand::Assign(_)
        | PatientCommand::Unassign(_) => bail!("not a hold command"),
    }
    out.flush();
    Ok(ExitCode::SUCCESS)
}

/// Audits a hold change (the reason stays in the store, sealed; the log gets no free text).
fn record(
    opened: &Opened,
    patient: &phigate_store::PatientRef,
    what: &str,
    ok: bool,
) -> Result<()> {
    let outcome = if ok {
        Outcome::Success
    } else {
        Outcome::Failed
    };
    let mut event = AuditEvent::new(operator(), Action::LegalHold, outcome);
    event.patient_ref = Some(patient.as_str().to_owned());
    event.detail = Some(what.to_owned());
    opened.audit.append(event)?;
    Ok(())
}

/// Unix seconds as RFC 3339.
pub(crate) fn rfc3339(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string())
}
