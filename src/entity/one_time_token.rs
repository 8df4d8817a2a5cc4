//! Single-use tokens sent by email (password reset, email verification), stored only as hashes.

use sea_orm::entity::prelude::*;

/// A row of `one_time_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "one_time_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    /// `password_reset` or `email_verification`.
    pub purpose: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The address the token was sent to (verification proves this address).
    pub email: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// Set when used, or when a newer token of the same purpose replaced it.
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
