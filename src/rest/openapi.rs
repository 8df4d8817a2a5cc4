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
    Modify, OpenApi, PartialSchema, ToSchema,
    openapi::{
        KnownFormat, Object, ObjectBuilder, RefOr, Schema, SchemaFormat, Type,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        server::Server,
    },
};

use super::{SESSION_COOKIE, bagisto, webshop};
use crate::{
    accounts::{
        fields::{Attribute, Kind, Spec},
        validate::MAX_TEXT,
    },
    state::AppState,
};

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

/// `POST /api/v1/customer/register`: the account's email and password, and every attribute
/// Bagisto's paths take (see [`Attribute::bagisto`]).
pub struct BagistoRegistration;

impl PartialSchema for BagistoRegistration {
    fn schema() -> RefOr<Schema> {
        let fixed =
            [("email", text(), true), ("password", text(), true), ("password_confirmation", text(), true)];
        let declared = Attribute::bagisto().map(|spec| (spec.snake, attribute(spec), required(spec)));
        object(fixed.into_iter().chain(declared))
    }
}

impl ToSchema for BagistoRegistration {}

/// `POST /api/customer/login`.
#[derive(ToSchema)]
pub struct BagistoCredentials {
    pub email: String,
    pub password: String,
}

/// `PUT /api/customer/profile`: only the fields given change.
pub struct BagistoProfile;

impl PartialSchema for BagistoProfile {
    fn schema() -> RefOr<Schema> {
        let fixed = [
            ("email", text(), false),
            ("password", described("The new password."), false),
            ("password_confirmation", text(), false),
            ("current_password", described("Required to change email or password."), false),
        ];
        let declared = Attribute::bagisto().map(|spec| (spec.snake, attribute(spec), false));
        object(fixed.into_iter().chain(declared))
    }
}

impl ToSchema for BagistoProfile {}

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

/// `POST /api/services/webshop/v1/customer/auth/register`: the project, the account's email and
/// password, every attribute the webshop path takes (see [`Attribute::webshop`]) and a billing
/// address.
pub struct WebshopRegistration;

impl PartialSchema for WebshopRegistration {
    fn schema() -> RefOr<Schema> {
        let fixed = [
            (
                "project_id",
                ObjectBuilder::new().schema_type(Type::Integer).format(Some(int64())).into(),
                true,
            ),
            ("email", text(), true),
            ("password", text(), true),
            ("default_billing", utoipa::openapi::Ref::from_schema_name("WebshopAddress").into(), false),
        ];
        // The webshop document makes every attribute optional, names included.
        let declared = Attribute::webshop().map(|(spec, name)| (name, attribute(spec), false));
        object(fixed.into_iter().chain(declared))
    }
}

impl ToSchema for WebshopRegistration {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("WebshopAddress".to_owned(), <WebshopAddress as PartialSchema>::schema()));
    }
}

/// A string.
fn text() -> RefOr<Schema> {
    Object::with_type(Type::String).into()
}

/// A string with a description.
fn described(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).description(Some(description)).into()
}

fn int64() -> SchemaFormat {
    SchemaFormat::KnownFormat(KnownFormat::Int64)
}

/// Whether a registration must carry `spec`'s attribute.
fn required(spec: Spec) -> bool {
    spec.kind == (Kind::Text { required: true })
}

/// The schema of an attribute as a request sends it.
fn attribute(spec: Spec) -> RefOr<Schema> {
    let schema = match spec.kind {
        Kind::Text { .. } => ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX_TEXT)),
        Kind::Gender => ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("`Male`, `Female` or `Other`, any letter case")),
        Kind::DateOfBirth => ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
        Kind::Choice(words) => ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(format!("one of {}", words.join(", ")))),
        Kind::Flag => ObjectBuilder::new().schema_type(Type::Boolean),
    };
    schema.build().into()
}

/// An object of `properties` (name, schema, whether required), in the order given.
fn object<'a>(properties: impl Iterator<Item = (&'a str, RefOr<Schema>, bool)>) -> RefOr<Schema> {
    let mut object = ObjectBuilder::new();
    for (name, schema, required) in properties {
        object = object.property(name, schema);
        if required {
            object = object.required(name);
        }
    }
    object.build().into()
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::{
        Extension,
        extract::State,
        http::{HeaderMap, Uri},
    };
    use serde_json::{Value, json};

    use super::*;
    use crate::{
        accounts::Origin,
        config::Settings,
        rest::input::{Asked, Fields},
    };

    /// The names a request may send to `method path`, as the document says: its body's
    /// properties (a nested object's as `outer.inner`) and its query parameters.
    fn documented(document: &Value, path: &str, method: &str) -> BTreeSet<String> {
        let resolve = |schema: &Value| -> Value {
            match schema["$ref"].as_str() {
                Some(reference) => {
                    let name = reference.rsplit('/').next().unwrap_or_default();
                    document["components"]["schemas"][name].clone()
                }
                None => schema.clone(),
            }
        };
        let operation = &document["paths"][path][method];
        let mut names = BTreeSet::new();
        let body = resolve(&operation["requestBody"]["content"]["application/json"]["schema"]);
        for (name, schema) in body["properties"].as_object().into_iter().flatten() {
            names.insert(name.clone());
            for inner in resolve(schema)["properties"].as_object().into_iter().flatten().map(|(k, _)| k) {
                names.insert(format!("{name}.{inner}"));
            }
        }
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            if parameter["in"] == "query" {
                names.insert(parameter["name"].as_str().unwrap_or_default().to_owned());
            }
        }
        names
    }

    #[tokio::test]
    async fn every_request_schema_lists_exactly_the_fields_its_handler_reads() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut settings = Settings::default();
        settings.database.url = Some(format!("sqlite://{}/t.db?mode=rwc", dir.path().display()));
        settings.database.data_dir = dir.path().to_path_buf();
        let state = AppState::build(settings).await?;
        let document = serde_json::to_value(RestApi::openapi())?;
        let origin = || Extension(Origin::new(std::net::Ipv4Addr::LOCALHOST.into()));
        // A nested object holding nothing a handler reads, so that what is read inside it is too.
        let body = || -> serde_json::Map<String, Value> {
            json!({ "default_billing": { "unread": null } }).as_object().cloned().unwrap_or_default()
        };
        let cases = [
            ("/api/v1/customer/register", "post"),
            ("/api/customer/register", "post"),
            ("/api/customer/login", "post"),
            ("/api/customer/profile", "put"),
            ("/api/customer/profile", "delete"),
            ("/api/customer/forgot-password", "post"),
            ("/api/customer/forgot-password", "get"),
            ("/api/services/webshop/v1/customer/auth/register", "post"),
            ("/api/services/webshop/v1/guest-orders", "post"),
        ];
        for (path, method) in cases {
            let asked = Asked::default();
            let fields = Fields::asked(body(), asked.clone());
            let (state, headers, uri) = (State(state.clone()), HeaderMap::new(), Uri::from_static("/"));
            // Each handler reads the request and then refuses it: it was empty.
            let _ = match (path, method) {
                ("/api/v1/customer/register", _) => {
                    super::bagisto::register(state, origin(), headers, fields).await.map(drop).map_err(drop)
                }
                ("/api/customer/register", _) => {
                    super::bagisto::register_unversioned(state, origin(), headers, fields)
                        .await
                        .map(drop)
                        .map_err(drop)
                }
                ("/api/customer/login", _) => {
                    super::bagisto::login(state, origin(), headers, fields).await.map(drop).map_err(drop)
                }
                ("/api/customer/profile", "put") => {
                    super::bagisto::update_profile(state, origin(), headers, uri, fields)
                        .await
                        .map(drop)
                        .map_err(drop)
                }
                ("/api/customer/profile", _) => {
                    super::bagisto::delete_account(state, origin(), headers, uri, fields)
                        .await
                        .map(drop)
                        .map_err(drop)
                }
                ("/api/customer/forgot-password", "post") => {
                    super::bagisto::forgot_password(state, origin(), headers, fields)
                        .await
                        .map(drop)
                        .map_err(drop)
                }
                ("/api/customer/forgot-password", _) => {
                    super::bagisto::forgot_password_get(state, origin(), headers, fields)
                        .await
                        .map(drop)
                        .map_err(drop)
                }
                ("/api/services/webshop/v1/customer/auth/register", _) => {
                    super::webshop::register(state, origin(), headers, Ok(fields))
                        .await
                        .map(drop)
                        .map_err(drop)
                }
                _ => super::webshop::record_guest_order(state, headers, Ok(fields))
                    .await
                    .map(drop)
                    .map_err(drop),
            };
            assert_eq!(asked.keys(), documented(&document, path, method), "{method} {path}");
        }
        Ok(())
    }
}
