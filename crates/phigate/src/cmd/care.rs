//! `phigate patient confine|assign|unassign`: care relationships. A confined tenant lets each
//! staff member reach only the patients they are assigned to; anyone else takes a break-glass
//! grant (`POST /v1/break-glass`), which is time-limited, audited and in the auditor report.
//! Running servers read both on every request.

use std::process::ExitCode;

use anyhow::{Result, bail};
use phigate_audit::{Action, Actor, AuditEvent, Outcome};
use phigate_auth::Role;

use crate::cli::CareArgs;
use crate::cmd::patient::resolve;
use crate::config::Config;
use crate::datadir::Opened;
use crate::output::Out;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Turns confinement to care relationships on (or off) for the tenant, audited.
pub(crate) fn confine(config: &Config, opened: &Opened, off: bool) -> Result<ExitCode> {
    opened
        .store
        .set_care_team_required(&config.tenant, !off, now())?;
    let detail = if off {
        "staff reach every patient of the tenant"
    } else {
        "staff confined to their care relationships"
    };
    record(opened, None, detail)?;
    let mut out = Out::new();
    out.line(detail);
    out.flush();
    Ok(ExitCode::SUCCESS)
}

/// Puts a user on (or takes them off) a patient's care team, audited by keyed reference.
pub(crate) fn assign(
    config: &Config,
    opened: &Opened,
    args: &CareArgs,
    on: bool,
) -> Result<ExitCode> {
    let user = args.user.trim();
    if user.is_empty() || user.len() > 200 || user.chars().any(char::is_control) {
        bail!("--user must be a user id (1 to 200 printable characters)");
    }
    let patient = resolve(config, opened, &args.patient, args.by_ref)?;
    let store = &opened.store;
    if on {
        if !store.has_patient(&config.tenant, &patient)? {
            bail!("no such patient in the store");
        }
        store.assign_care(&config.tenant, user, &patient, now())?;
    } else if !store.unassign_care(&config.tenant, user, &patient)? {
        bail!("that user is not on that patient's care team");
    }
    let detail = if on {
        "care relationship assigned"
    } else {
        "care relationship ended"
    };
    record(opened, Some(patient.as_str()), detail)?;
    let short = patient.as_str().get(..16).unwrap_or_default();
    let mut out = Out::new();
    out.line(format!("{detail}: patient ref {short}…"));
    out.flush();
    Ok(ExitCode::SUCCESS)
}

/// Records the change by the local operator; the user id stays out of the entry's free text.
fn record(opened: &Opened, patient: Option<&str>, detail: &str) -> Result<()> {
    let actor = Actor {
        user_id: "local-operator".into(),
        role: Role::Admin.as_str().into(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::ConfigChange, Outcome::Success);
    event.patient_ref = patient.map(str::to_owned);
    event.detail = Some(detail.to_owned());
    opened.audit.append(event)?;
    Ok(())
}
