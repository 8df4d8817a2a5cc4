//! Router assembly: the doors, health probes, and the middleware every request passes.

use std::time::Duration;

use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::{Request, StatusCode, header},
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
    graphql::{self, AppSchema},
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

    Router::new()
        .route("/graphql", get(graphql::graphql_get).post(graphql::graphql_post))
        .route("/health", get(health))
        .route("/ready", get(ready))
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
