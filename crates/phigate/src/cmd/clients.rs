//! `phigate clients add|list|revoke`: OAuth clients, run by the local operator.
//!
//! Secrets are generated here, printed once and stored as a digest. `private_key_jwt` clients
//! register their public keys as a JWKS file instead; public clients (`none`) have no secret and
//! may only use the authorization code flow with PKCE.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use phigate_audit::{Action, Actor, AuditEvent, Outcome};
use phigate_auth::{Role, random_token, scope};
use phigate_oauth::{METHODS, hash_client_secret};
use phigate_store::ClientRecord;

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
            let client = new_client(
                config,
                name,
                role,
                method,
                redirect_uris,
                scopes,
                jwks.as_deref(),
            )?;
            let secret = if method.starts_with("client_secret") {
                Some(random_token("phs_")?)
            } else {
                None
            };
            let record = ClientRecord {
                secret_hash: secret.as_ref().map(|s| hash_client_secret(s)),
                ..client
            };
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

fn new_client(
    config: &Config,
    name: &str,
    role: &str,
    method: &str,
    redirect_uris: &[String],
    scopes: &[String],
    jwks: Option<&std::path::Path>,
) -> Result<ClientRecord> {
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        bail!("a client name must be 1 to 64 printable characters");
    }
    let role = Role::parse(role).context("unknown role")?;
    if !METHODS.contains(&method) {
        bail!("--method must be one of {}", METHODS.join(", "));
    }
    for uri in redirect_uris {
        let loopback = uri.starts_with("http://127.0.0.1") || uri.starts_with("http://localhost");
        if !(uri.starts_with("https://") || loopback) || uri.contains('#') || uri.contains(' ') {
            bail!("redirect URIs must be https:// (or http:// on loopback) without a fragment");
        }
    }
    let role_scopes: Vec<String> = phigate_auth::scopes(role)
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let scopes = if scopes.is_empty() {
        role_scopes
    } else {
        for s in scopes {
            if !scope::is_granted(&role_scopes, s) {
                bail!(
                    "scope {s} is not within what the {} role grants",
                    role.as_str()
                );
            }
        }
        scopes.to_vec()
    };
    let jwks = match (method, jwks) {
        ("private_key_jwt", Some(path)) => Some(read_jwks(path)?),
        ("private_key_jwt", None) => bail!("private_key_jwt clients need --jwks FILE"),
        (_, Some(_)) => bail!("--jwks is only for private_key_jwt clients"),
        (_, None) => None,
    };
    Ok(ClientRecord {
        id: format!("cl_{}", phigate_agent::random_id()?),
        tenant: config.tenant.clone(),
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        auth_method: method.to_owned(),
        secret_hash: None,
        jwks,
        redirect_uris: redirect_uris.to_vec(),
        scopes,
        revoked: false,
    })
}

fn read_jwks(path: &std::path::Path) -> Result<String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_JWKS_BYTES).read_to_string(&mut text)?;
    let value: serde_json::Value =
        serde_json::from_str(&text).context("the JWKS file is not JSON")?;
    let keys = value["keys"]
        .as_array()
        .context("the JWKS file has no \"keys\" array")?;
    if keys.is_empty()
        || keys
            .iter()
            .any(|k| k.get("d").is_some() || k["kid"].as_str().is_none())
    {
        bail!("the JWKS must list public keys only, each with a kid");
    }
    Ok(value.to_string())
}
