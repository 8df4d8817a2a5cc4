//! What the house shows of a customer and a group: the doors shape these, never the stored rows
//! (a column added to a table changes no API by accident, and no door can reach a password hash).

use chrono::{DateTime, Utc};

use super::fields::{Attribute, Attributes};
use crate::entity::{customer, customer_group, session};

/// Whether an account may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// May log in.
    Active,
    /// Suspended by the shop.
    Suspended,
}

/// A customer account as the doors may show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Customer id.
    pub id: i64,
    /// The shop the account belongs to.
    pub project_id: i32,
    /// Email address, as the customer typed it.
    pub email: String,
    /// "First Last".
    pub name: String,
    /// The customer's attributes (names, phone, gender …), as declared in [`super::fields`].
    pub attributes: Attributes,
    /// Whether the account may log in.
    pub status: Status,
    /// The customer group's id.
    pub group_id: i32,
    /// When the customer proved they read this address; `None` until then.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account last changed.
    pub updated_at: DateTime<Utc>,
    status_code: i16,
}

impl Customer {
    /// The stored status number, which the Bagisto shape shows as is.
    pub fn status_code(&self) -> i16 {
        self.status_code
    }

    /// First name.
    pub fn first_name(&self) -> &str {
        self.attributes.text(Attribute::FirstName).unwrap_or_default()
    }

    /// Last name.
    pub fn last_name(&self) -> &str {
        self.attributes.text(Attribute::LastName).unwrap_or_default()
    }
}

impl From<customer::Model> for Customer {
    fn from(row: customer::Model) -> Self {
        Self {
            name: row.full_name(),
            attributes: Attributes::of(&row),
            status: if row.is_active() { Status::Active } else { Status::Suspended },
            status_code: row.status,
            id: row.id,
            project_id: row.project_id,
            email: row.email,
            group_id: row.customer_group_id,
            email_verified_at: row.email_verified_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A customer group (guest, general, wholesale).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Group id.
    pub id: i32,
    /// Stable machine name.
    pub code: String,
    /// Display name.
    pub name: String,
    /// When the group was created, where known.
    pub created_at: Option<DateTime<Utc>>,
    /// When the group last changed, where known.
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<customer_group::Model> for Group {
    fn from(row: customer_group::Model) -> Self {
        Self {
            id: row.id,
            code: row.code,
            name: row.name,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A live session as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Session id.
    pub id: uuid::Uuid,
    /// Whether the request asking uses this session.
    pub current: bool,
    /// When it was opened (login, registration or reset).
    pub created_at: DateTime<Utc>,
    /// When a request last used it, to the minute.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// When it stops working unless ended earlier.
    pub expires_at: DateTime<Utc>,
    /// The client's `User-Agent` at login.
    pub user_agent: Option<String>,
    /// The client's network at login (`/24` or `/48`).
    pub ip: Option<String>,
}

impl Session {
    /// The stored session, `current` when it is `current_id`.
    pub fn from_row(row: session::Model, current_id: Option<uuid::Uuid>) -> Self {
        Self {
            current: Some(row.id) == current_id,
            id: row.id,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
            user_agent: row.user_agent,
            ip: row.ip,
        }
    }
}
