//! Everything stored about one customer, for a data-subject access request
//! (`customer-accounts customer export EMAIL`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::json;

use super::{
    fields::{Attribute, Attributes, Kind, Value},
    validate::Email,
    windows::{self, Window},
};
use crate::{
    entity::{address, customer, customer_group, guest_order, job, one_time_token, session},
    error::Result,
};

/// One customer's stored data. Secrets are described, never exported: the password hash, and
/// the hashes of session, refresh and emailed tokens, would help nobody but an attacker.
#[derive(Debug, Serialize)]
pub struct CustomerExport {
    /// The account row, without the password hash.
    pub account: Account,
    /// Every session, ended ones included.
    pub sessions: Vec<SessionRecord>,
    /// The address book.
    pub addresses: Vec<AddressRecord>,
    /// Guest orders linked to the account.
    pub orders: Vec<OrderRecord>,
    /// Emailed links (reset, verification).
    pub emailed_links: Vec<LinkRecord>,
    /// Emails to the account's address: subjects and delivery, not bodies (they carry links).
    pub emails: Vec<EmailRecord>,
    /// Failed logins counted against the address, by time.
    pub login_failures: Vec<DateTime<Utc>>,
    /// Password reset requests for the address, by time.
    pub reset_requests: Vec<DateTime<Utc>>,
}

/// The account row.
#[derive(Debug, Serialize)]
pub struct Account {
    /// Customer id.
    pub id: i64,
    /// The shop.
    pub project_id: i32,
    /// Email, as typed.
    pub email: String,
    /// Every attribute the account keeps (names, phone …), by its snake_case name; null where
    /// none is stored.
    #[serde(flatten)]
    pub attributes: BTreeMap<&'static str, serde_json::Value>,
    /// Customer group code.
    pub group: Option<String>,
    /// Whether a password is set (it is stored only as an argon2id hash).
    pub password_set: bool,
    /// When the address was verified.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A session.
#[derive(Debug, Serialize)]
pub struct SessionRecord {
    /// Session id.
    pub id: uuid::Uuid,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Last used (to the minute).
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Expires.
    pub expires_at: DateTime<Utc>,
    /// Ended.
    pub revoked_at: Option<DateTime<Utc>>,
    /// User-Agent at login.
    pub user_agent: Option<String>,
    /// Network at login.
    pub ip: Option<String>,
}

/// An address.
#[derive(Debug, Serialize)]
pub struct AddressRecord {
    /// Address id.
    pub id: i64,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// Number.
    pub number: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Default billing address.
    pub default_billing: bool,
    /// Default shipping address.
    pub default_shipping: bool,
}

/// A guest order.
#[derive(Debug, Serialize)]
pub struct OrderRecord {
    /// The shop's order number.
    pub reference: String,
    /// The address it was placed with.
    pub email: String,
    /// Total.
    pub total: String,
    /// Currency.
    pub currency: String,
    /// Placed.
    pub placed_at: DateTime<Utc>,
    /// Linked to the account.
    pub linked_at: Option<DateTime<Utc>>,
}

/// An emailed one-time link.
#[derive(Debug, Serialize)]
pub struct LinkRecord {
    /// `password_reset` or `email_verification`.
    pub purpose: String,
    /// The address it was sent to.
    pub email: String,
    /// Issued.
    pub created_at: DateTime<Utc>,
    /// Expires.
    pub expires_at: DateTime<Utc>,
    /// Used or voided.
    pub used_at: Option<DateTime<Utc>>,
}

/// An email.
#[derive(Debug, Serialize)]
pub struct EmailRecord {
    /// Subject.
    pub subject: String,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Delivered.
    pub sent_at: Option<DateTime<Utc>>,
    /// Given up on.
    pub failed_at: Option<DateTime<Utc>>,
}

/// What is stored about the customer of `project_id` with `email`; `None` when there is none.
pub async fn export_customer(
    db: &DatabaseConnection,
    project_id: i32,
    email: &str,
) -> Result<Option<CustomerExport>> {
    let normalized = Email::normalize(email);
    let Some(row) = customer::Entity::find()
        .filter(customer::Column::ProjectId.eq(project_id))
        .filter(customer::Column::EmailNormalized.eq(&normalized))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let group = customer_group::Entity::find_by_id(row.customer_group_id).one(db).await?.map(|g| g.code);
    let sessions = session::Entity::find()
        .filter(session::Column::CustomerId.eq(row.id))
        .order_by_asc(session::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|s| SessionRecord {
            id: s.id,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            revoked_at: s.revoked_at,
            user_agent: s.user_agent,
            ip: s.ip,
        })
        .collect();
    let addresses = address::Entity::find()
        .filter(address::Column::CustomerId.eq(row.id))
        .order_by_asc(address::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|a| AddressRecord {
            id: a.id,
            first_name: a.first_name,
            last_name: a.last_name,
            company: a.company,
            street: a.street,
            number: a.number,
            postcode: a.postcode,
            city: a.city,
            country: a.country,
            phone: a.phone,
            default_billing: a.default_billing,
            default_shipping: a.default_shipping,
        })
        .collect();
    let orders = guest_order::Entity::find()
        .filter(guest_order::Column::CustomerId.eq(row.id))
        .order_by_asc(guest_order::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|o| OrderRecord {
            reference: o.reference,
            email: o.email,
            total: o.total,
            currency: o.currency,
            placed_at: o.placed_at,
            linked_at: o.linked_at,
        })
        .collect();
    let emailed_links = one_time_token::Entity::find()
        .filter(one_time_token::Column::CustomerId.eq(row.id))
        .order_by_asc(one_time_token::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|t| LinkRecord {
            purpose: t.purpose,
            email: t.email,
            created_at: t.created_at,
            expires_at: t.expires_at,
            used_at: t.used_at,
        })
        .collect();
    let emails = job::Entity::find()
        .filter(job::Column::CustomerId.eq(row.id))
        .filter(job::Column::Kind.eq(crate::mail::KIND))
        .order_by_asc(job::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| EmailRecord {
            subject: crate::mail::Composed::subject_of(&m.payload),
            created_at: m.created_at,
            sent_at: m.done_at,
            failed_at: m.failed_at,
        })
        .collect();
    let address = windows::address_key(project_id, &normalized);
    let login_failures = windows::times(db, Window::LoginFailures, &address).await?;
    let reset_requests = windows::times(db, Window::ResetRequests, &address).await?;
    let stored = Attributes::of(&row);
    let attributes = Attribute::ALL
        .into_iter()
        .map(|attribute| {
            let spec = attribute.spec();
            let value = match stored.get(attribute) {
                Some(Value::Text(text)) => json!(text),
                Some(Value::Gender(gender)) => json!(gender.as_str()),
                Some(Value::Date(date)) => json!(date.format("%Y-%m-%d").to_string()),
                Some(Value::Flag(flag)) => json!(flag),
                None if spec.kind == (Kind::Text { required: true }) => json!(""),
                None => serde_json::Value::Null,
            };
            (spec.snake, value)
        })
        .collect();
    let account = Account {
        id: row.id,
        project_id: row.project_id,
        email: row.email,
        attributes,
        group,
        password_set: !row.password_hash.is_empty(),
        email_verified_at: row.email_verified_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    };
    Ok(Some(CustomerExport {
        account,
        sessions,
        addresses,
        orders,
        emailed_links,
        emails,
        login_failures,
        reset_requests,
    }))
}
