//! The one error type: every failure the domain reports, and how each door shows it.

use std::{fmt, time::Duration};

use axum::http::StatusCode;

use crate::accounts::fields::Attribute;

/// An input field a customer can get wrong, named once for every door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `email`.
    Email,
    /// One of the customer's attributes (names, phone …): named by its declaration.
    Customer(Attribute),
    /// `password`.
    Password,
    /// `passwordConfirmation` / `password_confirmation`.
    PasswordConfirmation,
    /// `currentPassword` / `current_password`.
    CurrentPassword,
    /// `newPassword`.
    NewPassword,
    /// `newPasswordConfirmation`.
    NewPasswordConfirmation,
    /// `token` (of an emailed link).
    Token,
    /// `project_id` (webshop API).
    ProjectId,
    /// `default_billing.firstname`.
    BillingFirstName,
    /// `default_billing.lastname`.
    BillingLastName,
    /// `default_billing.street`.
    BillingStreet,
    /// `default_billing.number`.
    BillingNumber,
    /// `default_billing.postcode`.
    BillingPostcode,
    /// `default_billing.city`.
    BillingCity,
    /// `default_billing.country`.
    BillingCountry,
    /// `default_billing.phone`.
    BillingPhone,
    /// `id` (of a session or an address).
    Id,
    /// `refreshToken` / `refresh_token`.
    RefreshToken,
    /// An address's `firstName`.
    AddressFirstName,
    /// An address's `lastName`.
    AddressLastName,
    /// An address's `company`.
    AddressCompany,
    /// An address's `street`.
    Street,
    /// An address's house `number`.
    Number,
    /// An address's `postcode`.
    Postcode,
    /// An address's `city`.
    City,
    /// An address's `country`.
    Country,
    /// An address's `phone`.
    AddressPhone,
    /// A guest order's `reference`.
    Reference,
    /// A guest order's `total`.
    Total,
    /// A guest order's `currency`.
    Currency,
    /// `placedAt` / `placed_at` of a guest order.
    PlacedAt,
}

/// A field's names: on GraphQL, on each legacy API, and as a person reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    /// In GraphQL inputs and `UserError.field` (`firstName`).
    pub graphql: &'static str,
    /// On the Bagisto paths (`first_name`).
    pub bagisto: &'static str,
    /// On the webshop paths (`firstname`).
    pub webshop: &'static str,
    /// As a person reads it, lower case (`first name`).
    pub label: &'static str,
}

impl Field {
    /// Every name of the field: one exhaustive table, so a new field cannot go unnamed.
    pub fn names(self) -> Names {
        let (graphql, bagisto, webshop, label) = match self {
            Field::Customer(attribute) => {
                let spec = attribute.spec();
                (spec.graphql, spec.snake, spec.webshop.unwrap_or(spec.snake), spec.label)
            }
            Field::Email => ("email", "email", "email", "email"),
            Field::Password => ("password", "password", "password", "password"),
            Field::PasswordConfirmation => (
                "passwordConfirmation",
                "password_confirmation",
                "password_confirmation",
                "password confirmation",
            ),
            Field::CurrentPassword => {
                ("currentPassword", "current_password", "current_password", "current password")
            }
            // Bagisto's profile change names the new password `password`.
            Field::NewPassword => ("newPassword", "password", "password", "new password"),
            Field::NewPasswordConfirmation => (
                "newPasswordConfirmation",
                "password_confirmation",
                "password_confirmation",
                "new password confirmation",
            ),
            Field::Token => ("token", "token", "token", "token"),
            Field::ProjectId => ("projectId", "project_id", "project_id", "project id"),
            Field::BillingFirstName => (
                "defaultBilling.firstName",
                "default_billing.firstname",
                "default_billing.firstname",
                "billing first name",
            ),
            Field::BillingLastName => (
                "defaultBilling.lastName",
                "default_billing.lastname",
                "default_billing.lastname",
                "billing last name",
            ),
            Field::BillingStreet => (
                "defaultBilling.street",
                "default_billing.street",
                "default_billing.street",
                "billing street",
            ),
            Field::BillingNumber => (
                "defaultBilling.number",
                "default_billing.number",
                "default_billing.number",
                "billing number",
            ),
            Field::BillingPostcode => (
                "defaultBilling.postcode",
                "default_billing.postcode",
                "default_billing.postcode",
                "billing postcode",
            ),
            Field::BillingCity => {
                ("defaultBilling.city", "default_billing.city", "default_billing.city", "billing city")
            }
            Field::BillingCountry => (
                "defaultBilling.country",
                "default_billing.country",
                "default_billing.country",
                "billing country",
            ),
            Field::BillingPhone => {
                ("defaultBilling.phone", "default_billing.phone", "default_billing.phone", "billing phone")
            }
            Field::Id => ("id", "id", "id", "id"),
            Field::RefreshToken => ("refreshToken", "refresh_token", "refresh_token", "refresh token"),
            Field::AddressFirstName => ("firstName", "first_name", "firstname", "first name"),
            Field::AddressLastName => ("lastName", "last_name", "lastname", "last name"),
            Field::AddressCompany => ("company", "company", "company", "company"),
            Field::Street => ("street", "street", "street", "street"),
            Field::Number => ("number", "number", "number", "number"),
            Field::Postcode => ("postcode", "postcode", "postcode", "postcode"),
            Field::City => ("city", "city", "city", "city"),
            Field::Country => ("country", "country", "country", "country"),
            Field::AddressPhone => ("phone", "phone", "phone", "phone"),
            Field::Reference => ("reference", "reference", "reference", "reference"),
            Field::Total => ("total", "total", "total", "total"),
            Field::Currency => ("currency", "currency", "currency", "currency"),
            Field::PlacedAt => ("placedAt", "placed_at", "placed_at", "placed at"),
        };
        Names { graphql, bagisto, webshop, label }
    }

    /// The field's name in GraphQL inputs.
    pub fn camel_name(self) -> &'static str {
        self.names().graphql
    }

    /// The field as a person reads it, lower case ("first name").
    pub fn label(self) -> &'static str {
        self.names().label
    }
}

/// Why an input was refused; stable codes that clients branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// Missing or blank.
    Required,
    /// Present but malformed.
    Invalid,
    /// Shorter than the minimum (`limit`).
    TooShort,
    /// Longer than the maximum (`limit`).
    TooLong,
    /// The confirmation does not match.
    PasswordMismatch,
    /// Another account of this shop has this email.
    EmailTaken,
    /// Email and password do not match an active account.
    InvalidCredentials,
    /// An emailed link's token is unknown, used, replaced or expired.
    InvalidToken,
    /// Login refused until the address is verified (`REQUIRE_EMAIL_VERIFICATION`).
    EmailNotVerified,
    /// Nothing of the caller's has this id (whether or not someone else's has).
    NotFound,
    /// A password that is easy to guess (`PASSWORD_MIN_SCORE`); the message says why.
    TooWeak,
    /// The caller already has as many of these as one may (`limit`).
    TooMany,
    /// Already recorded with different details.
    Conflict,
}

/// One refused input: which field (if any), why, and the limit it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field at fault; `None` for a failure of the request as a whole.
    pub field: Option<Field>,
    /// Why.
    pub code: Code,
    /// The length limit for `TooShort` / `TooLong`, the count for `TooMany`.
    pub limit: Option<usize>,
    /// Advice that goes with the code (how to make a `TooWeak` password stronger).
    pub note: Option<String>,
}

impl FieldError {
    /// A refusal of `field` for `code`.
    pub fn new(field: Field, code: Code) -> Self {
        Self { field: Some(field), code, limit: None, note: None }
    }

    /// A length refusal of `field` with its limit.
    pub fn length(field: Field, code: Code, limit: usize) -> Self {
        Self { field: Some(field), code, limit: Some(limit), note: None }
    }

    /// A refusal that belongs to no single field.
    pub fn general(code: Code) -> Self {
        Self { field: None, code, limit: None, note: None }
    }

    /// An English sentence for API clients ("First name is required.").
    pub fn message(&self) -> String {
        let label = self.field.map_or("value", Field::label);
        let limit = self.limit.unwrap_or_default();
        let sentence = match self.code {
            Code::Required => format!("{label} is required."),
            Code::Invalid => format!("{label} is not valid."),
            Code::TooShort => format!("{label} must be at least {limit} characters."),
            Code::TooLong => format!("{label} must be at most {limit} characters."),
            Code::PasswordMismatch => format!("{label} does not match."),
            Code::EmailTaken => "An account with this email already exists.".to_owned(),
            Code::InvalidCredentials if self.field == Some(Field::CurrentPassword) => {
                "The current password is incorrect.".to_owned()
            }
            Code::InvalidCredentials => "Incorrect email or password.".to_owned(),
            Code::InvalidToken => "This link is invalid or has expired.".to_owned(),
            Code::EmailNotVerified => "Please verify your email address before logging in.".to_owned(),
            Code::NotFound => format!("No {label} of yours matches."),
            Code::TooWeak => {
                format!("{label} is too easy to guess. {}", self.note.as_deref().unwrap_or_default())
            }
            Code::TooMany => format!("At most {limit} are allowed; remove one first."),
            Code::Conflict => format!("{label} was already recorded with different details."),
        };
        capitalize(sentence.trim_end())
    }
}

fn capitalize(sentence: &str) -> String {
    let mut chars = sentence.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Everything that can go wrong in the domain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Expected, customer-fixable failures: shown in payloads and 422 bodies.
    #[error("the input was refused")]
    Invalid(Vec<FieldError>),
    /// No valid session.
    #[error("not logged in")]
    Unauthenticated,
    /// The shop requires its project API key, and the call presented none.
    #[error("the shop's API key is required")]
    ApiKeyRequired,
    /// Logged in, but the thing is not theirs.
    #[error("forbidden")]
    Forbidden,
    /// Logged in, but `REQUIRE_EMAIL_VERIFICATION` is on and the address is unverified: the
    /// session may only verify it, ask for a new link, or log out.
    #[error("email not verified")]
    EmailNotVerified,
    /// Too many attempts; try again after the given time.
    #[error("too many requests")]
    RateLimited(Duration),
    /// The request itself cannot be read (a body that is neither JSON nor form fields, or one
    /// nested too deep); the text says what is wrong with it.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The database cannot serve now (no connection within `DB_ACQUIRE_TIMEOUT_SECONDS`, a
    /// broken connection, a full disk): nothing was stored, and the same request may succeed later.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything unexpected. Its text is logged, never shown: Display says only "internal error".
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// How long a client is told to wait after [`Error::Unavailable`].
pub const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A wait in whole seconds, rounded up and at least 1: what `Retry-After` and `retryAfter` say.
pub fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Shorthand for domain results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A single field refusal.
    pub fn field(field: Field, code: Code) -> Self {
        Error::Invalid(vec![FieldError::new(field, code)])
    }

    /// An unexpected failure, with context for the log.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Error::Internal(err.into())
    }

    /// The machine-readable code of top-level GraphQL errors.
    pub fn graphql_code(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "BAD_USER_INPUT",
            Error::BadRequest(_) => "BAD_REQUEST",
            Error::Unauthenticated => "UNAUTHENTICATED",
            Error::ApiKeyRequired => "API_KEY_REQUIRED",
            Error::Forbidden => "FORBIDDEN",
            Error::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            Error::RateLimited(_) => "RATE_LIMITED",
            Error::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Error::Internal(_) => "INTERNAL",
        }
    }

    /// The HTTP status of this refusal, for doors that answer with one.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthenticated | Error::ApiKeyRequired => StatusCode::UNAUTHORIZED,
            Error::Forbidden | Error::EmailNotVerified => StatusCode::FORBIDDEN,
            Error::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// How long the client should wait before trying again, where waiting helps.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited(after) => Some(*after),
            Error::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER),
            _ => None,
        }
    }

    /// What the client is told, in English: never the cause of an internal error.
    pub fn message(&self) -> String {
        match self {
            Error::Invalid(errors) => errors.first().map(FieldError::message).unwrap_or_default(),
            Error::BadRequest(what) => what.clone(),
            Error::Unauthenticated => "You must be logged in.".to_owned(),
            Error::ApiKeyRequired => "This shop requires its API key: send it in the X-Project-Key header \
                                      (or as the bearer token of a call without a customer token)."
                .to_owned(),
            Error::Forbidden => "You are not allowed to access this.".to_owned(),
            Error::EmailNotVerified => "Please verify your email address first.".to_owned(),
            Error::RateLimited(after) => {
                format!("Too many requests; try again in {} seconds.", whole_seconds(*after))
            }
            Error::Unavailable(_) => "The service is temporarily unavailable; try again shortly.".to_owned(),
            Error::Internal(_) => "Internal server error.".to_owned(),
        }
    }

    /// Logs what the client is not shown (inside the request's span, which names its id). Each
    /// door calls this once, where it renders the error.
    pub fn report(&self) {
        match self {
            Error::Internal(source) => tracing::error!(error = ?source, "internal error"),
            Error::Unavailable(source) => tracing::warn!(error = %source, "database unavailable"),
            _ => {}
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        if unavailable(&err) { Error::Unavailable(err.into()) } else { Error::Internal(err.into()) }
    }
}

/// Whether `err` says the database cannot serve now (unreachable, or out of disk or
/// connections), rather than that a statement was wrong: the same request may succeed later.
pub fn unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx::Error as Sqlx};
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(sqlx))
        | DbErr::Exec(RuntimeErr::SqlxError(sqlx))
        | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => match sqlx.as_ref() {
            Sqlx::Io(_) | Sqlx::Tls(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
            Sqlx::Database(db) => db.code().is_some_and(|code| out_of_resources(&code)),
            _ => false,
        },
        _ => false,
    }
}

/// SQLite's SQLITE_FULL (13) and SQLITE_IOERR (10, with its extended codes); PostgreSQL's
/// class 53 (disk full, out of memory, too many connections) and 57P01-57P03 (shutting down,
/// starting up).
fn out_of_resources(code: &str) -> bool {
    match code.parse::<i32>() {
        Ok(sqlite) if code.len() < 5 => matches!(sqlite & 0xff, 10 | 13),
        _ => code.starts_with("53") || matches!(code, "57P01" | "57P02" | "57P03"),
    }
}

impl From<sea_orm::TransactionError<Error>> for Error {
    fn from(err: sea_orm::TransactionError<Error>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(inner) => inner,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.camel_name())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every field there is: each variant, and each customer attribute. Written as a match, so a
    /// new variant fails to compile here until it is listed.
    pub(crate) fn every_field() -> Vec<Field> {
        let listed = |field: Field| match field {
            Field::Email
            | Field::Customer(_)
            | Field::Password
            | Field::PasswordConfirmation
            | Field::CurrentPassword
            | Field::NewPassword
            | Field::NewPasswordConfirmation
            | Field::Token
            | Field::ProjectId
            | Field::BillingFirstName
            | Field::BillingLastName
            | Field::BillingStreet
            | Field::BillingNumber
            | Field::BillingPostcode
            | Field::BillingCity
            | Field::BillingCountry
            | Field::BillingPhone
            | Field::Id
            | Field::RefreshToken
            | Field::AddressFirstName
            | Field::AddressLastName
            | Field::AddressCompany
            | Field::Street
            | Field::Number
            | Field::Postcode
            | Field::City
            | Field::Country
            | Field::AddressPhone
            | Field::Reference
            | Field::Total
            | Field::Currency
            | Field::PlacedAt => field,
        };
        let mut fields: Vec<Field> = [
            Field::Email,
            Field::Password,
            Field::PasswordConfirmation,
            Field::CurrentPassword,
            Field::NewPassword,
            Field::NewPasswordConfirmation,
            Field::Token,
            Field::ProjectId,
            Field::BillingFirstName,
            Field::BillingLastName,
            Field::BillingStreet,
            Field::BillingNumber,
            Field::BillingPostcode,
            Field::BillingCity,
            Field::BillingCountry,
            Field::BillingPhone,
            Field::Id,
            Field::RefreshToken,
            Field::AddressFirstName,
            Field::AddressLastName,
            Field::AddressCompany,
            Field::Street,
            Field::Number,
            Field::Postcode,
            Field::City,
            Field::Country,
            Field::AddressPhone,
            Field::Reference,
            Field::Total,
            Field::Currency,
            Field::PlacedAt,
        ]
        .into_iter()
        .map(listed)
        .collect();
        fields.extend(Attribute::ALL.into_iter().map(Field::Customer));
        fields
    }

    #[test]
    fn every_field_has_every_name_and_no_two_share_a_graphql_name_and_label() {
        let mut seen = std::collections::HashSet::new();
        for field in every_field() {
            let names = field.names();
            for name in [names.graphql, names.bagisto, names.webshop, names.label] {
                assert!(!name.is_empty(), "{field:?}");
            }
            let customer_or_address = matches!(
                field,
                Field::Customer(_)
                    | Field::AddressFirstName
                    | Field::AddressLastName
                    | Field::AddressCompany
                    | Field::AddressPhone
            );
            // An address's names repeat the customer's on purpose (they are the same words).
            assert!(seen.insert((names.graphql, names.label)) || customer_or_address, "{field:?}");
        }
    }

    #[test]
    fn messages_name_the_field_and_its_limit() {
        assert_eq!(
            FieldError::new(Field::Customer(Attribute::FirstName), Code::Required).message(),
            "First name is required."
        );
        assert_eq!(
            FieldError::length(Field::Password, Code::TooShort, 8).message(),
            "Password must be at least 8 characters."
        );
    }

    #[test]
    fn internal_errors_never_display_their_cause() {
        let err = Error::internal(anyhow::anyhow!("relation \"customers\" does not exist"));
        assert_eq!(err.to_string(), "internal error");
    }
}
