//! `phigate clients add|list|revoke`: OAuth clients, run by the local operator.
//!
//! Secrets are generated here, printed once and stored as a digest. `private_key_jwt` clients
//! register their public keys as a JWKS file instead; public clients (`none`) have no secret and
//! may only use the authorization code flow with PKCE.

use std::process::ExitCode;

use anyhow::{Context, Result};
use phigate_audit::{Action, Actor, AuditEvent, Outcome};
use phigate_auth::Role;
use phigate_oauth::{Registration, new_client};

use crate::cli::ClientsCommand;
use crate::config::Config;
use crate::datadir;
use crate::output::Out;

/// Largest JWKS file read.
const MAX_JWKS_BYTES: u64 = 64 * 1024;

/// Runs `phigate clients …`.
pub fn run(config: &Config, command: &ClientsCommand) -> Result<ExitCode> {
    let opened = datadir::open(config)?;
    let mut out = Out::new();
    let detail = match command {
        ClientsCommand::Add {
            name,
            role,
            method,
            redirect_uris,
            scopes,
            jwks,
        } => {
            let jwks = jwks.as_deref().map(read_jwks).transpose()?;
            let registration = Registration {
                name,
                role,
                method,
                redirect_uris,
                scopes,
                jwks: jwks.as_deref(),
            };
            let (record, secret) = new_client(&config.tenant, &registration)?;
            opened.store.insert_client(&record)?;
            out.line(format!("client_id      {}", record.id));
            if let Some(secret) = &secret {
                out.line(format!("client_secret  {} (shown once)", secret.as_str()));
            }
            out.line(format!("method         {}", record.auth_method));
            out.line(format!("scopes         {}", record.scopes.join(" ")));
            format!("OAuth client {} added ({})", record.id, record.auth_method)
        }
        ClientsCommand::List => {
            out.line(format!(
                "{:<36} {:<20} {:<10} {:<20} {}",
                "CLIENT_ID", "NAME", "ROLE", "METHOD", "STATE"
            ));
            for c in opened.store.list_clients(&config.tenant)? {
                out.line(format!(
                    "{:<36} {:<20} {:<10} {:<20} {}",
                    c.id,
                    c.name,
                    c.role,
                    c.auth_method,
                    if c.revoked { "revoked" } else { "active" }
                ));
            }
            out.flush();
            return Ok(ExitCode::SUCCESS);
        }
        ClientsCommand::Revoke { client_id } => {
            opened
                .store
                .revoke_client(&config.tenant, client_id)
                .with_context(|| format!("cannot revoke {client_id}"))?;
            out.line(format!(
                "{client_id} revoked, with every session issued through it"
            ));
            format!("OAuth client {client_id} revoked")
        }
    };
    let actor = Actor {
        user_id: "local-operator".into(),
        role: Role::Admin.as_str().into(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::ConfigChange, Outcome::Success);
    event.detail = Some(detail);
    opened.audit.append(event)?;
    out.flush();
    Ok(ExitCode::SUCCESS)
}

fn read_jwks(path: &std::path::Path) -> Result<String> {
    use std::io::Read;
    // Checked before opening: opening a FIFO for reading waits for a writer forever, and a
    // device such as /dev/zero never ends.
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        anyhow::bail!("{} is not a regular file", path.display());
    }
    if meta.len() > MAX_JWKS_BYTES {
        anyhow::bail!("{} is larger than {MAX_JWKS_BYTES} bytes", path.display());
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_JWKS_BYTES).read_to_string(&mut text)?;
    Ok(text)
}
