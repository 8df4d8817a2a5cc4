//! The REST door: legacy paths and JSON shapes of two shop APIs, over the same domain functions
//! as GraphQL. Handlers parse, call one domain function, and shape the answer.

mod bagisto;
mod input;
mod laravel;
mod openapi;
mod webshop;

use axum::{
    Router,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::{auth::extractor::bearer_token, error::Error, http::Doors};

pub use input::{Fields, MalformedBody};

/// The cookie of the Bagisto customer guard.
pub const SESSION_COOKIE: &str = "customer_session";

/// Every legacy path.
pub fn routes(doors: &Doors) -> Router<Doors> {
    bagisto::guarded(doors)
        .merge(webshop::routes())
        .route("/api/openapi.json", axum::routing::get(openapi::document))
}

/// A JSON answer with a status.
pub fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// The credential a legacy client sent: `Authorization: Bearer`, `?token=<jwt>`, or the session cookie.
pub fn credential(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    bearer_token(headers)
        .or_else(|| {
            url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                .find(|(key, value)| key == "token" && value.len() > 10)
                .map(|(_, value)| value.into_owned())
        })
        .or_else(|| cookie(headers, SESSION_COOKIE))
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// `Retry-After` in whole seconds (at least 1).
pub fn retry_after(response: &mut Response, after: std::time::Duration) {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(crate::error::whole_seconds(after)));
}

/// Logs an internal error under the request id; the client sees only that id.
pub fn internal(err: &Error, headers: &HeaderMap) -> String {
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    if let Error::Internal(source) = err {
        tracing::error!(request_id = %request_id, error = ?source, "internal error");
    }
    request_id
}

/// 503 with `Retry-After` for a database that cannot be reached, logged without a stack of detail.
pub fn unavailable(err: &Error, body: Value) -> Response {
    if let Error::Unavailable(source) = err {
        tracing::warn!(error = %source, "database unavailable");
    }
    let mut response = json_response(StatusCode::SERVICE_UNAVAILABLE, body);
    retry_after(&mut response, crate::error::UNAVAILABLE_RETRY_AFTER);
    response
}

/// The answer to a body that is not JSON or form fields.
pub fn malformed(body: &MalformedBody, webshop: bool) -> Response {
    let status = StatusCode::BAD_REQUEST;
    if webshop {
        json_response(status, json!({ "error": true, "message": body.0 }))
    } else {
        json_response(status, json!({ "message": body.0 }))
    }
}

/// Refuses a state-changing Bagisto request sent by a page of a foreign origin (login CSRF: a
/// hostile page posting a form to `/api/customer/login` would log the victim into the
/// attacker's account under the cookie guard). Requests without `Origin` (server-side clients)
/// and bearer-authenticated ones, which a browser never sends on its own, pass.
pub async fn same_origin_pages(
    axum::extract::State(doors): axum::extract::State<Doors>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let changes_state = !request.method().is_safe();
    let bearer = request.headers().contains_key(header::AUTHORIZATION);
    let foreign = request
        .headers()
        .get(header::ORIGIN)
        .map(|origin| origin.to_str().map_or(true, |o| !doors.state.page_origins.iter().any(|p| p == o)));
    if changes_state && !bearer && foreign == Some(true) {
        return json_response(StatusCode::FORBIDDEN, json!({ "message": "Invalid Request." }));
    }
    next.run(request).await
}

/// Counts every REST request per client IP: `X-RateLimit-Limit` and `X-RateLimit-Remaining` on
/// each answer, 429 with `Retry-After` over the limit (in the shape of the API asked).
pub async fn rate_limit(
    axum::extract::State(doors): axum::extract::State<Doors>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let webshop = request.uri().path().starts_with("/api/services/webshop/");
    crate::http::limited(
        request,
        next,
        |ip| doors.state.limits.request(ip),
        |after| {
            let body = if webshop {
                json!({ "error": true, "message": "Too many requests." })
            } else {
                json!({ "error": "Too Many Attempts." })
            };
            let mut response = json_response(StatusCode::TOO_MANY_REQUESTS, body);
            retry_after(&mut response, after);
            response
        },
    )
    .await
}
