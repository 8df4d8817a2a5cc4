//! Events the accounts' writes produced, kept so that every delivery of one carries the same id.

use sea_orm::entity::prelude::*;

/// A row of `webhook_events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    /// `msg_…`: the `webhook-id` of every delivery of it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: i32,
    pub customer_id: Option<i64>,
    /// `customer.created` …
    pub kind: String,
    /// The customer's event number: receivers order a customer's events by it.
    pub sequence: i64,
    /// The JSON body every delivery sends.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
