//! Router assembly: the doors, health probes, and the middleware every request passes.

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
    response::Response,
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

use crate::{
    accounts::Origin,
    graphql::{self, AppSchema},
    limits::Verdict,
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
    let cors = cors(&state);
    let doors = Doors { schema: graphql::build(state.clone()), state };

    let rest =
        rest::routes(&doors).route_layer(middleware::from_fn_with_state(doors.clone(), rest::rate_limit));
    let graphql = Router::new()
        .route("/graphql", get(graphql::graphql_get).post(graphql::graphql_post))
        .route_layer(middleware::from_fn_with_state(doors.clone(), graphql_rate_limit));
    Router::new()
        .merge(graphql)
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
                .layer(middleware::from_fn(carry_request_id))
                .layer(CatchPanicLayer::new())
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
    let origins: Vec<HeaderValue> =
        state.storefront_origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect();
    if origins.is_empty() {
        return CorsLayer::new();
    }
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("x-request-id"),
            // Apollo Client's client-awareness headers.
            HeaderName::from_static("apollographql-client-name"),
            HeaderName::from_static("apollographql-client-version"),
        ])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(600))
}

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being answered (the `x-request-id` header, set when the client sent
/// none); empty outside a request. Read once per request by [`carry_request_id`].
pub fn request_id() -> String {
    REQUEST_ID.try_with(String::clone).unwrap_or_default()
}

/// Carries the request id to everything that answers the request, errors rendered deep in a
/// door included, without passing it down by hand.
async fn carry_request_id(request: Request<Body>, next: Next) -> Response {
    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    REQUEST_ID.scope(id.to_owned(), next.run(request)).await
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
    request.extensions_mut().insert(Origin::new(ip));
    next.run(request).await
}

/// Runs `request` if `count` admits its client IP, with `X-RateLimit-Limit` and
/// `X-RateLimit-Remaining` on the answer; otherwise answers `refuse(retry_after)`.
pub async fn limited(
    request: Request<Body>,
    next: Next,
    count: impl FnOnce(IpAddr) -> Verdict,
    refuse: impl FnOnce(Duration) -> Response,
) -> Response {
    let Some(origin) = request.extensions().get::<Origin>() else { return next.run(request).await };
    let (mut response, limit, remaining) = match count(origin.ip) {
        Verdict::Unlimited => return next.run(request).await,
        Verdict::Allowed { limit, remaining } => (next.run(request).await, limit, remaining),
        Verdict::Refused { limit, retry_after } => (refuse(retry_after), limit, 0),
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    response
}

/// `/graphql` requests per client IP; over the limit a GraphQL-shaped 429.
async fn graphql_rate_limit(State(doors): State<Doors>, request: Request<Body>, next: Next) -> Response {
    limited(request, next, |ip| doors.state.limits.graphql_request(ip), graphql::too_many_requests).await
}

/// How long `/ready` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// Liveness: the process answers.
async fn health() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
async fn ready(State(doors): State<Doors>) -> (StatusCode, &'static str) {
    let ping = crate::db::probe_write(&doors.state.db);
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
