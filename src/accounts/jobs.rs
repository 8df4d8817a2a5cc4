//! Background jobs: work a request queues in its own transaction and a runner does after the
//! answer. Claimed with a conditional update and a lease like the mail outbox, so a crash or a
//! second replica neither loses a job nor runs one twice at once; every job is idempotent, so a
//! lease that lapsed mid-run costs only a repeat.

use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, sea_query::Expr,
};

use crate::{entity::background_job, error::Result, state::AppState};

/// Links a customer's guest orders (of their project and current address) to the account.
pub const LINK_GUEST_ORDERS: &str = "link_guest_orders";

/// How long a claim holds: far more than a job takes.
const LEASE: Duration = Duration::from_secs(60);
/// Jobs taken per round.
const BATCH: u64 = 20;
/// The longest wait between two attempts of a failing job.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// Queues `kind` for `customer_id` as part of whatever `conn`'s transaction commits; the caller
/// wakes the runner after committing.
pub(crate) async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    kind: &str,
    customer_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    background_job::ActiveModel {
        kind: Set(kind.to_owned()),
        customer_id: Set(customer_id),
        attempts: Set(0),
        last_error: Set(None),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        created_at: Set(now),
        done_at: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Runs until the task is dropped: does what is due, then sleeps until woken or polled.
pub async fn run(state: AppState) {
    let poll = Duration::from_millis(state.settings.mail_poll_interval_ms);
    loop {
        match run_due(&state).await {
            Ok(done) if done > 0 => continue,
            Ok(_) => {}
            Err(err) => tracing::error!(error = ?err, "background job round failed"),
        }
        tokio::select! {
            () = state.jobs_wake.notified() => {},
            () = tokio::time::sleep(poll) => {},
        }
    }
}

/// One round: claims and runs every due job; returns how many finished.
pub async fn run_due(state: &AppState) -> Result<usize> {
    let now = Utc::now();
    let claimable = || {
        Condition::any()
            .add(background_job::Column::LockedUntil.is_null())
            .add(background_job::Column::LockedUntil.lt(now))
    };
    let due = background_job::Entity::find()
        .filter(background_job::Column::DoneAt.is_null())
        .filter(background_job::Column::NextAttemptAt.lte(now))
        .filter(claimable())
        .order_by_asc(background_job::Column::Id)
        .limit(BATCH)
        .all(&state.db)
        .await?;
    let mut done = 0;
    for job in due {
        // Millisecond precision: the value compares equal after a round trip through either database.
        let lease_until =
            (now + chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::MAX)).trunc_subsecs(3);
        let claim = background_job::Entity::update_many()
            .col_expr(background_job::Column::LockedUntil, Expr::value(lease_until))
            .filter(background_job::Column::Id.eq(job.id))
            .filter(background_job::Column::DoneAt.is_null())
            .filter(claimable())
            .exec(&state.db)
            .await?;
        if claim.rows_affected != 1 {
            continue; // another runner has it
        }
        let attempts = job.attempts + 1;
        let outcome = match job.kind.as_str() {
            LINK_GUEST_ORDERS => super::orders::link(state, job.customer_id).await.map(drop),
            unknown => Err(crate::error::Error::internal(anyhow::anyhow!("unknown job kind {unknown}"))),
        };
        let update = background_job::Entity::update_many()
            .col_expr(background_job::Column::Attempts, Expr::value(attempts))
            .col_expr(background_job::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(background_job::Column::Id.eq(job.id))
            .filter(background_job::Column::LockedUntil.eq(lease_until));
        match outcome {
            Ok(()) => {
                update
                    .col_expr(background_job::Column::DoneAt, Expr::value(Utc::now()))
                    .exec(&state.db)
                    .await?;
                done += 1;
            }
            Err(err) => {
                let error: String = format!("{err:#}").chars().take(1000).collect();
                let factor = 2u32.saturating_pow(u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0));
                let wait = Duration::from_secs(2).saturating_mul(factor).min(MAX_BACKOFF);
                tracing::warn!(
                    job_id = job.id,
                    kind = job.kind,
                    attempts,
                    error,
                    "background job failed; retrying"
                );
                let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                update
                    .col_expr(background_job::Column::LastError, Expr::value(error))
                    .col_expr(background_job::Column::NextAttemptAt, Expr::value(next))
                    .exec(&state.db)
                    .await?;
            }
        }
    }
    Ok(done)
}
