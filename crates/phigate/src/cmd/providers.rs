//! `phigate providers block|unblock|list`: incident containment for model providers.

use std::process::ExitCode;

use anyhow::{Result, bail};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::ProvidersCommand;
use crate::cmd::containment::{OPERATOR, audit, check_reason};
use crate::config::Config;
use crate::datadir;
use crate::output::Out;

/// The providers this build can call, so a typo cannot leave the real one unblocked.
pub const PROVIDERS: &[&str] = &["anthropic", "echo"];

/// Runs `phigate providers …`.
pub fn run(config: &Config, command: &ProvidersCommand) -> Result<ExitCode> {
    let opened = datadir::open(config)?;
    let store = &opened.store;
    let tenant = &config.tenant;
    let mut out = Out::new();
    match command {
        ProvidersCommand::Block { name, reason } => {
            known(name)?;
            check_reason(config, reason)?;
            let reason = reason.trim();
            if store.block_provider(tenant, name, reason, OPERATOR)? {
                audit(
                    &opened.audit,
                    None,
                    Some(name),
                    format!("provider {name} blocked: {reason}"),
                )?;
                out.line(format!(
                    "provider {name} blocked: every request that would reach it is now refused"
                ));
            } else {
                out.line(format!("provider {name} was already blocked"));
            }
        }
        ProvidersCommand::Unblock { name, reason } => {
            known(name)?;
            check_reason(config, reason)?;
            if !store.unblock_provider(tenant, name)? {
                bail!("provider {name} is not blocked");
            }
            let reason = reason.trim();
            audit(
                &opened.audit,
                None,
                Some(name),
                format!("provider {name} unblocked: {reason}"),
            )?;
            out.line(format!("provider {name} unblocked"));
        }
        ProvidersCommand::List => {
            out.line(format!(
                "{:<12} {:<22} {:<16} REASON",
                "PROVIDER", "BLOCKED_AT", "BY"
            ));
            for block in store.provider_blocks(tenant)? {
                out.line(format!(
                    "{:<12} {:<22} {:<16} {}",
                    block.provider,
                    rfc3339(block.blocked_at),
                    block.blocked_by,
                    block.reason
                ));
            }
        }
    }
    out.flush();
    Ok(ExitCode::SUCCESS)
}

fn known(name: &str) -> Result<()> {
    if PROVIDERS.contains(&name) {
        Ok(())
    } else {
        bail!(
            "unknown provider {name:?}; this build calls {}",
            PROVIDERS.join(", ")
        )
    }
}

/// A Unix time as RFC 3339, UTC.
pub fn rfc3339(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| at.to_string())
}
