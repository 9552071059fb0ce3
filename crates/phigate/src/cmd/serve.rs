//! `phigate serve`: the Anthropic-compatible gateway on HTTP.
//!
//! Plain HTTP only, and so only on a loopback address: TLS serving (rustls, TLS 1.3) is a
//! separate piece of work. Until it lands, put a TLS-terminating proxy on the same host in front.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use phigate_deid::{Detector, DetectorConfig};
use phigate_gateway::{Gateway, GatewayConfig};

use crate::cli::ServeArgs;
use crate::cmd::demo;
use crate::config::Config;
use crate::datadir::{self, TOKEN_AUDIENCE};
use crate::output::Out;

/// Runs `phigate serve` until interrupted.
pub fn run(config: &Config, args: &ServeArgs) -> Result<ExitCode> {
    let listen = args.listen.as_deref().unwrap_or(&config.server.listen);
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("cannot listen on {listen:?}: not an address and port"))?;
    if !addr.ip().is_loopback() {
        bail!(
            "plain HTTP is served on loopback addresses only ({addr} is not); TLS is not built yet"
        );
    }
    let opened = datadir::open(config)?;
    let detector = Detector::new(DetectorConfig {
        clinician_names: config.deid.clinician_names,
        ..DetectorConfig::default()
    })
    .context("cannot build the PHI detector")?;
    let mut settings = GatewayConfig::new(config.tenant.clone());
    settings.provider_baa = config.provider.baa_on_record;
    settings.max_body_bytes = usize::try_from(config.server.max_body_bytes)?;
    settings.allowed_betas = config.server.allowed_betas.clone();
    settings.header_timeout = Duration::from_secs(config.server.header_timeout_secs);
    settings.body_timeout = Duration::from_secs(config.server.body_timeout_secs);
    let gateway = Gateway::new(
        settings,
        opened.audit.clone(),
        Arc::new(detector),
        demo::provider(config, None)?,
        opened.tokens.verifier(TOKEN_AUDIENCE),
    )
    .with_tasks(Arc::new(crate::cmd::local::pipeline(
        config, &opened, None,
    )?));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr()?;
        let mut out = Out::new();
        out.line(format!(
            "phigate listening on http://{bound} (plain HTTP, loopback only)"
        ));
        out.flush();
        phigate_gateway::serve(listener, Arc::new(gateway), shutdown_signal())
            .await
            .context("the server stopped")
    })?;
    opened.audit.checkpoint()?;
    Ok(ExitCode::SUCCESS)
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
