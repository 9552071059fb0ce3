//! `phigate serve`: the Anthropic-compatible gateway and the OAuth 2.0 authorization server,
//! over HTTPS when `server.tls.enabled` is set (TLS 1.3 unless 1.2 is allowed, the certificate
//! re-read when its files change, HSTS), otherwise over plain HTTP on a loopback address only.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use phigate_auth::{RateLimit, RevocationList, TokenKeys};
use phigate_deid::{Detector, DetectorConfig};
use phigate_gateway::tls::{ClientAuth, TlsSettings, server_config};
use phigate_gateway::{Gateway, GatewayConfig, RateLimits};
use phigate_oauth::{OAuthConfig, OAuthServer};

use crate::cli::ServeArgs;
use crate::cmd::demo;
use crate::config::Config;
use crate::datadir::{self, Layout, TOKEN_AUDIENCE};
use crate::output::Out;
use crate::replicas;

/// Runs `phigate serve` until interrupted.
pub fn run(config: &Config, args: &ServeArgs) -> Result<ExitCode> {
    let listen = args.listen.as_deref().unwrap_or(&config.server.listen);
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("cannot listen on {listen:?}: not an address and port"))?;
    let tls = if config.server.tls.enabled {
        Some(tls_config(config)?)
    } else {
        None
    };
    if tls.is_none() && !addr.ip().is_loopback() {
        bail!(
            "plain HTTP is served on loopback addresses only ({addr} is not); \
             set server.tls.enabled to serve HTTPS"
        );
    }
    let opened = datadir::open(config)?;
    let detector = Detector::new(DetectorConfig {
        clinician_names: config.deid.clinician_names,
        ..DetectorConfig::default()
    })
    .context("cannot build the PHI detector")?;
    let mut settings = GatewayConfig::new(config.tenant.clone());
    settings.provider_baa = crate::disclosure::linkable(config);
    settings.max_body_bytes = usize::try_from(config.server.max_body_bytes)?;
    settings.allowed_betas = config.server.allowed_betas.clone();
    settings.header_timeout = Duration::from_secs(config.server.header_timeout_secs);
    settings.body_timeout = Duration::from_secs(config.server.body_timeout_secs);
    settings.rate_limits = rate_limits(config);
    let audit = opened.audit.clone();
    let store = opened.store.clone();
    console_client(config, &opened)?;
    let purge_store = opened.store.clone();
    let tasks = Arc::new(crate::cmd::local::pipeline(config, &opened, None)?);
    let oauth = Arc::new(oauth_server(config, opened)?);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let gateway = Gateway::new(
        settings,
        audit.clone(),
        Arc::new(detector),
        demo::provider(config, None)?,
        oauth.verifier(now),
    )
    .with_tasks(tasks)
    .with_admin(store.clone())
    .with_containment(store.clone());
    let gateway = if replicas::is_shared(&store) {
        let buckets = replicas::StoreBuckets::new(store.clone());
        gateway.with_rate_limiters(replicas::gateway_limiters(&buckets, rate_limits(config)))
    } else {
        gateway
    };
    let gateway = match config.server.patient_client_id.trim() {
        "" => gateway,
        client_id => gateway.with_patient_portal(client_id.to_owned()),
    };
    let gateway = gateway.with_patient_refs(Arc::new(move |tenant: &str, id: &str| {
        store.patient_ref(tenant, id).as_str().to_owned()
    }));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let purge_audit = audit.clone();
    runtime.block_on(async move {
        retention_job(config, purge_store, purge_audit);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr()?;
        let mut out = Out::new();
        let gateway = Arc::new(gateway);
        let extra = phigate_oauth::router(oauth);
        match tls {
            Some(tls) => {
                out.line(format!(
                    "phigate listening on https://{bound} (TLS {}+)",
                    config.server.tls.min_version
                ));
                out.flush();
                phigate_gateway::serve_tls_with(listener, gateway, extra, tls, shutdown_signal())
                    .await
                    .context("the server stopped")
            }
            None => {
                out.line(format!(
                    "phigate listening on http://{bound} (plain HTTP, loopback only)"
                ));
                out.flush();
                phigate_gateway::serve_with(listener, gateway, extra, shutdown_signal())
                    .await
                    .context("the server stopped")
            }
        }
    })?;
    audit.checkpoint()?;
    Ok(ExitCode::SUCCESS)
}

/// Keeps the web console's OAuth client in step with `oauth.issuer`, auditing any change.
fn console_client(config: &Config, opened: &datadir::Opened) -> Result<()> {
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
fn retention_job(
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

/// The authorization server over the data directory's store, audit log and token key, with the
/// revocations recorded earlier reloaded.
fn oauth_server(config: &Config, opened: datadir::Opened) -> Result<OAuthServer> {
    let mut settings = OAuthConfig::new(&config.oauth.issuer, TOKEN_AUDIENCE, &config.tenant);
    settings.access_ttl = Duration::from_secs(config.oauth.access_ttl_secs);
    settings.refresh.idle = Duration::from_secs(config.oauth.refresh_idle_secs);
    settings.refresh.absolute = Duration::from_secs(config.oauth.refresh_absolute_secs);
    settings.secure_cookies |= config.server.tls.enabled;
    settings.token_rate = RateLimit {
        burst: config.oauth.token_burst,
        per_second: config.oauth.token_per_second,
    };
    let revocations = Arc::new(RevocationList::new());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for (jti, expires_at) in opened.store.revoked_access_tokens(now)? {
        revocations.revoke(&jti, expires_at);
    }
    let shared = replicas::is_shared(&opened.store);
    if shared {
        replicas::follow(opened.store.clone(), revocations.clone())
            .context("cannot start following other replicas' revocations")?;
    }
    let token_rate = settings.token_rate;
    let buckets = replicas::StoreBuckets::new(opened.store.clone());
    let server = OAuthServer::new(
        settings,
        opened.store,
        opened.audit,
        TokenKeys::new(opened.tokens),
        revocations,
    );
    Ok(if shared {
        server.with_token_limiter(replicas::token_limiter(&buckets, token_rate))
    } else {
        server
    })
}

fn rate_limits(config: &Config) -> RateLimits {
    let r = &config.rate_limit;
    RateLimits {
        principal: RateLimit {
            burst: r.principal_burst,
            per_second: r.principal_per_second,
        },
        client: RateLimit {
            burst: r.client_burst,
            per_second: r.client_per_second,
        },
        tenant: RateLimit {
            burst: r.tenant_burst,
            per_second: r.tenant_per_second,
        },
    }
}

/// The rustls configuration from `[server.tls]`, with the data directory's development
/// certificate where no file is configured.
fn tls_config(config: &Config) -> Result<Arc<rustls::ServerConfig>> {
    let tls = &config.server.tls;
    let layout = Layout::new(&config.data_dir);
    let or_default = |path: &Path, default: PathBuf| {
        if path.as_os_str().is_empty() {
            default
        } else {
            path.to_owned()
        }
    };
    let settings = TlsSettings {
        cert_file: or_default(&tls.cert_file, layout.tls_cert()),
        key_file: or_default(&tls.key_file, layout.tls_key()),
        client_ca_file: (!tls.client_ca_file.as_os_str().is_empty())
            .then(|| tls.client_ca_file.clone()),
        client_auth: match tls.client_auth.as_str() {
            "optional" => ClientAuth::Optional,
            "required" => ClientAuth::Required,
            _ => ClientAuth::None,
        },
        allow_tls12: tls.min_version == "1.2",
    };
    server_config(&settings).context("cannot set up TLS")
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
