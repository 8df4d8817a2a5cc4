//! The delivery worker: claims due messages, sends them, marks them sent or schedules a retry.
//!
//! A claim is a conditional update, so two workers (or a restarted one) never send a message
//! twice once it is marked sent; a worker that dies mid-send loses its claim once the send
//! timeout and [`CLAIM_MARGIN`] have passed, and the message is tried again.
//!
//! A permanent refusal (a 5xx reply) marks the message failed at once, with the reason. Temporary
//! failures (4xx, no connection, no answer in time) are retried with capped backoff until the
//! message has had `MAIL_MAX_ATTEMPTS` tries and is older than `MAIL_GIVE_UP_AFTER_SECONDS`.

use std::time::Duration;

use chrono::{SubsecRound as _, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};

use super::{Composed, DeliveryError};
use crate::{config::Settings, entity::outbox_email, error::Result};

/// What delivery needs of the service: its database, its mailer and its settings. The service's
/// state provides it, so this module needs nothing above it.
pub trait Outbox {
    /// The database holding the outbox.
    fn db(&self) -> &sea_orm::DatabaseConnection;
    /// The mailer that delivers.
    fn mail(&self) -> &super::Mailer;
    /// Retry and give-up settings.
    fn settings(&self) -> &Settings;
}

/// How long a claim outlives the send timeout: the bookkeeping after a send needs a moment too.
pub const CLAIM_MARGIN: Duration = Duration::from_secs(5);
/// Messages taken per round.
const BATCH: u64 = 20;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// Runs until the task is dropped: delivers what is due, then sleeps until woken or polled.
pub async fn run(state: impl Outbox) {
    let poll = Duration::from_millis(state.settings().mail_poll_interval_ms);
    loop {
        match deliver_due(&state).await {
            Ok(delivered) if delivered > 0 => continue,
            Ok(_) => {}
            Err(err) => tracing::error!(error = ?err, "mail delivery round failed"),
        }
        tokio::select! {
            () = state.mail().woken() => {},
            () = tokio::time::sleep(poll) => {},
        }
    }
}

/// One round: claims and sends every due message; returns how many were sent.
pub async fn deliver_due(state: &impl Outbox) -> Result<usize> {
    let now = Utc::now();
    let claimable = || {
        Condition::any()
            .add(outbox_email::Column::LockedUntil.is_null())
            .add(outbox_email::Column::LockedUntil.lt(now))
    };
    let due = outbox_email::Entity::find()
        .filter(outbox_email::Column::SentAt.is_null())
        .filter(outbox_email::Column::FailedAt.is_null())
        .filter(outbox_email::Column::NextAttemptAt.lte(now))
        .filter(claimable())
        .order_by_asc(outbox_email::Column::Id)
        .limit(BATCH)
        .all(state.db())
        .await?;
    let claim = chrono::Duration::from_std(state.mail().send_timeout() + CLAIM_MARGIN)
        .unwrap_or(chrono::Duration::MAX);
    let give_up_after = chrono::Duration::seconds(
        i64::try_from(state.settings().mail_give_up_after_seconds).unwrap_or(i64::MAX),
    );
    let mut sent = 0;
    for email in due {
        // Millisecond precision: the value must compare equal after a round trip through
        // PostgreSQL (microseconds) and SQLite (text).
        let claim_until = (now + claim).trunc_subsecs(3);
        let claim = outbox_email::Entity::update_many()
            .col_expr(outbox_email::Column::LockedUntil, Expr::value(claim_until))
            .filter(outbox_email::Column::Id.eq(email.id))
            .filter(outbox_email::Column::SentAt.is_null())
            .filter(claimable())
            .exec(state.db())
            .await?;
        if claim.rows_affected != 1 {
            continue; // another worker has it
        }
        let attempts = email.attempts + 1;
        let composed = Composed {
            recipient: email.recipient,
            subject: email.subject,
            text: email.text_body,
            html: email.html_body,
        };
        let update = outbox_email::Entity::update_many()
            .col_expr(outbox_email::Column::Attempts, Expr::value(attempts))
            .col_expr(outbox_email::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
            .filter(outbox_email::Column::Id.eq(email.id));
        match state.mail().deliver(email.id, &composed).await {
            Ok(()) => {
                update
                    .col_expr(outbox_email::Column::SentAt, Expr::value(Utc::now()))
                    .col_expr(outbox_email::Column::LastError, Expr::value(Option::<String>::None))
                    .exec(state.db())
                    .await?;
                sent += 1;
            }
            Err(err) => {
                let error: String = err.to_string().chars().take(1000).collect();
                // Release only our own claim: if it lapsed and another worker holds the message now,
                // this attempt's bookkeeping yields to theirs.
                let update = update
                    .col_expr(outbox_email::Column::LastError, Expr::value(error.clone()))
                    .filter(outbox_email::Column::LockedUntil.eq(claim_until));
                let exhausted = attempts >= state.settings().mail_max_attempts
                    && Utc::now() - email.created_at >= give_up_after;
                let update = if matches!(err, DeliveryError::Permanent(_)) || exhausted {
                    tracing::error!(outbox_id = email.id, attempts, error, "giving up on an email");
                    update.col_expr(outbox_email::Column::FailedAt, Expr::value(Utc::now()))
                } else {
                    let wait = backoff(state.settings().mail_retry_base_ms, attempts);
                    tracing::warn!(
                        outbox_id = email.id,
                        attempts,
                        error,
                        retry_in_ms = wait.as_millis() as u64,
                        "email not delivered"
                    );
                    let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                    update.col_expr(outbox_email::Column::NextAttemptAt, Expr::value(next))
                };
                update.exec(state.db()).await?;
            }
        }
    }
    Ok(sent)
}

/// Exponential backoff: base, 2×base, 4×base … capped at [`MAX_BACKOFF`].
fn backoff(base_ms: u64, attempts: i32) -> Duration {
    let factor = 2u64.saturating_pow(attempts.saturating_sub(1).clamp(0, 30) as u32);
    Duration::from_millis(base_ms.saturating_mul(factor)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_is_capped() {
        assert_eq!(backoff(2000, 1), Duration::from_secs(2));
        assert_eq!(backoff(2000, 2), Duration::from_secs(4));
        assert_eq!(backoff(2000, 4), Duration::from_secs(16));
        assert_eq!(backoff(2000, 40), MAX_BACKOFF);
    }
}
