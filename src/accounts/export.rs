//! Everything stored about one customer, for a data-subject access request
//! (`customer-accounts customer export EMAIL`).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::{
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
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Gender.
    pub gender: Option<String>,
    /// Date of birth.
    pub date_of_birth: Option<NaiveDate>,
    /// Phone.
    pub phone: Option<String>,
    /// Customer group code.
    pub group: Option<String>,
    /// Whether a password is set (it is stored only as an argon2id hash).
    pub password_set: bool,
    /// Webshop account type.
    pub account_type: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Tax number.
    pub tax_number: Option<String>,
    /// Consent to cart reminders.
    pub cart_reminder_consent: Option<bool>,
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
    let account = Account {
        id: row.id,
        project_id: row.project_id,
        email: row.email,
        first_name: row.first_name,
        last_name: row.last_name,
        gender: row.gender,
        date_of_birth: row.date_of_birth,
        phone: row.phone,
        group,
        password_set: !row.password_hash.is_empty(),
        account_type: row.account_type,
        company: row.company,
        tax_number: row.tax_number,
        cart_reminder_consent: row.cart_reminder_consent,
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
