//! Router assembly: the two doors, health probes, and the middleware every request passes.
//! Arrows point one way: this module knows the doors; the doors know only the state.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, DefaultBodyLimit, State},
    http::{HeaderName, HeaderValue, Method, Request, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{accounts::Origin, graphql, rest, state::AppState};

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let settings = &state.settings;
    let max_body = settings.server.max_body_bytes;
    let timeout = Duration::from_secs(settings.server.request_timeout_seconds);
    let cors = cors(&state);

    if state.settings.metrics_enabled() {
        // Installed before the first request, so nothing before the first scrape goes uncounted.
        crate::telemetry::prometheus();
    }
    let metrics_here =
        state.settings.metrics_enabled() && state.settings.server.metrics_listen_addr.is_none();
    let rest = rest::routes(&state)
        .route_layer(middleware::from_fn_with_state(state.clone(), rest::rate_limit))
        .with_state(state.clone());
    let probes = Router::new().route("/health", get(health)).route("/ready", get(ready));
    let probes = if metrics_here { probes.route("/metrics", get(metrics)) } else { probes };
    probes
        .with_state(state.clone())
        .merge(graphql::routes(state.clone()))
        .merge(rest)
        .layer(middleware::from_fn_with_state(state, origin))
        .layer(middleware::from_fn(crate::telemetry::record_request))
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
                .layer(middleware::from_fn(crate::telemetry::carry_request_id))
                .layer(CatchPanicLayer::new())
                .layer(middleware::from_fn(graphql_shaped_refusals))
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
                .layer(RequestBodyLimitLayer::new(max_body))
                .layer(DefaultBodyLimit::max(max_body)),
        )
        // Outside the timeout and body limit, so their refusals reach the page too.
        .layer(cors)
        // Answers carry tokens and personal data: no cache keeps them, and no browser reads a
        // JSON answer as anything else.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

/// Browser pages of the configured storefront origins may call the API with a bearer token;
/// everyone else gets no CORS headers (the browser's same-origin rule stands).
fn cors(state: &AppState) -> CorsLayer {
    let origins: Vec<HeaderValue> = state
        .settings
        .server
        .cors_allowed_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if origins.is_empty() {
        return CorsLayer::new();
    }
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers(
            [
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("x-request-id"),
                // A storefront names its shop with its project API key.
                HeaderName::from_static("x-project-key"),
                // Apollo Client's client-awareness headers.
                HeaderName::from_static("apollographql-client-name"),
                HeaderName::from_static("apollographql-client-version"),
            ]
            .into_iter()
            .chain(state.settings.server.cors_allowed_headers.iter().cloned())
            .collect::<Vec<_>>(),
        )
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(600))
}

/// Words the body-limit and timeout refusals of `/graphql` as GraphQL errors (they are made by
/// layers outside the GraphQL door, as plain text), so a page's client can read them.
async fn graphql_shaped_refusals(request: Request<Body>, next: Next) -> Response {
    let graphql = request.uri().path() == "/graphql";
    let response = next.run(request).await;
    let (code, message) = match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("PAYLOAD_TOO_LARGE", "The request body is larger than the service accepts.")
        }
        StatusCode::REQUEST_TIMEOUT => {
            ("REQUEST_TIMEOUT", "The request took longer than the service allows.")
        }
        _ => return response,
    };
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !graphql || is_json {
        return response;
    }
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (response.status(), axum::Json(body)).into_response()
}

/// Records where each request comes from: the socket's IP, or behind a trusted proxy the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
async fn origin(State(state): State<AppState>, mut request: Request<Body>, next: Next) -> Response {
    let socket = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |ConnectInfo(addr)| addr.ip());
    let trusted = &state.settings.server.trusted_proxies;
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
    let user_agent = request.headers().get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok());
    let origin = Origin::new(ip).with_user_agent(user_agent);
    request.extensions_mut().insert(origin);
    next.run(request).await
}

/// The router of `METRICS_LISTEN_ADDR`: `/metrics` alone.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(state)
}

/// `GET /metrics`: Prometheus' text format. The outbox backlog and the pool are read at scrape
/// time, so they cost nothing between scrapes.
async fn metrics(State(state): State<AppState>) -> Response {
    let Some(prometheus) = crate::telemetry::prometheus() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are unavailable").into_response();
    };
    match crate::queue::counts(&state.db, Some(crate::mail::KIND)).await {
        Ok(counts) => {
            for (name, value) in
                [("pending", counts.pending), ("failed", counts.failed), ("sent", counts.done)]
            {
                metrics::gauge!("outbox_messages", "state" => name).set(value as f64);
            }
        }
        Err(err) => tracing::warn!(error = %err, "counting the outbox for metrics failed"),
    }
    let (size, idle) = crate::db::pool_usage(&state.db);
    metrics::gauge!("db_pool_connections", "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
    metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(idle));
    prometheus.run_upkeep();
    let mut response = prometheus.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// How long `/ready` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// Liveness: the process answers.
async fn health() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let ping = crate::db::probe_write(&state.db);
    // A load balancer asks often and gives up quickly: answer within a second either way.
    match tokio::time::timeout(READY_TIMEOUT, ping).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready"),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
