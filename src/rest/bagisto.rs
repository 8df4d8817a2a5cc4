//! Bagisto's customer API: `/api/v1/customer/register`, `/api/customer/…`, `/api/customers/{id}`.

use axum::{
    Extension, Json, Router,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::openapi::{
    KnownFormat, Object, ObjectBuilder, RefOr, Schema, SchemaFormat, Type, schema::SchemaType,
};

use super::{
    Bagisto, Fields, SESSION_COOKIE, credential,
    openapi::{self, BagistoFailure, CustomerData, LoginAnswer, LoginToken, Message, ProfileAnswer},
    storefront_key,
};
use crate::{
    accounts::{
        self, Authenticated, Customer, Gender, Need, Origin, ProfileChanges, Registration, ResetRequest,
        fields::{self, Attribute, Kind, Value as FieldValue},
    },
    auth::Password,
    error::Error,
    state::AppState,
};

fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/customer/register", post(register))
        .route("/api/customer/register", post(register_unversioned))
        .route("/api/customer/login", post(login))
        .route("/api/customer/get", get(me))
        .route("/api/customers/{id}", get(customer_by_id))
        .route("/api/customer/profile", put(update_profile).delete(delete_account))
        .route("/api/customer/logout", get(logout).post(logout_post))
        .route("/api/customer/forgot-password", post(forgot_password).get(forgot_password_get))
}

/// The Bagisto paths with their cookie guard's CSRF check.
pub(super) fn guarded(state: &AppState) -> Router<AppState> {
    routes().route_layer(axum::middleware::from_fn_with_state(state.clone(), super::same_origin_pages))
}

/// A customer as Bagisto's API shows one: its fixed fields and every attribute Bagisto has (see
/// [`Attribute::bagisto`]), keys in alphabetical order, the order its answers have always had on
/// the wire. Its OpenAPI schema is built from the same declaration.
pub(super) struct BagistoCustomer(Map<String, Value>);

impl Serialize for BagistoCustomer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl utoipa::PartialSchema for BagistoCustomer {
    fn schema() -> RefOr<Schema> {
        let text = || Object::with_type(Type::String);
        let nullable = || Object::with_type(SchemaType::from_iter([Type::String, Type::Null]));
        let mut properties: Vec<(&str, RefOr<Schema>)> = vec![
            ("created_at", text().into()),
            ("email", text().into()),
            ("group", utoipa::openapi::Ref::from_schema_name("BagistoGroup").into()),
            ("id", ObjectBuilder::new().schema_type(Type::Integer).format(Some(int64())).into()),
            ("name", text().into()),
            ("status", ObjectBuilder::new().schema_type(Type::Integer).format(Some(int32())).into()),
            ("updated_at", text().into()),
        ];
        for spec in Attribute::bagisto() {
            let schema = match spec.kind {
                Kind::Text { required: true } => text(),
                // Null belongs in the enum too: a nullable type with an enum that leaves it out
                // still refuses null, and generated clients then fail on a customer with none.
                Kind::Gender => ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .enum_values(Some([json!("Male"), json!("Female"), json!("Other"), Value::Null]))
                    .build(),
                _ => nullable(),
            };
            properties.push((spec.snake, schema.into()));
        }
        properties.sort_by_key(|(name, _)| *name);
        let mut object = ObjectBuilder::new();
        for (name, schema) in properties {
            object = object.property(name, schema).required(name);
        }
        object.build().into()
    }
}

impl utoipa::ToSchema for BagistoCustomer {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("BagistoGroup".to_owned(), <BagistoGroup as utoipa::PartialSchema>::schema()));
    }
}

fn int64() -> SchemaFormat {
    SchemaFormat::KnownFormat(KnownFormat::Int64)
}

fn int32() -> SchemaFormat {
    SchemaFormat::KnownFormat(KnownFormat::Int32)
}

/// A customer group as Bagisto shows one.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct BagistoGroup {
    created_at: Option<String>,
    id: i32,
    name: String,
    updated_at: Option<String>,
}

/// Laravel's timestamp form: `2020-09-28T05:13:42.000000Z`.
fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

async fn shape(state: &AppState, customer: Customer) -> Result<BagistoCustomer, Error> {
    let group = accounts::group(state, customer.group_id).await?;
    let group = BagistoGroup {
        id: group.id,
        name: group.name,
        created_at: group.created_at.map(timestamp),
        updated_at: group.updated_at.map(timestamp),
    };
    let mut shaped = Map::new();
    shaped.insert("created_at".into(), json!(timestamp(customer.created_at)));
    shaped.insert("email".into(), json!(customer.email));
    shaped.insert("group".into(), serde_json::to_value(group).map_err(Error::internal)?);
    shaped.insert("id".into(), json!(customer.id));
    shaped.insert("name".into(), json!(customer.name));
    shaped.insert("status".into(), json!(customer.status_code()));
    shaped.insert("updated_at".into(), json!(timestamp(customer.updated_at)));
    for spec in Attribute::bagisto() {
        let value = match customer.attributes.get(spec.attribute) {
            Some(FieldValue::Text(text)) => json!(text),
            Some(FieldValue::Gender(gender)) => json!(match gender {
                Gender::Male => "Male",
                Gender::Female => "Female",
                Gender::Other => "Other",
            }),
            Some(FieldValue::Date(date)) => json!(date.format("%Y-%m-%d").to_string()),
            Some(FieldValue::Flag(flag)) => json!(flag),
            None if spec.kind == (Kind::Text { required: true }) => json!(""),
            None => Value::Null,
        };
        shaped.insert(spec.snake.into(), value);
    }
    Ok(BagistoCustomer(shaped))
}

/// The attributes a Bagisto request gives, by their Bagisto names.
fn attributes(fields: &Fields) -> fields::Entered {
    fields.attributes(Attribute::bagisto().map(|spec| (spec.attribute, spec.snake)))
}

/// The caller a legacy credential names, as `need` asks. These paths serve the default
/// project, or the one an `X-Project-Key` names: a customer's token never works in another.
async fn lookup(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    need: Need,
) -> Result<Authenticated, Error> {
    let credential = credential(headers, uri).ok_or(Error::Unauthenticated)?;
    let key = headers.get("x-project-key").and_then(|v| v.to_str().ok());
    let project = accounts::project_of_key(state, key).await?;
    accounts::caller(state, Some(&credential), project, need).await?.ok_or(Error::Unauthenticated)
}

/// The session a legacy credential names, verified address or not (logout takes any).
async fn session_of(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<Authenticated, Error> {
    lookup(state, headers, uri, Need::Session).await
}

/// The caller, held to `REQUIRE_EMAIL_VERIFICATION`.
async fn caller(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<Authenticated, Error> {
    lookup(state, headers, uri, Need::Verified).await
}

/// Creates an account (the customer logs in separately).
#[utoipa::path(post, path = "/api/v1/customer/register", tag = "bagisto",
    request_body = openapi::BagistoRegistration,
    responses(
        (status = 200, description = "Account created", body = openapi::Message),
        (status = 400, description = "Malformed body", body = openapi::Message),
        (status = 401, description = "A wrong or revoked project API key, or none where the shop requires one", body = openapi::BagistoFailure),
        (status = 422, description = "Validation failed", body = openapi::ValidationErrors),
        (status = 429, description = "Too many attempts", body = openapi::BagistoFailure),
    ),
    security((), ("shop_key" = []), ("project_key" = [])))]
pub(super) async fn register(
    State(state): State<AppState>,
    Extension(origin): Extension<Origin>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, Bagisto> {
    let project = accounts::storefront_project(&state, storefront_key(&headers).as_deref()).await?;
    let registration = Registration {
        email: fields.text("email").unwrap_or_default(),
        password: Password::new(fields.text("password").unwrap_or_default()),
        password_confirmation: Some(Password::new(fields.text("password_confirmation").unwrap_or_default())),
        attributes: attributes(&fields),
        ..Registration::new(project)
    };
    accounts::register(&state, &origin, registration).await?;
    Ok(Json(Message::new("Your account has been created successfully.")).into_response())
}

/// The original service answered registration on both paths.
#[utoipa::path(post, path = "/api/customer/register", tag = "bagisto",
    request_body = openapi::BagistoRegistration,
    responses(
        (status = 200, description = "Account created", body = openapi::Message),
        (status = 400, description = "Malformed body", body = openapi::Message),
        (status = 401, description = "A wrong or revoked project API key, or none where the shop requires one", body = openapi::BagistoFailure),
        (status = 422, description = "Validation failed", body = openapi::ValidationErrors),
        (status = 429, description = "Too many attempts", body = openapi::BagistoFailure),
    ),
    security((), ("shop_key" = []), ("project_key" = [])))]
pub(super) async fn register_unversioned(
    state: State<AppState>,
    origin: Extension<Origin>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, Bagisto> {
    register(state, origin, headers, fields).await
}

/// Logs in: a JWT with `?token=true` (JWT guard), otherwise a session cookie (cookie guard).
#[utoipa::path(post, path = "/api/customer/login", tag = "bagisto",
    params(("token" = Option<bool>, Query, description = "true: answer with a JWT (JWT guard); otherwise a session cookie")),
    request_body = openapi::BagistoCredentials,
    responses(
        (status = 200, description = "Logged in", body = openapi::LoginAnswer),
        (status = 400, description = "Malformed body", body = openapi::Message),
        (status = 401, description = "Wrong credentials; a wrong or revoked project API key, or none where the shop requires one", body = openapi::BagistoFailure),
        (status = 422, description = "Missing fields", body = openapi::ValidationErrors),
        (status = 429, description = "Too many attempts", body = openapi::BagistoFailure),
    ),
    security((), ("shop_key" = []), ("project_key" = [])))]
pub(super) async fn login(
    State(state): State<AppState>,
    Extension(origin): Extension<Origin>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, Bagisto> {
    let project = accounts::storefront_project(&state, storefront_key(&headers).as_deref()).await?;
    // `?token=true` selects the JWT guard; without it, the cookie guard.
    let jwt_guard = fields.text("token").is_some_and(|t| matches!(t.as_str(), "true" | "1"));
    let email = fields.text("email").unwrap_or_default();
    let password = Password::new(fields.text("password").unwrap_or_default());
    let signed_in = accounts::login(&state, &origin, project, &email, &password).await?;
    let data = shape(&state, signed_in.customer).await?;
    let message = "Logged in successfully.".to_owned();
    if jwt_guard {
        let token = LoginToken::Jwt(signed_in.token.token);
        return Ok(Json(LoginAnswer { data, message, token }).into_response());
    }
    let cookie_value = accounts::opaque_token(&state, signed_in.session_id).await?;
    let mut response = Json(LoginAnswer { data, message, token: LoginToken::Cookie(true) }).into_response();
    set_cookie(&mut response, &state, &cookie_value, state.settings.session_ttl().as_secs());
    Ok(response)
}

fn set_cookie(response: &mut Response, state: &AppState, value: &str, max_age: u64) {
    use axum_extra::extract::cookie::{Cookie, SameSite};
    let cookie = Cookie::build((SESSION_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(i64::try_from(max_age).unwrap_or(i64::MAX)))
        .secure(state.settings.public_url().starts_with("https://"));
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The logged-in customer.
#[utoipa::path(get, path = "/api/customer/get", tag = "bagisto",
    params(("token" = Option<String>, Query, description = "a JWT, instead of the Authorization header")),
    responses(
        (status = 200, description = "The logged-in customer", body = openapi::CustomerData),
        (status = 401, description = "Not logged in", body = openapi::BagistoFailure),
        (status = 429, description = "Too many requests", body = openapi::BagistoFailure),
    ),
    security(("bearer" = []), ("cookie" = []), ("bearer" = [], "shop_key" = []), ("cookie" = [], "shop_key" = [])))]
pub(super) async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, Bagisto> {
    let caller = caller(&state, &headers, &uri).await?;
    let data = shape(&state, accounts::me(caller)).await?;
    Ok(Json(CustomerData { data }).into_response())
}

/// A customer by id: only one's own.
#[utoipa::path(get, path = "/api/customers/{id}", tag = "bagisto",
    params(("id" = i64, Path, description = "Customer id: only one's own")),
    responses(
        (status = 200, description = "The caller's own record", body = openapi::CustomerData),
        (status = 401, description = "Not logged in", body = openapi::BagistoFailure),
        (status = 403, description = "Another customer's id", body = openapi::Message),
        (status = 404, description = "Not a number", body = openapi::Message),
        (status = 429, description = "Too many requests", body = openapi::BagistoFailure),
    ),
    security(("bearer" = []), ("cookie" = []), ("bearer" = [], "shop_key" = []), ("cookie" = [], "shop_key" = [])))]
pub(super) async fn customer_by_id(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, Bagisto> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok((StatusCode::NOT_FOUND, Json(Message::new("Not Found."))).into_response());
    };
    let caller = caller(&state, &headers, &uri).await?;
    let data = shape(&state, accounts::customer_by_id(&caller, id)?).await?;
    Ok(Json(CustomerData { data }).into_response())
}

/// Changes the logged-in customer's profile; email and password changes need the current password.
#[utoipa::path(put, path = "/api/customer/profile", tag = "bagisto",
    request_body = openapi::BagistoProfile,
    responses(
        (status = 200, description = "Updated", body = openapi::ProfileAnswer),
        (status = 400, description = "Malformed body", body = openapi::Message),
        (status = 401, description = "Not logged in", body = openapi::BagistoFailure),
        (status = 422, description = "Validation failed", body = openapi::ValidationErrors),
        (status = 429, description = "Too many requests", body = openapi::BagistoFailure),
    ),
    security(("bearer" = []), ("cookie" = []), ("bearer" = [], "shop_key" = []), ("cookie" = [], "shop_key" = [])))]
pub(super) async fn update_profile(
    State(state): State<AppState>,
    Extension(origin): Extension<Origin>,
    headers: HeaderMap,
    uri: Uri,
    fields: Fields,
) -> Result<Response, Bagisto> {
    let changes = ProfileChanges {
        attributes: attributes(&fields),
        email: fields.text("email"),
        current_password: fields.text("current_password").map(Password::new),
        new_password: fields.text("password").filter(|p| !p.is_empty()).map(Password::new),
        new_password_confirmation: fields
            .text("password_confirmation")
            .filter(|p| !p.is_empty())
            .map(Password::new),
    };
    let caller = caller(&state, &headers, &uri).await?;
    let updated = accounts::update_profile(&state, &origin, &caller, changes).await?;
    let data = shape(&state, updated).await?;
    let message = "Your account has been updated successfully.".to_owned();
    Ok(Json(ProfileAnswer { data, message }).into_response())
}

/// Deletes the logged-in customer's account once `current_password` proves it is theirs.
#[utoipa::path(delete, path = "/api/customer/profile", tag = "bagisto",
    request_body = openapi::DeleteAccount,
    responses(
        (status = 200, description = "Deleted: every session ended, personal data erased", body = openapi::Message),
        (status = 400, description = "Malformed body", body = openapi::Message),
        (status = 401, description = "Not logged in", body = openapi::BagistoFailure),
        (status = 422, description = "Current password missing or wrong", body = openapi::ValidationErrors),
        (status = 429, description = "Too many attempts", body = openapi::BagistoFailure),
    ),
    security(("bearer" = []), ("cookie" = []), ("bearer" = [], "shop_key" = []), ("cookie" = [], "shop_key" = [])))]
pub(super) async fn delete_account(
    State(state): State<AppState>,
    Extension(origin): Extension<Origin>,
    headers: HeaderMap,
    uri: Uri,
    fields: Fields,
) -> Result<Response, Bagisto> {
    let current_password = Password::new(fields.text("current_password").unwrap_or_default());
    let caller = caller(&state, &headers, &uri).await?;
    accounts::delete_account(&state, &origin, &caller, &current_password).await?;
    let mut response = Json(Message::new("Your account has been deleted.")).into_response();
    set_cookie(&mut response, &state, "", 0);
    Ok(response)
}

/// Ends the session the credential names.
#[utoipa::path(get, path = "/api/customer/logout", tag = "bagisto",
    responses(
        (status = 200, description = "Logged out", body = openapi::Message),
        (status = 401, description = "Not logged in", body = openapi::BagistoFailure),
        (status = 429, description = "Too many requests", body = openapi::BagistoFailure),
    ),
    security(("bearer" = []), ("cookie" = []), ("bearer" = [], "shop_key" = []), ("cookie" = [], "shop_key" = [])))]
pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, Bagisto> {
    let caller = session_of(&state, &headers, &uri).await?;
    accounts::logout(&state, &caller).await?;
    let mut response = Json(Message::new("Logged out successfully!")).into_response();
    set_cookie(&mut response, &state, "", 0);
    Ok(response)
}

/// Logout is accepted as POST as well.
#[utoipa::path(post, path = "/api/customer/logout", tag = "bagisto",
    responses(
        (status = 200, description = "Logged out", body = openapi::Message),
        (status = 401, description = "Not logged in", body = openapi::BagistoFailure),
        (status = 429, description = "Too many requests", body = openapi::BagistoFailure),
    ),
    security(("bearer" = []), ("cookie" = []), ("bearer" = [], "shop_key" = []), ("cookie" = [], "shop_key" = [])))]
pub(super) async fn logout_post(
    state: State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, Bagisto> {
    logout(state, headers, uri).await
}

/// Emails a reset link; the answer is the same for unknown addresses (unless LEGACY_REVEAL_UNKNOWN_EMAIL).
#[utoipa::path(post, path = "/api/customer/forgot-password", tag = "bagisto",
    request_body = openapi::ForgotPassword,
    responses(
        (status = 200, description = "Sent (or nothing to send: the answer is the same)", body = openapi::Message),
        (status = 400, description = "Malformed body", body = openapi::Message),
        (status = 401, description = "A wrong or revoked project API key, or none where the shop requires one", body = openapi::BagistoFailure),
        (status = 422, description = "Malformed email, or an unknown one with LEGACY_REVEAL_UNKNOWN_EMAIL", body = openapi::ValidationErrors),
        (status = 429, description = "Too many attempts", body = openapi::BagistoFailure),
    ),
    security((), ("shop_key" = []), ("project_key" = [])))]
pub(super) async fn forgot_password(
    State(state): State<AppState>,
    Extension(origin): Extension<Origin>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, Bagisto> {
    let project = accounts::storefront_project(&state, storefront_key(&headers).as_deref()).await?;
    let email = fields.text("email").unwrap_or_default();
    let request = accounts::forgot_password(&state, &origin, project, &email).await?;
    Ok(match request {
        ResetRequest::UnknownEmail if state.settings.legacy.reveal_unknown_email => {
            let refusal =
                BagistoFailure { error: "We can't find a user with that e-mail address.".to_owned() };
            (StatusCode::UNPROCESSABLE_ENTITY, Json(refusal)).into_response()
        }
        _ => Json(Message::new("We have e-mailed your password reset link!")).into_response(),
    })
}

/// The document's examples send forgot-password as GET with a query string.
#[utoipa::path(get, path = "/api/customer/forgot-password", tag = "bagisto",
    params(("email" = String, Query, description = "The account's email")),
    responses(
        (status = 200, description = "Sent (or nothing to send: the answer is the same)", body = openapi::Message),
        (status = 401, description = "A wrong or revoked project API key, or none where the shop requires one", body = openapi::BagistoFailure),
        (status = 422, description = "Malformed email, or an unknown one with LEGACY_REVEAL_UNKNOWN_EMAIL", body = openapi::ValidationErrors),
        (status = 429, description = "Too many attempts", body = openapi::BagistoFailure),
    ),
    security((), ("shop_key" = []), ("project_key" = [])))]
pub(super) async fn forgot_password_get(
    state: State<AppState>,
    origin: Extension<Origin>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, Bagisto> {
    forgot_password(state, origin, headers, fields).await
}
