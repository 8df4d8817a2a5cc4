//! The OpenAPI 3 document of the REST shim, generated from the handlers' `#[utoipa::path]`
//! annotations and the types below; served at `GET /api/openapi.json`.
//!
//! The request types describe bodies for the document only: handlers read the same names through
//! [`Fields`](super::Fields), so that a missing or mistyped field becomes a 422 in the legacy
//! wording instead of a deserialization error. Hence their fields are never read in Rust.
#![allow(dead_code)]

use std::collections::BTreeMap;

use axum::{Json, extract::State, response::IntoResponse};
use serde::Serialize;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        server::Server,
    },
};

use super::{SESSION_COOKIE, bagisto, webshop};
use crate::state::AppState;

/// `{"message": …}`.
#[derive(Serialize, ToSchema)]
pub struct Message {
    /// What happened.
    pub message: String,
}

impl Message {
    /// `{"message": text}`.
    pub fn new(text: &str) -> Self {
        Self { message: text.to_owned() }
    }
}

/// `{"error": …}`: Bagisto's failures other than validation.
#[derive(Serialize, ToSchema)]
pub struct BagistoFailure {
    /// What went wrong.
    pub error: String,
}

/// Laravel's 422: the first message and every message per field.
#[derive(Serialize, ToSchema)]
pub struct ValidationErrors {
    /// The first error.
    pub message: String,
    /// Messages per legacy field name.
    pub errors: BTreeMap<String, Vec<String>>,
}

/// The webshop API's failures: `error` is always true.
#[derive(Serialize, ToSchema)]
pub struct WebshopFailure {
    /// Always true.
    pub error: bool,
    /// What went wrong.
    pub message: String,
    /// Messages per field, on validation failures.
    pub errors: Option<BTreeMap<String, Vec<String>>>,
}

/// `POST /api/v1/customer/register`.
#[derive(ToSchema)]
pub struct BagistoRegistration {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password: String,
    pub password_confirmation: String,
}

/// `POST /api/customer/login`.
#[derive(ToSchema)]
pub struct BagistoCredentials {
    pub email: String,
    pub password: String,
}

/// `PUT /api/customer/profile`: only the fields given change.
#[derive(ToSchema)]
pub struct BagistoProfile {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `Male`, `Female` or `Other`.
    pub gender: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The new password.
    pub password: Option<String>,
    pub password_confirmation: Option<String>,
    /// Required to change email or password.
    pub current_password: Option<String>,
}

/// `DELETE /api/customer/profile`.
#[derive(ToSchema)]
pub struct DeleteAccount {
    /// The account's password, proving it is the customer's.
    pub current_password: String,
}

/// `POST /api/customer/forgot-password`.
#[derive(ToSchema)]
pub struct ForgotPassword {
    pub email: String,
}

/// A customer wrapped in `data`.
#[derive(Serialize, ToSchema)]
pub struct CustomerData {
    pub data: bagisto::BagistoCustomer,
}

/// The login answer's `token`: the JWT with `?token=true` (JWT guard), otherwise `true` (cookie
/// guard: the session travels in the `customer_session` cookie).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginToken {
    /// The JWT.
    Jwt(String),
    /// Always `true`.
    Cookie(bool),
}

/// The login answer (fields in the order on the wire).
#[derive(Serialize, ToSchema)]
pub struct LoginAnswer {
    pub data: bagisto::BagistoCustomer,
    pub message: String,
    pub token: LoginToken,
}

/// The profile answer.
#[derive(Serialize, ToSchema)]
pub struct ProfileAnswer {
    pub data: bagisto::BagistoCustomer,
    pub message: String,
}

/// `POST /api/services/webshop/v1/customer/auth/register`.
#[derive(ToSchema)]
pub struct WebshopRegistration {
    pub project_id: i64,
    pub email: String,
    pub password: String,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
    /// `private` or `business`.
    pub account_type: Option<String>,
    pub company: Option<String>,
    pub tax_number: Option<String>,
    pub cart_reminder_consent: Option<bool>,
    pub default_billing: Option<WebshopAddress>,
}

/// A billing address.
#[derive(ToSchema)]
pub struct WebshopAddress {
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub street: Option<String>,
    pub number: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub phone: Option<String>,
}

/// `POST /api/services/webshop/v1/guest-orders`.
#[derive(ToSchema)]
pub struct GuestOrder {
    /// The shop's order number; recording the same order twice is harmless.
    pub reference: String,
    /// The address the order was placed with.
    pub email: String,
    /// Exact decimal text with at most the currency's minor units (`"19.99"`).
    pub total: String,
    /// ISO 4217 code.
    pub currency: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub placed_at: String,
}

/// A recorded guest order (fields in the order on the wire).
#[derive(Serialize, ToSchema)]
pub struct WebshopOrder {
    pub currency: String,
    pub email: String,
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: chrono::DateTime<chrono::Utc>,
    pub reference: String,
    pub total: String,
}

/// `data` of the guest order answer.
#[derive(Serialize, ToSchema)]
pub struct GuestOrderData {
    pub order: WebshopOrder,
}

/// The guest order answer, in the webshop API's envelope.
#[derive(Serialize, ToSchema)]
pub struct GuestOrderRecorded {
    pub data: GuestOrderData,
    /// Always false.
    pub error: bool,
    pub message: String,
}

/// The webshop's customer (fields in the order on the wire).
#[derive(Serialize, ToSchema, Clone)]
pub struct WebshopCustomer {
    pub email: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub email_verified_at: Option<chrono::DateTime<chrono::Utc>>,
    pub firstname: String,
    pub id: i64,
    pub lastname: String,
}

/// `data` of the webshop's answer.
#[derive(Serialize, ToSchema)]
pub struct WebshopData {
    pub customer: WebshopCustomer,
    /// `<id>|<secret>`.
    pub token: String,
}

/// The webshop's 201: both of its document's shapes at once (its field table nests `customer`
/// and `token` under `data`, its example has them at the top level; clients exist for both).
#[derive(Serialize, ToSchema)]
pub struct WebshopCreated {
    pub customer: WebshopCustomer,
    pub data: WebshopData,
    pub error: bool,
    pub message: String,
    pub token: String,
}

/// The credentials the paths take: a JWT or an opaque session token as a bearer, the session
/// cookie of Bagisto's cookie guard, and a shop's project API key: as the bearer of a call
/// without a customer token, or in `X-Project-Key`.
struct Credentials;

impl Modify for Credentials {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT, or an opaque <session id>|<secret> token")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
        components.add_security_scheme(
            "shop_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Project-Key",
                "The shop's project API key, <id>|<secret>; without one, calls serve the default shop",
            ))),
        );
        components.add_security_scheme(
            "project_key",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("<id>|<secret>").build(),
            ),
        );
    }
}

/// The shim's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "customer-accounts REST compatibility shim",
        description = "Bagisto customer paths and the webshop register path."
    ),
    modifiers(&Credentials),
    paths(
        bagisto::register,
        bagisto::register_unversioned,
        bagisto::login,
        bagisto::me,
        bagisto::customer_by_id,
        bagisto::update_profile,
        bagisto::delete_account,
        bagisto::logout,
        bagisto::logout_post,
        bagisto::forgot_password,
        bagisto::forgot_password_get,
        webshop::register,
        webshop::record_guest_order,
    )
)]
pub struct RestApi;

/// `GET /api/openapi.json`, naming this service's `PUBLIC_URL` as its server.
pub async fn document(State(state): State<AppState>) -> impl IntoResponse {
    let mut document = RestApi::openapi();
    document.servers = Some(vec![Server::new(state.settings.public_url())]);
    Json(document)
}
