//! Jobs `phigate serve` runs beside the listener: keeping the web console's OAuth client in
//! step with the issuer, the periodic retention purge, and following signing-key rotations.

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

/// How often a running server looks for a rotated signing key.
const KEY_WATCH_PERIOD: Duration = Duration::from_secs(2);

/// Follows `phigate keys rotate-signing` while serving: when the signing key file changes, the
/// new key signs from then on and the retired keys are published beside it. A key file that
/// cannot be read is logged and the keys in use stay (a half-written file never replaces them).
pub(super) fn signing_key_watch(config: &Config, oauth: Arc<phigate_oauth::OAuthServer>) {
    let layout = datadir::Layout::new(&config.data_dir);
    let issuer = config.oauth.issuer.clone();
    tokio::spawn(async move {
        let modified = |layout: &datadir::Layout| {
            std::fs::metadata(layout.token_key())
                .and_then(|m| m.modified())
                .ok()
        };
        let mut seen = modified(&layout);
        let mut ticks = tokio::time::interval(KEY_WATCH_PERIOD);
        loop {
            ticks.tick().await;
            let now_modified = modified(&layout);
            if now_modified == seen {
                continue;
            }
            match reload_keys(&layout, &issuer) {
                Ok(keys) => {
                    oauth.set_keys(keys);
                    seen = now_modified;
                    tracing::info!("token signing key reloaded");
                }
                Err(err) => tracing::warn!(error = %err, "token signing key reload failed"),
            }
        }
    });
}

fn reload_keys(layout: &datadir::Layout, issuer: &str) -> Result<phigate_auth::TokenKeys> {
    let pkcs8 = phigate_crypto::secret_file::read_secret_file(&layout.token_key())
        .context("cannot read the token key")?;
    let signer = phigate_auth::TokenSigner::from_pkcs8(&pkcs8, issuer).context("bad token key")?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    crate::signing_keys::token_keys(layout, signer, now)
}
