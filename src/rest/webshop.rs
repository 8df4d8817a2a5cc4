//! The webshop API: `/api/services/webshop/v1/customer/auth/register` and the checkout's
//! `/api/services/webshop/v1/guest-orders`.

use axum::{
    Extension, Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::Value;

use super::{
    Fields, MalformedBody, Webshop,
    openapi::{
        self, GuestOrderData, GuestOrderRecorded, WebshopCreated, WebshopCustomer, WebshopData, WebshopOrder,
    },
};
use crate::{
    accounts::{self, Address, Given, Origin, Registration, WebshopDetails, fields::Attribute},
    auth::{Password, bearer::bearer_token},
    state::AppState,
};

const PATH: &str = "/api/services/webshop/v1/customer/auth/register";
const GUEST_ORDERS: &str = "/api/services/webshop/v1/guest-orders";
const CREATED: &str = "Account created. Check your email to verify your address.";
const RECORDED: &str = "Guest order recorded.";

pub(super) fn routes() -> Router<AppState> {
    Router::new().route(PATH, post(register)).route(GUEST_ORDERS, post(record_guest_order))
}

/// The storefront's project API key: `Authorization: Bearer`, as the register path takes it,
/// or `X-Project-Key`, as GraphQL does.
fn project_key(headers: &HeaderMap) -> Option<String> {
    let header = headers.get("x-project-key").and_then(|v| v.to_str().ok()).map(str::trim);
    header.filter(|k| !k.is_empty()).map(str::to_owned).or_else(|| bearer_token(headers))
}

/// Records an order placed without an account, for the shop whose API key is presented.
#[utoipa::path(post, path = "/api/services/webshop/v1/guest-orders", tag = "webshop",
    operation_id = "webshop_record_guest_order",
    request_body = openapi::GuestOrder,
    responses(
        (status = 201, description = "Recorded (or recorded before with the same details: the same answer)", body = openapi::GuestOrderRecorded),
        (status = 400, description = "Malformed body", body = openapi::WebshopFailure),
        (status = 401, description = "No valid project API key", body = openapi::WebshopFailure),
        (status = 422, description = "Validation failed, or the reference was recorded with other details", body = openapi::WebshopFailure),
        (status = 429, description = "Too many requests", body = openapi::WebshopFailure),
    ),
    security(("project_key" = [])))]
pub(super) async fn record_guest_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    fields: Result<Fields, MalformedBody>,
) -> Result<Response, Webshop> {
    let fields = fields?;
    let placed_at = Given::from_text(fields.text("placed_at").as_deref(), |t| {
        chrono::DateTime::parse_from_rfc3339(t).ok().map(|at| at.to_utc())
    });
    let input = accounts::GuestOrderInput {
        reference: fields.text("reference").unwrap_or_default(),
        email: fields.text("email").unwrap_or_default(),
        total: fields.text("total").unwrap_or_default(),
        currency: fields.text("currency").unwrap_or_default(),
        placed_at,
    };
    let order = accounts::record_guest_order(&state, project_key(&headers).as_deref(), input).await?;
    let order = WebshopOrder {
        currency: order.currency,
        email: order.email,
        placed_at: order.placed_at,
        reference: order.reference,
        total: order.total,
    };
    let body =
        GuestOrderRecorded { data: GuestOrderData { order }, error: false, message: RECORDED.to_owned() };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `project_id` as an integer (JSON number or text).
fn project_id(fields: &Fields) -> Given<i32> {
    match fields.raw("project_id") {
        None | Some(Value::Null) => Given::Missing,
        Some(_) => fields
            .text("project_id")
            .and_then(|t| t.trim().parse().ok())
            .map_or(Given::Malformed, Given::Value),
    }
}

fn address(fields: &Fields) -> Option<Address> {
    let billing = fields.object("default_billing")?;
    Some(Address {
        first_name: billing.text("firstname"),
        last_name: billing.text("lastname"),
        company: None,
        street: billing.text("street"),
        number: billing.text("number"),
        postcode: billing.text("postcode"),
        city: billing.text("city"),
        country: billing.text("country"),
        phone: billing.text("phone"),
    })
}

/// Creates an account in a shop (project) and logs it in, with the webshop document's fields.
#[utoipa::path(post, path = "/api/services/webshop/v1/customer/auth/register", tag = "webshop",
    operation_id = "webshop_register",
    request_body = openapi::WebshopRegistration,
    responses(
        (status = 201, description = "Account created; the customer is logged in", body = openapi::WebshopCreated),
        (status = 400, description = "Malformed body", body = openapi::WebshopFailure),
        (status = 401, description = "The project requires an API key", body = openapi::WebshopFailure),
        (status = 422, description = "Validation failed", body = openapi::WebshopFailure),
        (status = 429, description = "Too many requests", body = openapi::WebshopFailure),
    ),
    security((), ("project_key" = [])))]
pub(super) async fn register(
    State(state): State<AppState>,
    Extension(origin): Extension<Origin>,
    headers: HeaderMap,
    fields: Result<Fields, MalformedBody>,
) -> Result<Response, Webshop> {
    let fields = fields?;
    let registration = Registration {
        project_id: project_id(&fields),
        email: fields.text("email").unwrap_or_default(),
        password: Password::new(fields.text("password").unwrap_or_default()),
        attributes: fields.attributes(Attribute::webshop().map(|(spec, name)| (spec.attribute, name))),
        webshop: Some(WebshopDetails { api_key: bearer_token(&headers), default_billing: address(&fields) }),
        ..Registration::new(accounts::DEFAULT_PROJECT_ID)
    };
    let signed_in = accounts::register(&state, &origin, registration).await?;
    let token = accounts::opaque_token(&state, signed_in.session_id).await?;
    let customer = signed_in.customer;
    let customer = WebshopCustomer {
        firstname: customer.first_name().to_owned(),
        lastname: customer.last_name().to_owned(),
        email: customer.email,
        email_verified_at: customer.email_verified_at,
        id: customer.id,
    };
    let data = WebshopData { customer: customer.clone(), token: token.clone() };
    let body = WebshopCreated { customer, data, error: false, message: CREATED.to_owned(), token };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
