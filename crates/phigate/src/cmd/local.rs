//! What `phigate run` and `phigate drafts` share: a local person signed in with a role, and the
//! pipeline over the data directory.

use std::sync::Arc;

use anyhow::{Context, Result};
use phigate_agent::{Catalog, Pipeline, Session, random_id, set_user, sign_in};
use phigate_auth::Role;

use crate::cli::ProviderChoice;
use crate::cmd::{deid, demo};
use crate::config::Config;
use crate::datadir::{self, Opened, TOKEN_AUDIENCE};

/// Signs in the local user `local-<role>` (created or reset with a one-time random password),
/// through the same password and token checks as anyone else, so the audit log names them.
pub fn sign_in_local(config: &Config, opened: &Opened, role: &str) -> Result<Session> {
    let role = Role::parse(role).context("unknown role")?;
    let username = format!("local-{}", role.as_str());
    let password = random_id()?;
    set_user(&opened.store, &config.tenant, &username, role, &password)?;
    Ok(sign_in(
        &opened.store,
        &opened.audit,
        &opened.tokens,
        TOKEN_AUDIENCE,
        &config.tenant,
        &username,
        &password,
    )?)
}

/// The data directory and the pipeline over it.
pub fn open(config: &Config, provider: Option<ProviderChoice>) -> Result<(Opened, Pipeline)> {
    let opened = datadir::open(config)?;
    let pipeline = pipeline(config, &opened, provider)?;
    Ok((opened, pipeline))
}

/// The agent pipeline over an opened data directory.
pub fn pipeline(
    config: &Config,
    opened: &Opened,
    provider: Option<ProviderChoice>,
) -> Result<Pipeline> {
    crate::disclosure::warn_if_unsafe(config);
    Ok(Pipeline {
        tenant: config.tenant.clone(),
        store: opened.store.clone(),
        audit: opened.audit.clone(),
        detector: Arc::new(deid::detector(config)?),
        provider: demo::provider(config, provider)?,
        provider_baa: crate::disclosure::linkable(config),
        model: config.provider.model.clone(),
        catalog: Arc::new(Catalog::builtin()?),
    })
}
