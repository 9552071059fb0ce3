//! `phigate serve`: the Anthropic-compatible gateway and the OAuth 2.0 authorization server,
//! over HTTPS when `server.tls.enabled` is set (TLS 1.3 unless 1.2 is allowed, the certificate
//! re-read when its files change, HSTS), otherwise over plain HTTP on a loopback address only.
//! Beside them: `/metrics` on its own loopback listener, the incident monitor, and readiness
//! checks. On SIGTERM or Ctrl-C it stops accepting, lets open requests finish within the grace
//! period, stops the monitor, and checkpoints the audit log.

mod jobs;
mod ops;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use phigate_auth::{RateLimit, RevocationList};
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
    settings.tenant_betas = config.server.tenant_betas.clone();
    settings.header_timeout = Duration::from_secs(config.server.header_timeout_secs);
    settings.body_timeout = Duration::from_secs(config.server.body_timeout_secs);
    settings.rate_limits = rate_limits(config);
    settings.shutdown_grace = Duration::from_secs(config.server.shutdown_grace_secs);
    let audit = opened.audit.clone();
    let store = opened.store.clone();
    audit.observe(Arc::new(ops::AuditMetrics));
    let monitor = ops::monitor(config, &store, &audit)?;
    let incidents = phigate_incidents::IncidentBook::new(store.clone(), config.tenant.clone());
    let readiness =
        ops::DeploymentReadiness::new(store.clone(), config.tenant.clone(), audit.clone());
    jobs::console_client(config, &opened)?;
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
    .with_containment(store.clone())
    .with_incidents(incidents)
    .with_readiness(Arc::new(readiness))
    .with_token_source({
        let oauth = oauth.clone();
        Arc::new(move |now| oauth.verifier(now))
    })
    .with_external_issuers(external_issuers(config)?);
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
    {
        let _context = runtime.enter();
        jobs::retention_job(config, purge_store, audit.clone());
        jobs::signing_key_watch(config, oauth.clone());
    }
    runtime.block_on(serve_until_stopped(Serving {
        config,
        addr,
        tls,
        gateway,
        oauth,
        audit: audit.clone(),
    }))?;
    // Requests still running past the grace period are cut off here.
    runtime.shutdown_timeout(Duration::from_secs(1));
    if let Some(monitor) = monitor {
        monitor.stop();
    }
    // Every acknowledged append is already durable; the checkpoint signs the final tree.
    let checkpoint = audit.checkpoint()?;
    let mut out = Out::new();
    out.line(format!(
        "phigate stopped; audit log checkpointed at {} entries",
        checkpoint.size
    ));
    out.flush();
    Ok(ExitCode::SUCCESS)
}

/// What the serving loop runs.
struct Serving<'a> {
    config: &'a Config,
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    gateway: Gateway,
    oauth: Arc<OAuthServer>,
    audit: Arc<phigate_audit::AuditLog>,
}

/// Binds the listeners, says where they are, and serves until SIGTERM or Ctrl-C, then until
/// open requests finish or the grace period ends.
async fn serve_until_stopped(serving: Serving<'_>) -> Result<()> {
    let Serving {
        config,
        addr,
        tls,
        gateway,
        oauth,
        audit,
    } = serving;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let metrics = ops::bind_metrics(config).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("serve.shutdown requested");
        let _ = stop.send(true);
    });
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let mut out = Out::new();
    out.line(match &tls {
        Some(_) => format!(
            "phigate listening on https://{bound} (TLS {}+)",
            config.server.tls.min_version
        ),
        None => format!("phigate listening on http://{bound} (plain HTTP, loopback only)"),
    });
    if let Some(metrics) = &metrics {
        out.line(format!(
            "metrics on http://{}/metrics",
            metrics.local_addr()?
        ));
    }
    out.flush();
    if let Some(metrics) = metrics {
        let stop = until_stopped();
        tokio::spawn(async move {
            if let Err(err) = ops::serve_metrics(metrics, audit, stop).await {
                tracing::error!(error = %err, "serve.metrics stopped");
            }
        });
    }
    let gateway = Arc::new(gateway);
    let extra = phigate_oauth::router(oauth);
    let served = match tls {
        Some(tls) => {
            phigate_gateway::serve_tls_with(listener, gateway, extra, tls, until_stopped()).await
        }
        None => phigate_gateway::serve_with(listener, gateway, extra, until_stopped()).await,
    };
    served.context("the server stopped")
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
        crate::signing_keys::token_keys(&Layout::new(&config.data_dir), opened.tokens, now)?,
        revocations,
    );
    Ok(if shared {
        server.with_token_limiter(replicas::token_limiter(&buckets, token_rate))
    } else {
        server
    })
}

/// The external identity providers whose tokens the gateway accepts.
fn external_issuers(config: &Config) -> Result<Vec<phigate_oauth::ExternalIdp>> {
    config
        .oauth
        .external_issuers
        .iter()
        .map(|e| {
            e.provider(&config.tenant)
                .context("oauth.external_issuers: an issuer could not be set up")
        })
        .collect()
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
