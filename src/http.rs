//! Router assembly: the doors, health probes, and the middleware every request passes.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, DefaultBodyLimit, State},
    http::{Request, StatusCode, header},
    middleware::{self, Next},
    response::Response,
    routing::get,
};
use sea_orm::ConnectionTrait;
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    accounts::Origin,
    graphql::{self, AppSchema},
    rest,
    state::AppState,
};

/// What the HTTP handlers share: the state and the built schema.
#[derive(Clone)]
pub struct Doors {
    /// The service state.
    pub state: AppState,
    /// The GraphQL schema over that state.
    pub schema: AppSchema,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let settings = &state.settings;
    let max_body = settings.max_body_bytes;
    let timeout = Duration::from_secs(settings.request_timeout_seconds);
    let doors = Doors { schema: graphql::build(state.clone()), state };

    let rest = rest::routes().route_layer(middleware::from_fn_with_state(doors.clone(), rest::rate_limit));
    Router::new()
        .route("/graphql", get(graphql::graphql_get).post(graphql::graphql_post))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .merge(rest)
        .layer(middleware::from_fn_with_state(doors.clone(), origin))
        .with_state(doors)
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                    // The path only: query strings may carry tokens.
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %request_id,
                    )
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::new())
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
                .layer(RequestBodyLimitLayer::new(max_body))
                .layer(DefaultBodyLimit::max(max_body)),
        )
}

/// Records where each request comes from: the socket's IP, or behind a trusted proxy the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
async fn origin(State(doors): State<Doors>, mut request: Request<Body>, next: Next) -> Response {
    let socket = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |ConnectInfo(addr)| addr.ip());
    let trusted = &doors.state.trusted_proxies;
    let ip = if trusted.contains(&socket) {
        request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
            .rev()
            .find(|hop| !trusted.contains(hop))
            .unwrap_or(socket)
    } else {
        socket
    };
    request.extensions_mut().insert(Origin { ip });
    next.run(request).await
}

/// Liveness: the process answers.
async fn health() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
async fn ready(State(doors): State<Doors>) -> (StatusCode, &'static str) {
    let backend = doors.state.db.get_database_backend();
    let ping = doors.state.db.execute_raw(sea_orm::Statement::from_string(backend, "SELECT 1")).await;
    match ping {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
