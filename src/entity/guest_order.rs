//! Orders placed without an account, as the shop's checkout reported them.

use sea_orm::entity::prelude::*;

/// A row of `guest_orders`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "guest_orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i32,
    /// The shop's order number; unique per project.
    pub reference: String,
    /// As the checkout gave it.
    pub email: String,
    /// Lower-cased: what links the order to an account.
    pub email_normalized: String,
    /// Exact decimal text, at most the currency's minor units ("19.99").
    pub total: String,
    /// ISO 4217 code.
    pub currency: String,
    pub placed_at: DateTimeUtc,
    /// The account it is linked to, once linked.
    pub customer_id: Option<i64>,
    pub linked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
