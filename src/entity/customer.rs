//! Customer accounts.

use sea_orm::entity::prelude::*;

/// `customers.status` of an account that may log in.
pub const STATUS_ACTIVE: i16 = 1;
/// `customers.status` of an account the shop suspended.
pub const STATUS_SUSPENDED: i16 = 0;
/// `customers.status` of a deleted (anonymised) account.
pub const STATUS_DELETED: i16 = 2;

/// A row of `customers`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i32,
    /// As the customer typed it (trimmed).
    pub email: String,
    /// Lower-cased: the unique, case-insensitive key.
    pub email_normalized: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub gender: Option<String>,
    pub date_of_birth: Option<Date>,
    pub phone: Option<String>,
    pub status: i16,
    pub customer_group_id: i32,
    pub email_verified_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Webshop: `private` or `business`.
    pub account_type: Option<String>,
    pub company: Option<String>,
    pub tax_number: Option<String>,
    pub cart_reminder_consent: Option<bool>,
    /// When the customer deleted the account; the row is anonymised from then on.
    pub deleted_at: Option<DateTimeUtc>,
    /// Bumped whenever the account's sessions are ended for its safety; a login opens its
    /// session only if the stamp it read before checking the password is still current.
    pub security_stamp: i64,
    /// How many webhook events the account has produced: the last one's sequence number.
    pub event_sequence: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
