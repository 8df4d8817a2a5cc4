//! GraphQL object, input and payload types; built from domain values, never exposing secrets.

use async_graphql::{
    Context, Enum, ID, InputObject, InputValueError, InputValueResult, MaybeUndefined, Object, Scalar,
    ScalarType, SimpleObject, Value,
};
use chrono::{DateTime, NaiveDate, Utc};

use super::context::{state, top_level};
use crate::{
    accounts::{
        self, ProfileChanges, Registration,
        fields::{Attribute, Entered, Raw},
    },
    auth::Password,
    error::{Code, FieldError},
};

/// A calendar date, `YYYY-MM-DD` (RFC 3339 full-date).
#[derive(Debug, Clone, Copy)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date", specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("expected a date as YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// A customer's gender.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "accounts::Gender")]
pub enum Gender {
    /// Male.
    Male,
    /// Female.
    Female,
    /// Other.
    Other,
}

/// Whether the account may log in.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "accounts::Status")]
pub enum CustomerStatus {
    /// May log in.
    Active,
    /// Suspended by the shop.
    Suspended,
}

/// A customer group (guest, general, wholesale).
#[derive(SimpleObject)]
pub struct CustomerGroup {
    /// Group id.
    pub id: ID,
    /// Stable machine name.
    pub code: String,
    /// Display name.
    pub name: String,
}

impl From<accounts::Group> for CustomerGroup {
    fn from(g: accounts::Group) -> Self {
        Self { id: ID(g.id.to_string()), code: g.code, name: g.name }
    }
}

/// A customer account. Only ever built for its owner (the caller, or who just signed in), which
/// is what lets the fields below show sessions, addresses and orders without asking again.
pub struct Customer {
    /// What the house shows of the account.
    pub view: accounts::Customer,
    /// The session of the request that sees it, if it has one.
    pub session: Option<uuid::Uuid>,
}

impl Customer {
    /// The account as seen from `session`.
    pub fn new(view: accounts::Customer, session: Option<uuid::Uuid>) -> Self {
        Self { view, session }
    }
}

#[Object]
impl Customer {
    /// Customer id.
    async fn id(&self) -> ID {
        ID(self.view.id.to_string())
    }
    /// Email address, as the customer typed it.
    async fn email(&self) -> &str {
        &self.view.email
    }
    /// First name.
    async fn first_name(&self) -> &str {
        self.view.first_name()
    }
    /// Last name.
    async fn last_name(&self) -> &str {
        self.view.last_name()
    }
    /// First and last name.
    async fn name(&self) -> &str {
        &self.view.name
    }
    /// Gender, if given.
    async fn gender(&self) -> Option<Gender> {
        self.view.attributes.gender().map(Gender::from)
    }
    /// Date of birth, if given.
    async fn date_of_birth(&self) -> Option<Date> {
        self.view.attributes.date(Attribute::DateOfBirth).map(Date)
    }
    /// Phone number, if given.
    async fn phone(&self) -> Option<&str> {
        self.view.attributes.text(Attribute::Phone)
    }
    /// Whether the account may log in.
    async fn status(&self) -> CustomerStatus {
        self.view.status.into()
    }
    /// The customer group (new customers join `general`).
    async fn group(&self, ctx: &Context<'_>) -> async_graphql::Result<CustomerGroup> {
        let state = state(ctx)?;
        accounts::group(state, self.view.group_id).await.map(CustomerGroup::from).map_err(top_level)
    }
    /// When the customer proved they read this address; null until then.
    async fn email_verified_at(&self) -> Option<DateTime<Utc>> {
        self.view.email_verified_at
    }
    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.view.created_at
    }
    /// When the account last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.view.updated_at
    }
    /// The sessions that still work (logged-in browsers and apps), the 100 newest first.
    async fn sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<super::sessions::Session>> {
        let sessions =
            accounts::sessions(state(ctx)?, self.view.id, self.session).await.map_err(top_level)?;
        Ok(sessions.into_iter().map(super::sessions::Session).collect())
    }
    /// Orders placed as a guest with this address, the 100 newest first; empty until the address is
    /// verified (otherwise registering a stranger's address would show their orders).
    async fn orders(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<super::orders::Order>> {
        let orders = accounts::orders(state(ctx)?, &self.view).await.map_err(top_level)?;
        Ok(orders.into_iter().map(super::orders::Order).collect())
    }
    /// The address book, oldest first.
    async fn addresses(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<super::addresses::Address>> {
        let addresses = accounts::addresses(state(ctx)?, self.view.id).await.map_err(top_level)?;
        Ok(addresses.into_iter().map(super::addresses::Address).collect())
    }
}

/// Why a mutation's input was refused.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "Code")]
pub enum UserErrorCode {
    /// Missing or blank.
    Required,
    /// Malformed.
    Invalid,
    /// Too short.
    TooShort,
    /// Too long.
    TooLong,
    /// Confirmation differs.
    PasswordMismatch,
    /// Email already registered.
    EmailTaken,
    /// Email and password do not match.
    InvalidCredentials,
    /// The emailed link's token is unknown, used, replaced or expired.
    InvalidToken,
    /// The address must be verified before logging in.
    EmailNotVerified,
    /// Nothing of the caller's has this id.
    NotFound,
    /// The password is easy to guess; the message says how to do better.
    TooWeak,
    /// The caller has as many of these as one may.
    TooMany,
    /// Already recorded with different details.
    Conflict,
}

/// An expected failure a customer can fix, naming the input field.
#[derive(SimpleObject, Debug, Clone)]
pub struct UserError {
    /// Path to the input field (`["email"]`); null when no single field is at fault.
    pub field: Option<Vec<String>>,
    /// Stable code to branch on.
    pub code: UserErrorCode,
    /// English explanation.
    pub message: String,
}

impl From<FieldError> for UserError {
    fn from(e: FieldError) -> Self {
        Self {
            field: e.field.map(|f| vec![f.camel_name().to_owned()]),
            code: e.code.into(),
            message: e.message(),
        }
    }
}

/// Payloads that carry expected failures in `errors`.
pub trait Payload: Default {
    /// Where the errors go.
    fn errors_mut(&mut self) -> &mut Vec<UserError>;
}

macro_rules! payload {
    ($($name:ident),*) => {$(
        impl $crate::graphql::types::Payload for $name {
            fn errors_mut(&mut self) -> &mut Vec<$crate::graphql::types::UserError> {
                &mut self.errors
            }
        }
    )*};
}
pub(crate) use payload;
payload!(
    RegisterPayload,
    LoginPayload,
    UpdateProfilePayload,
    ForgotPasswordPayload,
    ResetPasswordPayload,
    VerifyEmailPayload,
    ResendVerificationEmailPayload,
    DeleteAccountPayload
);

/// Result of `register`.
#[derive(SimpleObject, Default)]
pub struct RegisterPayload {
    /// The new customer.
    pub customer: Option<Customer>,
    /// Access token: the customer is logged in at once.
    pub token: Option<String>,
    /// When `token` expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Long-lived, single-use token for `refreshAccessToken`; null when `REFRESH_TOKEN_COOKIE`
    /// sends it as an HttpOnly cookie instead.
    pub refresh_token: Option<String>,
    /// Why registration was refused.
    pub errors: Vec<UserError>,
}

/// Result of `login`.
#[derive(SimpleObject, Default)]
pub struct LoginPayload {
    /// Access token (JWT) for `Authorization: Bearer`.
    pub token: Option<String>,
    /// When `token` expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Long-lived, single-use token for `refreshAccessToken`; null when `REFRESH_TOKEN_COOKIE`
    /// sends it as an HttpOnly cookie instead.
    pub refresh_token: Option<String>,
    /// The customer.
    pub customer: Option<Customer>,
    /// Why login was refused.
    pub errors: Vec<UserError>,
}

/// Result of `updateProfile`.
#[derive(SimpleObject, Default)]
pub struct UpdateProfilePayload {
    /// The customer after the change.
    pub customer: Option<Customer>,
    /// Why the change was refused.
    pub errors: Vec<UserError>,
}

/// Result of `forgotPassword`: the same for every address, so it reveals none.
#[derive(SimpleObject, Default)]
pub struct ForgotPasswordPayload {
    /// What happens next.
    pub message: Option<String>,
    /// Why the request was refused (a malformed address).
    pub errors: Vec<UserError>,
}

/// Result of `resetPassword`.
#[derive(SimpleObject, Default)]
pub struct ResetPasswordPayload {
    /// A new access token: every earlier session has ended.
    pub token: Option<String>,
    /// When `token` expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Refresh token of the new session; null when `REFRESH_TOKEN_COOKIE` sends it as a cookie.
    pub refresh_token: Option<String>,
    /// The customer.
    pub customer: Option<Customer>,
    /// Why the reset was refused.
    pub errors: Vec<UserError>,
}

/// Result of `verifyEmail`. A link proves a mailbox, not a login: the customer is shown only to
/// a request from that customer's own session.
#[derive(SimpleObject, Default)]
pub struct VerifyEmailPayload {
    /// True once the address is verified.
    pub success: bool,
    /// When the address was verified.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// The customer, now with `emailVerifiedAt`; null unless the request carries that
    /// customer's own token (a forwarded link must not show its reader the account).
    pub customer: Option<Customer>,
    /// Why verification was refused.
    pub errors: Vec<UserError>,
}

/// Result of `resendVerificationEmail`.
#[derive(SimpleObject, Default)]
pub struct ResendVerificationEmailPayload {
    /// What happens next.
    pub message: Option<String>,
    /// Why the request was refused.
    pub errors: Vec<UserError>,
}

/// Result of `deleteAccount`.
#[derive(SimpleObject, Default)]
pub struct DeleteAccountPayload {
    /// True once the account is deleted.
    pub success: bool,
    /// Why it was not (`currentPassword` missing or wrong).
    pub errors: Vec<UserError>,
}

/// Result of `logout`.
#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// True once the session is ended.
    pub success: bool,
}

/// Result of `refreshToken`.
#[derive(SimpleObject)]
pub struct RefreshTokenPayload {
    /// A new access token for the same session.
    pub token: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// Input of `register`.
#[derive(InputObject)]
pub struct RegisterInput {
    /// Email address; at most 191 characters, compared without regard to letter case.
    pub email: String,
    /// First name; at most 191 characters.
    pub first_name: String,
    /// Last name; at most 191 characters.
    pub last_name: String,
    /// Password: `PASSWORD_MIN_LENGTH` (default 8) to 128 characters.
    #[graphql(secret)]
    pub password: String,
    /// The password again.
    #[graphql(secret)]
    pub password_confirmation: String,
    /// Phone number; at most 191 characters.
    pub phone: Option<String>,
    /// Gender.
    pub gender: Option<Gender>,
    /// `YYYY-MM-DD`, in the past.
    pub date_of_birth: Option<String>,
}

/// Input of `updateProfile`: only the fields given change; null clears an optional field.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// New first name.
    pub first_name: Option<String>,
    /// New last name.
    pub last_name: Option<String>,
    /// New gender; null clears it.
    pub gender: MaybeUndefined<Gender>,
    /// `YYYY-MM-DD`, in the past; null clears it.
    pub date_of_birth: MaybeUndefined<String>,
    /// New phone number; null clears it.
    pub phone: MaybeUndefined<String>,
    /// New email address: needs `currentPassword`, and is unverified until verified again.
    pub email: Option<String>,
    /// Required to change email or password.
    #[graphql(secret)]
    pub current_password: Option<String>,
    /// New password: needs `currentPassword`; ends every other session.
    #[graphql(secret)]
    pub new_password: Option<String>,
    /// The new password again.
    #[graphql(secret)]
    pub new_password_confirmation: Option<String>,
}

impl RegisterInput {
    /// The registration this input asks for, in `project_id`'s shop.
    pub fn registration(self, project_id: i32) -> Registration {
        let mut attributes = Entered::new();
        attributes.insert(Attribute::FirstName, Raw::Text(self.first_name));
        attributes.insert(Attribute::LastName, Raw::Text(self.last_name));
        let optional = [
            (Attribute::Phone, self.phone),
            (Attribute::Gender, self.gender.map(|g| accounts::Gender::from(g).as_str().to_owned())),
            (Attribute::DateOfBirth, self.date_of_birth),
        ];
        attributes.extend(optional.into_iter().filter_map(|(a, v)| Some((a, Raw::Text(v?)))));
        Registration {
            email: self.email,
            password: Password::new(self.password),
            password_confirmation: Some(Password::new(self.password_confirmation)),
            attributes,
            ..Registration::new(project_id)
        }
    }
}

impl UpdateProfileInput {
    /// The changes this input asks for.
    pub fn changes(self) -> ProfileChanges {
        let mut attributes = Entered::new();
        let given = [(Attribute::FirstName, self.first_name), (Attribute::LastName, self.last_name)];
        attributes.extend(given.into_iter().filter_map(|(a, v)| Some((a, Raw::Text(v?)))));
        let gender = self.gender.map_value(|g| accounts::Gender::from(g).as_str().to_owned());
        for (attribute, value) in [
            (Attribute::Gender, gender),
            (Attribute::DateOfBirth, self.date_of_birth),
            (Attribute::Phone, self.phone),
        ] {
            match value {
                MaybeUndefined::Undefined => {}
                MaybeUndefined::Null => {
                    attributes.insert(attribute, Raw::Clear);
                }
                MaybeUndefined::Value(text) => {
                    attributes.insert(attribute, Raw::Text(text));
                }
            }
        }
        ProfileChanges {
            attributes,
            email: self.email,
            current_password: self.current_password.map(Password::new),
            new_password: self.new_password.map(Password::new),
            new_password_confirmation: self.new_password_confirmation.map(Password::new),
        }
    }
}
