//! Accepting connections, with the two bounds `axum::serve` does not set.
//!
//! - **A deadline for every request head** (`HEADER_READ_TIMEOUT_SECS`): a
//!   connection that has not sent a whole request head this long after it
//!   opened, or after its last response, is closed. This is what stops a
//!   slowloris client (headers trickled a byte at a time) and reclaims idle
//!   keep-alive connections. hyper has the setting, but it needs a timer, and
//!   axum 0.8's `serve` builds its connections without one, so there it is off.
//! - **A cap on open connections** (`MAX_CONNECTIONS`): past it, the accept
//!   loop waits for one to close, and new clients wait in the kernel's queue
//!   (the listen backlog) instead of each costing a task, buffers and
//!   a file descriptor here.
//!
//! Otherwise this serves as `axum::serve` does (HTTP/1.1 and HTTP/2 on one
//! port, the peer's address as `ConnectInfo`, `TCP_NODELAY`, a graceful
//! shutdown that lets in-flight requests finish), in about as many lines as
//! it would take to wrap it.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

/// The bounds of [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections at once.
    pub max_connections: usize,
    /// Deadline of a request head, from the connection's opening or its last
    /// response.
    pub header_read_timeout: Duration,
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves, then
/// waits for the open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Closed (every receiver dropped) once the last connection has ended.
    let (stop, stopped) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &permits) => accepted,
        };
        let Some((stream, peer, permit)) = accepted else { continue };
        let service = app.clone().map_request(move |request: http::Request<Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let _permit = permit;
            connection(stream, service, limits, &mut stopped).await;
        });
    }
    drop(stopped);
    // Every connection holds a receiver: this resolves when the last one ends.
    let _ = stop.send(true);
    stop.closed().await;
}

/// The next connection, once a permit is free; `None` after a failed accept
/// (logged), which the loop retries.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> Option<(tokio::net::TcpStream, SocketAddr, tokio::sync::OwnedSemaphorePermit)> {
    // The semaphore is never closed.
    let permit = permits.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, peer)) => {
            // A streamed page's chunks go out as they are written, rather
            // than each waiting for the client's delayed ACK.
            if let Err(error) = stream.set_nodelay(true) {
                tracing::warn!(%error, "cannot set TCP_NODELAY");
            }
            Some((stream, peer, permit))
        }
        Err(error) => {
            // Out of file descriptors, mostly: a moment's pause lets some
            // close rather than spinning on the same error (as axum does).
            tracing::error!(%error, "cannot accept a connection");
            tokio::time::sleep(Duration::from_millis(100)).await;
            None
        }
    }
}

/// Serves one connection until it closes, or, once `stopped` changes, until
/// its in-flight requests are answered.
async fn connection<S>(
    stream: tokio::net::TcpStream,
    service: S,
    limits: Limits,
    stopped: &mut watch::Receiver<bool>,
) where
    S: tower::Service<
            http::Request<Incoming>,
            Response = axum::response::Response,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let connection = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::trace!(%error, "connection ended with an error");
            }
            return;
        }
        _ = stopped.changed() => {}
    }
    connection.as_mut().graceful_shutdown();
    if let Err(error) = connection.await {
        tracing::trace!(%error, "connection ended with an error");
    }
}
