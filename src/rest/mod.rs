//! The REST door: legacy paths and JSON shapes of two shop APIs, over the same domain functions
//! as GraphQL. Handlers parse, call one domain function, and shape the answer.

mod bagisto;
mod input;
mod laravel;
mod openapi;
mod refusal;
mod webshop;

use axum::{
    Router,
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use crate::{auth::bearer::bearer_token, error::Error, state::AppState};

pub use input::{Fields, MalformedBody};
pub use refusal::{Bagisto, Webshop};

/// The cookie of the Bagisto customer guard.
pub const SESSION_COOKIE: &str = "customer_session";

/// Every legacy path.
pub fn routes(state: &AppState) -> Router<AppState> {
    bagisto::guarded(state)
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

/// The project API key a legacy call presents: `X-Project-Key`, or a bearer of the key's shape
/// (`<id>|<secret>`) on a call that carries no customer token.
pub fn storefront_key(headers: &HeaderMap) -> Option<String> {
    let header = headers.get("x-project-key").and_then(|v| v.to_str().ok()).map(str::trim);
    header
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
        .or_else(|| bearer_token(headers).filter(|token| crate::accounts::looks_like_api_key(token)))
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let jar = axum_extra::extract::cookie::CookieJar::from_headers(headers);
    jar.get(name).map(|cookie| cookie.value().to_owned()).filter(|value| !value.is_empty())
}

/// Refuses a state-changing Bagisto request sent by a page of a foreign origin (login CSRF: a
/// hostile page posting a form to `/api/customer/login` would log the victim into the
/// attacker's account under the cookie guard). Requests without `Origin` (server-side clients)
/// and bearer-authenticated ones, which a browser never sends on its own, pass.
pub async fn same_origin_pages(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let changes_state = !request.method().is_safe();
    let bearer = request.headers().contains_key(header::AUTHORIZATION);
    let foreign = request
        .headers()
        .get(header::ORIGIN)
        .map(|origin| origin.to_str().map_or(true, |o| !state.page_origins.iter().any(|p| p == o)));
    if changes_state && !bearer && foreign == Some(true) {
        return Bagisto(Error::Forbidden).into_response();
    }
    next.run(request).await
}

/// Counts every REST request per client IP: `X-RateLimit-Limit` and `X-RateLimit-Remaining` on
/// each answer, 429 with `Retry-After` over the limit (in the shape of the API asked).
pub async fn rate_limit(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let webshop = request.uri().path().starts_with("/api/services/webshop/");
    crate::limits::limited(
        request,
        next,
        |ip| async move { state.limits.request(ip).await },
        |after| {
            let err = Error::RateLimited(after);
            if webshop { Webshop(err).into_response() } else { Bagisto(err).into_response() }
        },
    )
    .await
}
