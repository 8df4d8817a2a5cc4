//! Writing mail to the outbox (inside the caller's transaction), counting what waits, and
//! queueing given-up messages again.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Set, sea_query::Expr,
};

use super::Composed;
use crate::{entity::outbox_email, error::Result};

/// Queues `email`, a letter about `customer_id`'s account, for delivery as part of whatever
/// `conn`'s transaction commits.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    customer_id: i64,
    email: Composed,
    now: DateTime<Utc>,
) -> Result<()> {
    outbox_email::ActiveModel {
        customer_id: Set(Some(customer_id)),
        recipient: Set(email.recipient),
        subject: Set(email.subject),
        text_body: Set(email.text),
        html_body: Set(email.html),
        attempts: Set(0),
        last_error: Set(None),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        failed_at: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// How many messages wait, were given up on, and were sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Not yet delivered; will be tried (again).
    pub pending: u64,
    /// Given up after the last attempt.
    pub failed: u64,
    /// Delivered.
    pub sent: u64,
}

/// The outbox's counts.
pub async fn counts<C: ConnectionTrait>(conn: &C) -> Result<Counts> {
    let find = || outbox_email::Entity::find();
    Ok(Counts {
        pending: find()
            .filter(outbox_email::Column::SentAt.is_null())
            .filter(outbox_email::Column::FailedAt.is_null())
            .count(conn)
            .await?,
        failed: find().filter(outbox_email::Column::FailedAt.is_not_null()).count(conn).await?,
        sent: find().filter(outbox_email::Column::SentAt.is_not_null()).count(conn).await?,
    })
}

/// Every message given up on, oldest first.
pub async fn failed<C: ConnectionTrait>(conn: &C) -> Result<Vec<outbox_email::Model>> {
    Ok(outbox_email::Entity::find()
        .filter(outbox_email::Column::FailedAt.is_not_null())
        .order_by_asc(outbox_email::Column::Id)
        .all(conn)
        .await?)
}

/// Which messages [`retry`] queues again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retry {
    /// Every message given up on.
    Failed,
    /// These messages (failed or still waiting), unless already sent.
    Ids(Vec<i64>),
}

/// Queues messages for another round of attempts, due now; returns how many.
pub async fn retry<C: ConnectionTrait>(conn: &C, which: Retry, now: DateTime<Utc>) -> Result<u64> {
    let update = outbox_email::Entity::update_many()
        .col_expr(outbox_email::Column::FailedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(outbox_email::Column::Attempts, Expr::value(0))
        .col_expr(outbox_email::Column::NextAttemptAt, Expr::value(now))
        .filter(outbox_email::Column::SentAt.is_null());
    let update = match which {
        Retry::Failed => update.filter(outbox_email::Column::FailedAt.is_not_null()),
        Retry::Ids(ids) => update.filter(outbox_email::Column::Id.is_in(ids)),
    };
    Ok(update.exec(conn).await?.rows_affected)
}
