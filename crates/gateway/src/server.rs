//! The accept loop: HTTP/1.1 with a deadline for slow request headers.
//!
//! `axum::serve` has no header-read timeout, so a client could hold a connection (and a file
//! descriptor) forever by sending half a request line. Here each connection is served by
//! hyper's HTTP/1.1 builder with its header-read timer, which runs from the moment the server
//! waits for a request until its headers are complete, and so also closes kept-alive
//! connections left idle. Bodies are bounded separately by `body::read`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::{Gateway, router};

/// Serves `gateway` on `listener` until `shutdown` completes, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, gateway, axum::Router::new(), shutdown).await
}

/// Like [`serve`], with more routes (the OAuth server's) merged beside the gateway's.
pub async fn serve_with(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    extra: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = gateway.config().header_timeout;
    let app = router(gateway).merge(extra);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(err) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %err, "gateway.accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(tcp), service);
            if let Err(err) = watcher.watch(connection).await {
                // Timeouts and clients that hang up; nothing a request body could be in.
                tracing::debug!(error = %err, "gateway.connection closed with an error");
            }
        });
    }
    graceful.shutdown().await;
    Ok(())
}
