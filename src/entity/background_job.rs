//! Work done after a request answered, claimed and retried like the mail outbox.

use sea_orm::entity::prelude::*;

/// A row of `background_jobs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "background_jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// What to do (`link_guest_orders`).
    pub kind: String,
    /// Whom it is for.
    pub customer_id: i64,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTimeUtc,
    /// A worker's claim; another may take the job once it passed.
    pub locked_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub done_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
