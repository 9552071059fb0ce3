//! `phigate patient freeze|unfreeze|frozen`: incident containment of one patient's data.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::FreezeArgs;
use crate::cmd::containment::{OPERATOR, audit, check_reason};
use crate::cmd::patient::resolve;
use crate::cmd::providers::rfc3339;
use crate::config::Config;
use crate::datadir::Opened;
use crate::output::Out;

/// Lists frozen patients (keyed references) with who froze them, when and why.
pub(crate) fn list(config: &Config, opened: &Opened) -> Result<ExitCode> {
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

/// Freezes (or unfreezes) one patient and audits it. The patient is printed only as the first
/// characters of their reference.
pub(crate) fn freeze(
    config: &Config,
    opened: &Opened,
    args: &FreezeArgs,
    on: bool,
) -> Result<ExitCode> {
    check_reason(config, &args.reason)?;
    let reason = args.reason.trim();
    let patient = resolve(config, opened, &args.patient, args.by_ref)?;
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
