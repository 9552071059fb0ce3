//! What the containment commands (`phigate providers block|unblock`, `phigate patient
//! freeze|unfreeze`) share: the check that a reason carries no PHI, and their audit entries,
//! all under the `containment` action.

use anyhow::{Result, bail};
use phigate_audit::{Action, Actor, AuditEvent, AuditLog, Outcome};
use phigate_deid::KnownPhi;

use crate::cmd::deid;
use crate::config::Config;

/// Longest reason accepted.
pub const MAX_REASON_CHARS: usize = 200;

/// Who runs the containment commands, as the audit log names them.
pub const OPERATOR: &str = "local-operator";

/// Refuses an empty, overlong or multi-line reason, and one in which the PHI detector finds an
/// identifier: reasons are kept and audited in clear, so they must be incident references.
pub fn check_reason(config: &Config, reason: &str) -> Result<()> {
    let reason = reason.trim();
    if reason.is_empty()
        || reason.chars().count() > MAX_REASON_CHARS
        || reason.chars().any(char::is_control)
    {
        bail!("--reason must be one line of 1 to {MAX_REASON_CHARS} characters");
    }
    let found = deid::detector(config)?.detect(reason, &KnownPhi::new());
    if let Some(entity) = found.first() {
        bail!(
            "--reason looks like it holds an identifier (kind {}); give an incident reference \
             and a cause without patient details",
            entity.kind.tag()
        );
    }
    Ok(())
}

/// Appends a containment entry for the local operator.
pub fn audit(
    audit: &AuditLog,
    patient_ref: Option<&str>,
    provider: Option<&str>,
    detail: String,
) -> Result<()> {
    let actor = Actor {
        user_id: OPERATOR.into(),
        role: "admin".into(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::Containment, Outcome::Success);
    event.patient_ref = patient_ref.map(str::to_owned);
    event.provider = provider.map(str::to_owned);
    event.detail = Some(detail);
    audit.append(event)?;
    audit.checkpoint()?;
    Ok(())
}
