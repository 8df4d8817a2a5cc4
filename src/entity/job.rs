//! Background work of every kind (mail delivery, guest-order linking …), one durable queue.

use sea_orm::entity::prelude::*;

/// A row of `jobs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// What to do (`mail`, `link_guest_orders` …); its kind knows how.
    pub kind: String,
    /// The account the work is about, if one.
    pub customer_id: Option<i64>,
    /// Jobs of one lane run one (or a few) at a time; lanes run side by side.
    pub lane: String,
    /// What the kind needs to do it, as JSON.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// Attempts so far.
    pub attempts: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub next_attempt_at: DateTimeUtc,
    /// A runner holds the job until then; a crashed runner's claim lapses.
    pub locked_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// When it was done.
    pub done_at: Option<DateTimeUtc>,
    /// When it was given up on (its retry budget spent, or a permanent failure).
    pub failed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
