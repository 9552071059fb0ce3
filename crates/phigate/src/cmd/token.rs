//! `phigate token`: mints an access token on this machine, for a service or a test client.
//!
//! Whoever can read the data directory's token key can sign tokens anyway; this command does it
//! in the open, and the audit log records who it was minted for. Remote callers get tokens from
//! the OAuth server that `phigate serve` runs (`/oauth/token`).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use phigate_audit::{Action, Actor, AuditEvent, Outcome};
use phigate_auth::{Principal, Role, scopes};
use time::OffsetDateTime;

use crate::cli::TokenArgs;
use crate::config::Config;
use crate::datadir::{self, TOKEN_AUDIENCE};
use crate::output::Out;

/// Runs `phigate token`.
pub fn run(config: &Config, args: &TokenArgs) -> Result<ExitCode> {
    let opened = datadir::open(config)?;
    let role = Role::parse(&args.role).context("unknown role")?;
    let principal = Principal {
        user_id: args.subject.clone(),
        tenant: config.tenant.clone(),
        role,
        scopes: scopes(role).iter().map(|s| (*s).to_owned()).collect(),
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let ttl = Duration::from_secs(args.ttl_secs);
    let token = opened.tokens.issue(&principal, TOKEN_AUDIENCE, ttl, now)?;

    let actor = Actor {
        user_id: "local-operator".into(),
        role: Role::Admin.as_str().into(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::TokenIssued, Outcome::Success);
    event.detail = Some(format!(
        "access token for {} ({}) minted locally",
        args.subject,
        role.as_str()
    ));
    opened.audit.append(event)?;

    let mut out = Out::new();
    out.line(token);
    out.flush();
    Ok(ExitCode::SUCCESS)
}
