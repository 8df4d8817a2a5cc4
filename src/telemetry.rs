//! Logging: text or JSON lines, filtered by `RUST_LOG`; and the id of the request being answered.

use axum::{body::Body, http::Request, middleware::Next, response::Response};
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

/// Installs the global subscriber; `RUST_LOG` overrides the default `info` level.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_target(false);
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
