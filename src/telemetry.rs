//! Logging: text or JSON lines, filtered by `RUST_LOG`; and the id of the request being answered.

use axum::{body::Body, http::Request, middleware::Next, response::Response};
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

/// Installs the global subscriber; `RUST_LOG` overrides the default `info` level.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr, so a command's own output on stdout (`customer export`, `api-key create`)
    // can be piped as it is.
    let builder = fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
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
pub async fn carry_request_id(request: Request<Body>, next: Next) -> Response {
    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    REQUEST_ID.scope(id.to_owned(), next.run(request)).await
}

/// Buckets of every latency histogram, in seconds: from a cached read to a slow hash.
const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The Prometheus recorder of this process, installed on first use. The recorder is global, so
/// every service started in one process (the test suite starts many) shares one registry.
pub fn prometheus() -> Option<&'static metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = metrics_exporter_prometheus::PrometheusBuilder::new().set_buckets(LATENCY_BUCKETS);
            match builder.and_then(metrics_exporter_prometheus::PrometheusBuilder::install_recorder) {
                Ok(handle) => Some(handle),
                Err(err) => {
                    tracing::warn!(error = %err, "metrics are off: the recorder could not be installed");
                    None
                }
            }
        })
        .as_ref()
}

/// The status class of an answer (`2xx`, `4xx` …): bounded, unlike the codes themselves.
fn status_class(status: axum::http::StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The method as a metric label: the standard ones by name, any other a client invents as
/// `other`, so that invented methods cannot grow the registry.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Counts and times every request by its route (the path pattern, never the raw path, so
/// hostile paths cannot grow the registry), method and status class: every label is one of a
/// set the service fixes, whatever clients send.
pub async fn record_request(request: Request<Body>, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = method_label(request.method());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = status_class(response.status());
    metrics::counter!("http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed());
    response
}
