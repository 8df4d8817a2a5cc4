//! customer-accounts: a shop's customer accounts behind a GraphQL API.
//!
//! Map of the crate (see DESIGN.md):
//! - [`accounts`]: the domain. Every rule (validation, uniqueness, who may see what) lives here once.
//! - [`graphql`]: the GraphQL door. Parses, calls one domain function, shapes the answer.
//! - [`rest`]: the REST door: the legacy Bagisto and webshop paths and JSON shapes.
//! - [`limits`]: rate limits per client IP (governor); [`nesting`]: bounds on nested input.
//! - [`auth`]: argon2id hashing, JWTs, the sessions they name (cached in memory), and emailed
//!   one-time tokens; [`bus`]: how replicas tell each other what changed.
//! - [`mail`]: templates, and delivery as a kind of queued work.
//! - [`queue`]: the one durable work queue; [`jobs`]: the kinds of work it runs, and its runner;
//!   [`webhooks`]: signed delivery of account events to the shops' endpoints.
//! - [`entity`]: SeaORM entities; `migration/` holds the schema changes.
//! - [`error`]: the one error type and what each door makes of it.
//! - [`config`], [`state`], [`db`], [`http`]: settings, shared state, database, router.

pub mod accounts;
pub mod auth;
pub mod bus;
pub mod config;
pub mod db;
pub mod entity;
pub mod error;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod limits;
pub mod mail;
pub mod nesting;
pub mod queue;
pub mod rest;
pub mod state;
pub mod telemetry;
pub mod webhooks;

pub use http::router as app;

use tokio::net::TcpListener;

/// Serves the app and the mail worker on `listener` until Ctrl-C or SIGTERM, then lets requests
/// in flight finish.
pub async fn serve(listener: TcpListener, state: state::AppState) -> anyhow::Result<()> {
    let db = state.db.clone();
    let router = app(state.clone());
    let job_runner = tokio::spawn(jobs::run(state.clone(), jobs::kinds(&state)?));
    let listener_state = state.clone();
    let change_listener = tokio::spawn(async move {
        listener_state.bus.listen(&listener_state.db, &listener_state.sessions).await;
    });
    let kept = state.clone();
    let housekeeping = tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
        let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = every_minute.tick() => kept.limits.forget_idle(),
                _ = every_hour.tick() => webhooks::prune(&kept).await,
            }
        }
    });
    let header_read_timeout =
        std::time::Duration::from_secs(state.settings.server.header_read_timeout_seconds);
    serve_connections(listener, router, header_read_timeout).await;
    // Work not yet done stays queued and is done after the next start (here or on a replica).
    job_runner.abort();
    housekeeping.abort();
    change_listener.abort();
    db.close().await?;
    Ok(())
}

/// Accepts HTTP/1 connections until shutdown, then lets requests in flight finish.
///
/// Served here rather than by `axum::serve`, which gives hyper no timer: hyper's header-read
/// timeout then never fires, and a client that sends half a request head, or nothing, or idles
/// between keep-alive requests, holds its connection forever.
async fn serve_connections(
    listener: TcpListener,
    router: axum::Router,
    header_read_timeout: std::time::Duration,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt as _;

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(axum::extract::ConnectInfo(remote));
                router.clone().oneshot(request.map(axum::body::Body::new))
            });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
