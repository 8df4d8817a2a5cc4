//! Writing mail to the outbox (inside the caller's transaction) and counting what waits.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

use super::Composed;
use crate::{entity::outbox_email, error::Result};

/// Queues `email` for delivery as part of whatever `conn`'s transaction commits.
pub async fn enqueue<C: ConnectionTrait>(conn: &C, email: Composed, now: DateTime<Utc>) -> Result<()> {
    outbox_email::ActiveModel {
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
