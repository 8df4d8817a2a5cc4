//! Every REST refusal, rendered once per legacy API: handlers return `Result<_, Bagisto>` or
//! `Result<_, Webshop>` and end in `?`. The status comes from the error; each API words it.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    MalformedBody, json_response,
    laravel::{self, bagisto_name, webshop_name},
};
use crate::error::{Code, Error, whole_seconds};

/// Bagisto's words for an unverified address, at login and on every other call.
const VERIFY_FIRST: &str = "Please verify your email address before logging in.";
/// Bagisto's answer to wrong credentials: the same whichever of the two was wrong.
const INVALID_CREDENTIALS: &str = "Invalid Email or Password";

/// A domain error in Bagisto's shapes.
#[derive(Debug)]
pub struct Bagisto(pub Error);

/// A domain error in the webshop API's shapes.
#[derive(Debug)]
pub struct Webshop(pub Error);

impl From<Error> for Bagisto {
    fn from(err: Error) -> Self {
        Self(err)
    }
}

impl From<Error> for Webshop {
    fn from(err: Error) -> Self {
        Self(err)
    }
}

impl From<MalformedBody> for Error {
    fn from(body: MalformedBody) -> Self {
        Error::BadRequest(body.0)
    }
}

impl From<MalformedBody> for Bagisto {
    fn from(body: MalformedBody) -> Self {
        Self(body.into())
    }
}

impl From<MalformedBody> for Webshop {
    fn from(body: MalformedBody) -> Self {
        Self(body.into())
    }
}

/// A body that is neither JSON nor form fields, rejected by the extractor: Bagisto's shape (the
/// webshop handler takes the rejection itself to answer in its own).
impl IntoResponse for MalformedBody {
    fn into_response(self) -> Response {
        Bagisto::from(self).into_response()
    }
}

/// Whether any field error says `code` about the request as a whole.
fn says(err: &Error, code: Code) -> bool {
    matches!(err, Error::Invalid(errors) if errors.iter().any(|e| e.code == code && e.field.is_none()))
}

impl IntoResponse for Bagisto {
    fn into_response(self) -> Response {
        let err = self.0;
        err.report();
        let (status, body) = match &err {
            // Bagisto answers a failed login 401, not 422, and without naming a field.
            _ if says(&err, Code::InvalidCredentials) => {
                (StatusCode::UNAUTHORIZED, json!({ "error": INVALID_CREDENTIALS }))
            }
            _ if says(&err, Code::EmailNotVerified) => {
                (StatusCode::UNAUTHORIZED, json!({ "error": VERIFY_FIRST }))
            }
            Error::Invalid(errors) => {
                (err.status(), Value::Object(laravel::errors_body(errors, bagisto_name)))
            }
            Error::BadRequest(what) => (err.status(), json!({ "message": what })),
            // The legacy wording, whatever the credential missing: a customer's or the shop's.
            Error::Unauthenticated | Error::ApiKeyRequired => {
                (err.status(), json!({ "error": "Unauthenticated" }))
            }
            Error::Forbidden => (err.status(), json!({ "message": "Invalid Request." })),
            Error::EmailNotVerified => (err.status(), json!({ "error": VERIFY_FIRST })),
            Error::RateLimited(_) => (err.status(), json!({ "error": "Too Many Attempts." })),
            Error::Unavailable(_) => (err.status(), json!({ "message": "Service Unavailable" })),
            Error::Internal(_) => (
                err.status(),
                json!({ "message": "Server Error", "request_id": crate::telemetry::request_id() }),
            ),
        };
        answer(&err, status, body)
    }
}

impl IntoResponse for Webshop {
    fn into_response(self) -> Response {
        let err = self.0;
        err.report();
        let refusal = |message: &str| json!({ "error": true, "message": message });
        let (status, body) = match &err {
            Error::Invalid(errors) => {
                let mut body = laravel::errors_body(errors, webshop_name);
                body.insert("error".into(), Value::Bool(true));
                (err.status(), Value::Object(body))
            }
            Error::BadRequest(what) => (err.status(), refusal(what)),
            // The webshop API knows one answer for a caller it will not serve.
            Error::Unauthenticated | Error::ApiKeyRequired | Error::Forbidden => {
                (StatusCode::UNAUTHORIZED, refusal("Unauthenticated."))
            }
            Error::EmailNotVerified => (err.status(), refusal(&err.message())),
            Error::RateLimited(_) => (err.status(), refusal("Too many requests.")),
            Error::Unavailable(_) => (err.status(), refusal("Service Unavailable")),
            Error::Internal(_) => (
                err.status(),
                json!({ "error": true, "message": "Server Error", "request_id": crate::telemetry::request_id() }),
            ),
        };
        answer(&err, status, body)
    }
}

/// The JSON answer, with `Retry-After` where waiting helps.
fn answer(err: &Error, status: StatusCode, body: Value) -> Response {
    let mut response = json_response(status, body);
    if let Some(after) = err.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(whole_seconds(after)));
    }
    response
}
