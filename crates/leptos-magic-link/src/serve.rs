//! Serving an app with the limits the security model counts on. Server only.
//!
//! [`serve`] runs the app on a listener with hyper's own connection loop rather than
//! `axum::serve`, which sets no timer, so a client that trickles its request headers would
//! hold a connection for ever there. Every request also carries the connection's peer address
//! (axum's `ConnectInfo`), which the per-client limits count by.
//!
//! ```no_run
//! # async fn start(app: axum::Router) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! leptos_magic_link::serve(listener, app).await;
//! # Ok(()) }
//! ```

use std::{future::Future, time::Duration};

use axum::{
    Router,
    extract::{ConnectInfo, Request},
    http::StatusCode,
};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

/// How long slow clients may take. A client that trickles its request is cut off, so a few
/// hundred of them cannot hold the server's connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientLimits {
    /// From the connection being ready for a request (new, or idle between requests) to its
    /// last header line; past it the connection is closed. Default 10 s.
    pub headers: Duration,
    /// From the request's headers to the response, its body included; past it the answer
    /// is `408 Request Timeout`. Default 30 s.
    pub request: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            headers: Duration::from_secs(10),
            request: Duration::from_secs(30),
        }
    }
}

/// How long a graceful shutdown waits for the requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Serves `app` on `listener` with the default [`ClientLimits`] until the process is asked to
/// stop (SIGTERM or Ctrl-C); requests in flight then finish, for up to 20 s.
pub async fn serve(listener: TcpListener, app: Router) {
    serve_with(listener, app, ClientLimits::default(), shutdown_signal()).await;
}

/// Serves `app` on `listener` with `limits` on slow clients until `shutdown` completes, then
/// lets the requests in flight finish, for up to 20 s.
///
/// HTTP/1.1 only: browsers speak nothing else over plain http, and a TLS-terminating proxy in
/// front speaks it to the app.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    limits: ClientLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let app = app.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request,
    ));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.headers);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, or a connection reset before it was taken: the
                    // listener itself is fine. A pause keeps this from spinning.
                    tracing::warn!(error = %err, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "could not set TCP_NODELAY");
        }
        let app = app.clone();
        // The peer address feeds the per-client limits.
        let service =
            hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                tower::Service::call(&mut app.clone(), request)
            });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection closed with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutting down with requests still in flight");
    }
}

/// Completes when the process is asked to stop: SIGTERM (on Unix) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
