//! Jobs `phigate serve` runs beside the listener: keeping the web console's OAuth client in
//! step with the issuer, and the periodic retention purge.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::datadir;

/// Keeps the web console's OAuth client in step with `oauth.issuer`, auditing any change.
pub(super) fn console_client(config: &Config, opened: &datadir::Opened) -> Result<()> {
    use phigate_gateway::ConsoleClient;
    let outcome =
        phigate_gateway::ensure_console_client(&opened.store, &config.tenant, &config.oauth.issuer)
            .context("cannot register the web console's OAuth client")?;
    let detail = match outcome {
        ConsoleClient::Registered => "web console client registered",
        ConsoleClient::Updated => "web console client redirect URI follows oauth.issuer",
        ConsoleClient::Unchanged | ConsoleClient::Revoked => return Ok(()),
    };
    crate::cmd::init::record_operator_change(&opened.audit, detail)
}

/// Purges what is past retention every `retention.purge_interval_secs` (first after one
/// interval), off the request threads. Failures are logged and retried at the next tick.
pub(super) fn retention_job(
    config: &Config,
    store: phigate_store::Store,
    audit: Arc<phigate_audit::AuditLog>,
) {
    let secs = config.retention.purge_interval_secs;
    if secs == 0 {
        return;
    }
    let config = config.clone();
    tokio::spawn(async move {
        let period = Duration::from_secs(secs);
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            ticks.tick().await;
            let (config, store, audit) = (config.clone(), store.clone(), audit.clone());
            let done = tokio::task::spawn_blocking(move || {
                crate::cmd::retention::purge(&config, &store, &audit)
            })
            .await;
            match done {
                Ok(Ok(report)) => {
                    tracing::info!(
                        retention.summary = %crate::cmd::retention::describe(&report),
                        "retention purge"
                    );
                }
                Ok(Err(err)) => tracing::warn!(error = %err, "retention purge failed"),
                Err(_) => tracing::warn!("retention purge stopped unexpectedly"),
            }
        }
    });
}
