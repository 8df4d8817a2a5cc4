//! The house: every account rule lives here once, whichever door (GraphQL or REST) calls it.
//!
//! Functions take plain Rust inputs and return domain values (never stored rows) or an
//! [`Error`](crate::error::Error); nothing here knows about HTTP, GraphQL or JSON shapes. Every
//! write runs in a [`Work`], which commits it and fires what it declared.

mod addresses;
mod caller;
mod credentials;
mod deletion;
pub mod events;
mod export;
pub mod fields;
mod groups;
mod linking;
mod lockout;
mod login;
mod orders;
mod password_policy;
mod password_reset;
mod profile;
mod projects;
mod register;
mod sessions;
mod suspension;
pub mod validate;
mod verification;
mod view;
pub mod webhooks;
pub mod windows;
mod work;

pub use addresses::{
    Address, AddressKind, Defaults, MAX_ADDRESSES, SavedAddress, addresses, create_address, delete_address,
    set_default_address, update_address,
};
pub use caller::{Authenticated, Need, caller};
pub use deletion::{OnDelete, PERSONAL_DATA, PersonalData, delete_account};
pub use export::{CustomerExport, export_customer};
pub use linking::LinkGuestOrders;
pub use login::login;
pub use orders::{GuestOrderInput, Order, orders, record_guest_order};
pub use password_reset::{ResetRequest, forgot_password, reset_password};
pub use profile::{ProfileChanges, customer_by_id, update_profile};
pub use projects::{
    NewApiKey, authorize_project, create_api_key, list_api_keys, looks_like_api_key, project_exists,
    project_of_key, require_api_key, revoke_api_key, storefront_project,
};
pub use register::{Registration, WebshopDetails, register};
pub use suspension::set_suspended;
pub use view::{Customer, Group, Session, Status};
pub use work::Work;

pub use sessions::{
    logout, logout_everywhere, opaque_token, refresh, refresh_access_token, revoke_session, sessions,
};
pub use verification::{Verification, resend_verification, verify_email};

use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

use crate::{
    auth::IssuedToken,
    entity::customer,
    error::{self, Error, Result},
    state::AppState,
};

/// The project (shop) that callers without a project of their own belong to.
pub const DEFAULT_PROJECT_ID: i32 = 1;
pub use crate::entity::customer::STATUS_ACTIVE;
/// The group new customers join.
pub const DEFAULT_GROUP_CODE: &str = "general";

/// A customer's gender, as stored and as offered to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    /// Male.
    Male,
    /// Female.
    Female,
    /// Other.
    Other,
}

impl Gender {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Other => "other",
        }
    }

    /// Reads a gender in any letter case ("Male", "male", "MALE").
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "male" => Some(Gender::Male),
            "female" => Some(Gender::Female),
            "other" => Some(Gender::Other),
            _ => None,
        }
    }
}

/// Reads a calendar date as `YYYY-MM-DD`, the one form every door takes.
pub fn parse_date(raw: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()
}

impl customer::Model {
    /// "First Last".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// Whether the account may log in.
    pub fn is_active(&self) -> bool {
        self.status == STATUS_ACTIVE
    }
}

/// A customer just signed in: their record, the session opened and its tokens.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The customer.
    pub customer: Customer,
    /// The session opened.
    pub session_id: uuid::Uuid,
    /// The access token naming the new session.
    pub token: IssuedToken,
    /// The session's first refresh token.
    pub refresh_token: String,
}

/// Opens a session for `customer` inside `txn` (with its first refresh token) and signs an
/// access token for it. The tokens work once `txn` commits. `customer` is the row as read before
/// its credentials were checked: if the account changed since (a new password, a suspension, a
/// deletion, every session ended), no session opens and the answer is `INVALID_CREDENTIALS`.
pub(crate) async fn sign_in(
    txn: &sea_orm::DatabaseTransaction,
    state: &AppState,
    origin: &Origin,
    customer: customer::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<SignedIn> {
    if !crate::auth::session::still_current(txn, &customer).await? {
        return Err(Error::Invalid(vec![error::FieldError::general(error::Code::InvalidCredentials)]));
    }
    let session =
        crate::auth::session::open(txn, customer.id, origin, now, state.settings.session_ttl()).await?;
    let refresh_token = crate::auth::refresh::issue(txn, session.id, now).await?;
    let token = state.tokens.issue(customer.id, session.id, now)?;
    Ok(SignedIn { customer: customer.into(), session_id: session.id, token, refresh_token })
}

/// A value as a door received it: absent, present, or present but not of the expected type
/// (`"abc"` for a number). The house judges it with the other fields, so every mistake of a
/// request is reported at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Given<T> {
    /// Not in the request.
    #[default]
    Missing,
    /// Present and of the expected type.
    Value(T),
    /// Present, but not of the expected type.
    Malformed,
}

impl<T> Given<T> {
    /// Text as a door received it: absent or blank is `Missing`; otherwise what `parse` makes
    /// of it, or `Malformed`.
    pub fn from_text(raw: Option<&str>, parse: impl FnOnce(&str) -> Option<T>) -> Self {
        match raw.map(str::trim) {
            None | Some("") => Given::Missing,
            Some(text) => parse(text).map_or(Given::Malformed, Given::Value),
        }
    }

    /// The value, if one was given well-formed.
    pub fn value(self) -> Option<T> {
        match self {
            Given::Value(value) => Some(value),
            Given::Missing | Given::Malformed => None,
        }
    }
}

pub use crate::limits::Origin;

pub use groups::{GROUPS_TTL, GroupCache};

/// The customer group with `id` (kept in memory for [`GROUPS_TTL`]).
pub async fn group(state: &AppState, id: i32) -> Result<Group> {
    state.groups.get(&state.db, id).await
}

/// The caller's own account, as the doors show it.
pub fn me(caller: Authenticated) -> Customer {
    caller.customer
}

/// The stored row of the caller's account, read afresh: for the writes that need what no door
/// may see (the password hash) or that must not build on a cached view.
async fn own_row(state: &AppState, caller: &Authenticated) -> Result<customer::Model> {
    customer::Entity::find_by_id(caller.customer.id)
        .filter(customer::Column::Status.eq(customer::STATUS_ACTIVE))
        .one(&state.db)
        .await?
        .ok_or(Error::Unauthenticated)
}
