//! The accept loop: HTTP/1.1, over TLS or (on loopback) plain TCP, with deadlines for slow
//! handshakes and slow request headers.
//!
//! `axum::serve` has no header-read timeout, so a client could hold a connection (and a file
//! descriptor) forever by sending half a request line. Here each connection is served by
//! hyper's HTTP/1.1 builder with its header-read timer, which runs from the moment the server
//! waits for a request until its headers are complete, and so also closes kept-alive
//! connections left idle. The TLS handshake gets the same deadline. Every request body, on
//! every route (the OAuth server's extractors included), must then arrive within
//! `body_timeout` of the request's start: [`body_deadline`] wraps it, so a client that sends
//! headers and then stalls or trickles its body gets `408` (from `body::read`) or a failed read,
//! and hyper closes the connection because the body was never finished.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::http::header::STRICT_TRANSPORT_SECURITY;
use axum::middleware::Next;
use axum::response::Response;
use futures::StreamExt;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::{Gateway, router};

/// What browsers are told when TLS is on: HTTPS only, for a year.
const HSTS: &str = "max-age=31536000";

/// Serves `gateway` over plain HTTP on `listener` until `shutdown` completes, then lets open
/// requests finish. The caller keeps plain HTTP on loopback.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, gateway, Router::new(), shutdown).await
}

/// Like [`serve`], with more routes (the OAuth server's) merged beside the gateway's.
pub async fn serve_with(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    extra: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(gateway.clone())
        .merge(extra)
        .layer(axum::middleware::from_fn(crate::metrics::record));
    accept_loop(listener, app, gateway, None, shutdown).await
}

/// Serves `gateway` over TLS with `tls` (see [`crate::tls::server_config`]) until `shutdown`
/// completes. Every response carries `Strict-Transport-Security`.
pub async fn serve_tls(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_tls_with(listener, gateway, Router::new(), tls, shutdown).await
}

/// Like [`serve_tls`], with more routes merged beside the gateway's.
pub async fn serve_tls_with(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    extra: Router,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(gateway.clone())
        .merge(extra)
        .layer(axum::middleware::from_fn(crate::metrics::record))
        .layer(axum::middleware::map_response(hsts));
    let acceptor = TlsAcceptor::from(tls);
    accept_loop(listener, app, gateway, Some(acceptor), shutdown).await
}

async fn hsts(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    response
}

async fn accept_loop(
    listener: TcpListener,
    app: Router,
    gateway: Arc<Gateway>,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = gateway.config().header_timeout;
    let app = app.layer(axum::middleware::from_fn_with_state(
        gateway.config().body_timeout,
        body_deadline,
    ));
    let grace = gateway.config().shutdown_grace;
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %err, "gateway.accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Responses go out as they are ready: an SSE event, or a small answer, must not wait
        // for the client's delayed acknowledgement of the previous segment (Nagle).
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "gateway.nodelay failed");
        }
        // Handlers that limit per client address (the sign-in page) read it as `ConnectInfo`.
        let app = app.clone().layer(axum::Extension(ConnectInfo(peer)));
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let Some(acceptor) = tls else {
                return connection(tcp, app, watcher, header_timeout).await;
            };
            match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => connection(stream, app, watcher, header_timeout).await,
                // Refused versions, missing client certificates, scanners: the client's fault.
                Ok(Err(err)) => tracing::debug!(error = %err, "gateway.tls handshake failed"),
                Err(_) => tracing::debug!("gateway.tls handshake timed out"),
            }
        });
    }
    // Stop accepting, let every open request (streams included) finish, for at most the grace
    // period; requests still running then are cut off when the runtime stops.
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "gateway.shutdown grace period over; open requests are cut off"
        );
    }
    Ok(())
}

async fn connection<S>(stream: S, app: Router, watcher: Watcher, header_timeout: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(app);
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(err) = watcher.watch(connection).await {
        // Timeouts and clients that hang up; nothing a request body could be in.
        tracing::debug!(error = %err, "gateway.connection closed with an error");
    }
}

/// What a body read fails with once the request's body deadline has passed.
pub(crate) const BODY_DEADLINE: &str = "request body deadline passed";

/// Makes the request's body fail if it is not complete within `limit` of the request's start,
/// whichever handler reads it and however (see the module's documentation).
async fn body_deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let deadline = tokio::time::Instant::now() + limit;
    let request = request.map(|body| {
        let chunks = body.into_data_stream();
        Body::from_stream(futures::stream::unfold(
            Some(chunks),
            move |chunks| async move {
                let mut chunks = chunks?;
                match tokio::time::timeout_at(deadline, chunks.next()).await {
                    Ok(Some(chunk)) => Some((chunk, Some(chunks))),
                    Ok(None) => None,
                    Err(_) => {
                        let late = std::io::Error::new(std::io::ErrorKind::TimedOut, BODY_DEADLINE);
                        Some((Err(axum::Error::new(late)), None))
                    }
                }
            },
        ))
    });
    next.run(request).await
}
