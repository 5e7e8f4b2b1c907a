//! Serving the HTTP application on one listener, bounded: at most `http_max_connections` open
//! connections (further ones wait in the listen backlog until one closes), and an HTTP/1 client
//! must send a request's headers within `http_header_read_timeout`, so slow clients cannot hold a
//! node's connections. With TLS every connection is a TLS one (a plain-text client fails the
//! handshake), and the handshake too must finish within `http_header_read_timeout`. Graceful
//! shutdown: stop accepting, let in-flight requests finish.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::config::LimitsConfig;

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` resolves, then waits for open
/// requests to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &LimitsConfig,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let connections = Arc::new(Semaphore::new(limits.http_max_connections.max(1)));
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.http_header_read_timeout);
    let handshake_timeout = limits.http_header_read_timeout;
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "cannot accept an http connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are small and latency is what clients wait on.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on an http connection");
        }
        let (builder, app, watcher, tls) = (builder.clone(), app.clone(), graceful.watcher(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => serve_connection(&builder, stream, app, watcher).await,
                Some(tls) => {
                    if let Some(stream) = handshake(&tls, stream, handshake_timeout).await {
                        serve_connection(&builder, stream, app, watcher).await;
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The TLS side of a new connection, or none when the client did not complete a handshake in time.
async fn handshake(
    tls: &TlsAcceptor,
    stream: TcpStream,
    timeout: std::time::Duration,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(timeout, tls.accept(stream)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) => {
            tracing::debug!(%error, "https connection failed its TLS handshake");
            None
        }
        Err(_) => {
            tracing::debug!("https connection did not finish its TLS handshake in time");
            None
        }
    }
}

async fn serve_connection<S>(builder: &Builder<TokioExecutor>, stream: S, app: Router, watcher: Watcher)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection =
        builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(app)).into_owned();
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%error, "http connection ended with an error");
    }
}
