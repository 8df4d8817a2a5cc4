//! The one durable work queue: every kind of background work (mail, guest-order linking, and what
//! comes later) is a row of `jobs`, written in the transaction of the change that causes it, and
//! done after the answer by a runner that every replica runs.
//!
//! One rule for all of them:
//! - **Claim**: a conditional update sets `locked_until` to a lease (the kind says how long its
//!   work may take). Another runner takes a job only once no lease holds it, so a crashed
//!   runner's job is retried when its lease lapses, and two runners never work on one at once.
//! - **Finish**: the update that records the outcome names the lease it claimed with: a runner
//!   whose lease lapsed (and whose job another runner took) records nothing over the other's.
//! - **Retry**: a failed attempt waits `base × 2^(attempts-1)`, capped at [`MAX_BACKOFF`].
//! - **Give up**: a permanent failure at once; a temporary one once the kind's budget is spent,
//!   in attempts *and* in age. Failed jobs stay, listed by `jobs status` and queued again by
//!   `jobs retry`.
//! - **Wake**: a committed write that queued work wakes this process's runner; the others poll.
//!
//! A kind says only how to do its work and what its budget is: see [`Kind`]. Each job is queued
//! in a lane (a kind's own, or one per webhook endpoint); a lane runs one (or its kind's
//! [`Policy::lane_limit`]) job at a time, lanes run side by side, and the runner does not even
//! look at a full lane's jobs, so one slow lane never holds back another.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, SubsecRound as _, Utc};
use futures_util::future::BoxFuture;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use tokio::sync::Notify;

use crate::{entity::job, error::Result};

/// The longest wait between two attempts of a failing job.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// Jobs looked at per round.
const BATCH: u64 = 50;
/// Jobs running at once in one process, whatever their lanes.
const MAX_IN_FLIGHT: usize = 16;
/// The most of a failure's text kept with the job.
const MAX_ERROR_CHARS: usize = 1000;

/// A job as a kind sees it.
#[derive(Debug, Clone)]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// Its kind's name.
    pub kind: String,
    /// The account it is about, if one.
    pub customer_id: Option<i64>,
    /// What the kind wrote when it queued the job.
    pub payload: serde_json::Value,
    /// Attempts before this one.
    pub attempts: i32,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// How one attempt went.
#[derive(Debug)]
pub enum Outcome {
    /// Done; never again.
    Done,
    /// Failed in a way another attempt may mend (a timeout, a 4xx or 5xx answer, no connection).
    Retry(String),
    /// Failed in a way no attempt can mend (a 5xx SMTP reply, a payload that cannot be read).
    GiveUp(String),
}

/// What a kind allows its jobs.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// How long one attempt may take before another runner may take the job.
    pub lease: Duration,
    /// Attempts before the job may be given up on…
    pub max_attempts: i32,
    /// …once it is also this old.
    pub give_up_after: Duration,
    /// Jobs of one lane running at once.
    pub lane_limit: usize,
}

/// A kind of background work: its name, its policy, and how to do it. `C` is what the work needs
/// of the service (its state).
pub trait Kind<C>: Send + Sync {
    /// The name stored in `jobs.kind`.
    fn name(&self) -> &'static str;
    /// Lease, retry budget and lane width.
    fn policy(&self) -> Policy;
    /// Does the work once.
    fn run<'a>(&'a self, context: &'a C, job: &'a Job) -> BoxFuture<'a, Outcome>;
}

/// The queue's settings and its bell.
pub struct Queue {
    wake: Notify,
    poll: Duration,
    retry_base: Duration,
}

impl Queue {
    /// A queue polled every `poll` when not woken, whose failed attempts wait from `retry_base`.
    pub fn new(poll: Duration, retry_base: Duration) -> Self {
        Self { wake: Notify::new(), poll, retry_base }
    }

    /// Tells this process's runner that work was queued (after the transaction committed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The wait after the `attempts`-th failed attempt.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let factor = 2u32.saturating_pow(u32::try_from(attempts.clamp(1, 31) - 1).unwrap_or(0));
        self.retry_base.saturating_mul(factor).min(MAX_BACKOFF)
    }
}

/// Queues a job of `kind` in `lane` as part of whatever `conn`'s transaction commits; its id.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    kind: &str,
    lane: &str,
    customer_id: Option<i64>,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<i64> {
    let row = job::ActiveModel {
        kind: Set(kind.to_owned()),
        lane: Set(lane.to_owned()),
        customer_id: Set(customer_id),
        payload: Set(payload.to_string()),
        attempts: Set(0),
        last_error: Set(None),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        created_at: Set(now),
        done_at: Set(None),
        failed_at: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(row.id)
}

/// The kinds a runner knows, by name.
pub struct Kinds<C>(HashMap<&'static str, Box<dyn Kind<C>>>);

impl<C> Kinds<C> {
    /// The runner's kinds.
    pub fn new(kinds: Vec<Box<dyn Kind<C>>>) -> Self {
        Self(kinds.into_iter().map(|kind| (kind.name(), kind)).collect())
    }

    fn get(&self, name: &str) -> Option<&dyn Kind<C>> {
        self.0.get(name).map(AsRef::as_ref)
    }
}

fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::any().add(job::Column::LockedUntil.is_null()).add(job::Column::LockedUntil.lt(now))
}

/// Due jobs outside the `full` lanes, oldest due first.
async fn due(db: &DatabaseConnection, now: DateTime<Utc>, full: &[String]) -> Result<Vec<job::Model>> {
    let mut query = job::Entity::find()
        .filter(job::Column::DoneAt.is_null())
        .filter(job::Column::FailedAt.is_null())
        .filter(job::Column::NextAttemptAt.lte(now))
        .filter(claimable(now));
    if !full.is_empty() {
        query = query.filter(job::Column::Lane.is_not_in(full.iter().cloned()));
    }
    Ok(query
        .order_by_asc(job::Column::NextAttemptAt)
        .order_by_asc(job::Column::Id)
        .limit(BATCH)
        .all(db)
        .await?)
}

/// A job this runner holds, until its lease ends.
struct Claimed {
    job: Job,
    lease_until: DateTime<Utc>,
}

/// Takes `row` for `lease`, unless another runner holds it.
async fn claim(db: &DatabaseConnection, row: job::Model, lease: Duration) -> Result<Option<Claimed>> {
    let now = Utc::now();
    // Millisecond precision: the value compares equal after a round trip through either database.
    let lease_until =
        (now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX)).trunc_subsecs(3);
    let taken = job::Entity::update_many()
        .col_expr(job::Column::LockedUntil, Expr::value(lease_until))
        .filter(job::Column::Id.eq(row.id))
        .filter(job::Column::DoneAt.is_null())
        .filter(job::Column::FailedAt.is_null())
        .filter(claimable(now))
        .exec(db)
        .await?;
    if taken.rows_affected != 1 {
        return Ok(None);
    }
    let payload = serde_json::from_str(&row.payload).unwrap_or(serde_json::Value::Null);
    let job = Job {
        id: row.id,
        kind: row.kind,
        customer_id: row.customer_id,
        payload,
        attempts: row.attempts,
        created_at: row.created_at,
    };
    Ok(Some(Claimed { job, lease_until }))
}

/// Records how an attempt went, if this runner still holds the job.
async fn settle(
    db: &DatabaseConnection,
    queue: &Queue,
    policy: Policy,
    claimed: &Claimed,
    outcome: Outcome,
) -> Result<()> {
    let job = &claimed.job;
    let attempts = job.attempts + 1;
    let now = Utc::now();
    let update = job::Entity::update_many()
        .col_expr(job::Column::Attempts, Expr::value(attempts))
        .col_expr(job::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(job::Column::Id.eq(job.id))
        .filter(job::Column::LockedUntil.eq(claimed.lease_until));
    let update = match outcome {
        Outcome::Done => update
            .col_expr(job::Column::DoneAt, Expr::value(now))
            .col_expr(job::Column::LastError, Expr::value(Option::<String>::None)),
        Outcome::GiveUp(error) => {
            metrics::counter!("jobs_given_up_total", "kind" => kind_label(&job.kind)).increment(1);
            tracing::error!(job_id = job.id, kind = job.kind, attempts, error, "giving up on a job");
            update
                .col_expr(job::Column::LastError, Expr::value(cut(error)))
                .col_expr(job::Column::FailedAt, Expr::value(now))
        }
        Outcome::Retry(error) => {
            let age = (now - job.created_at).to_std().unwrap_or_default();
            if attempts >= policy.max_attempts && age >= policy.give_up_after {
                metrics::counter!("jobs_given_up_total", "kind" => kind_label(&job.kind)).increment(1);
                tracing::error!(job_id = job.id, kind = job.kind, attempts, error, "giving up on a job");
                update
                    .col_expr(job::Column::LastError, Expr::value(cut(error)))
                    .col_expr(job::Column::FailedAt, Expr::value(now))
            } else {
                let wait = queue.backoff(attempts);
                metrics::counter!("jobs_retried_total", "kind" => kind_label(&job.kind)).increment(1);
                tracing::warn!(
                    job_id = job.id,
                    kind = job.kind,
                    attempts,
                    error,
                    retry_in_ms = wait.as_millis() as u64,
                    "a job failed; it will be retried"
                );
                let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                update
                    .col_expr(job::Column::LastError, Expr::value(cut(error)))
                    .col_expr(job::Column::NextAttemptAt, Expr::value(next))
            }
        }
    };
    update.exec(db).await?;
    Ok(())
}

fn cut(error: String) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

/// The kind as a metric label: a known kind's name, never text from the database.
fn kind_label(kind: &str) -> &'static str {
    match kind {
        "mail" => "mail",
        "link_guest_orders" => "link_guest_orders",
        "webhook" => "webhook",
        _ => "other",
    }
}

/// Claims and does `row` if its kind is known and its lane has room; whether it ran.
async fn attempt<C>(
    context: &C,
    db: &DatabaseConnection,
    queue: &Queue,
    kinds: &Kinds<C>,
    row: job::Model,
) -> Result<bool> {
    let Some(kind) = kinds.get(&row.kind) else {
        tracing::warn!(job_id = row.id, kind = row.kind, "a job of a kind this process does not know");
        return Ok(false);
    };
    let policy = kind.policy();
    let Some(claimed) = claim(db, row, policy.lease).await? else { return Ok(false) };
    let started = std::time::Instant::now();
    let outcome = match tokio::time::timeout(policy.lease, kind.run(context, &claimed.job)).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Retry(format!("took longer than its lease of {} s", policy.lease.as_secs())),
    };
    metrics::histogram!("job_duration_seconds", "kind" => kind_label(&claimed.job.kind))
        .record(started.elapsed());
    settle(db, queue, policy, &claimed, outcome).await?;
    Ok(true)
}

/// One round, for tests and the command line: claims and does every job due now, one after
/// another; how many ran.
pub async fn run_due<C>(
    context: &C,
    db: &DatabaseConnection,
    queue: &Queue,
    kinds: &Kinds<C>,
) -> Result<usize> {
    let mut ran = 0;
    for row in due(db, Utc::now(), &[]).await? {
        if attempt(context, db, queue, kinds, row).await? {
            ran += 1;
        }
    }
    Ok(ran)
}

/// Runs until the task is dropped: claims what is due, lane by lane, and does it; sleeps until
/// woken, polled, or a job finished.
pub async fn run<C: Send + Sync + 'static>(
    context: Arc<C>,
    db: DatabaseConnection,
    queue: Arc<Queue>,
    kinds: Arc<Kinds<C>>,
) {
    let mut running = tokio::task::JoinSet::new();
    // Each lane's running jobs and its limit.
    let mut lanes: HashMap<String, (usize, usize)> = HashMap::new();
    loop {
        let full: Vec<String> =
            lanes.iter().filter(|(_, (busy, limit))| busy >= limit).map(|(lane, _)| lane.clone()).collect();
        match due(&db, Utc::now(), &full).await {
            Ok(rows) => {
                for row in rows {
                    let Some(kind) = kinds.get(&row.kind) else { continue };
                    let limit = kind.policy().lane_limit;
                    let lane = row.lane.clone();
                    let busy = lanes.get(&lane).map_or(0, |(busy, _)| *busy);
                    if busy >= limit || running.len() >= MAX_IN_FLIGHT {
                        continue;
                    }
                    lanes.entry(lane.clone()).or_insert((0, limit)).0 += 1;
                    let (context, db, queue, kinds) =
                        (context.clone(), db.clone(), queue.clone(), kinds.clone());
                    running.spawn(async move {
                        if let Err(err) = attempt(context.as_ref(), &db, &queue, &kinds, row).await {
                            tracing::error!(error = ?err, "a job could not be claimed or recorded");
                        }
                        lane
                    });
                }
            }
            Err(err) => tracing::error!(error = ?err, "looking for due jobs failed"),
        }
        tokio::select! {
            () = queue.wake.notified() => {},
            () = tokio::time::sleep(queue.poll) => {},
            Some(finished) = running.join_next() => {
                if let Ok(lane) = finished && let Some((busy, _)) = lanes.get_mut(&lane) {
                    *busy = busy.saturating_sub(1);
                }
            }
        }
        while let Some(finished) = running.try_join_next() {
            if let Ok(lane) = finished
                && let Some((busy, _)) = lanes.get_mut(&lane)
            {
                *busy = busy.saturating_sub(1);
            }
        }
        lanes.retain(|_, (busy, _)| *busy > 0);
    }
}

/// How many jobs wait, were given up on, and were done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Not yet done; will be tried (again).
    pub pending: u64,
    /// Given up on.
    pub failed: u64,
    /// Done.
    pub done: u64,
}

/// The queue's counts, of one kind or of all.
pub async fn counts<C: ConnectionTrait>(conn: &C, kind: Option<&str>) -> Result<Counts> {
    let find = || {
        let query = job::Entity::find();
        match kind {
            Some(kind) => query.filter(job::Column::Kind.eq(kind)),
            None => query,
        }
    };
    Ok(Counts {
        pending: find()
            .filter(job::Column::DoneAt.is_null())
            .filter(job::Column::FailedAt.is_null())
            .count(conn)
            .await?,
        failed: find().filter(job::Column::FailedAt.is_not_null()).count(conn).await?,
        done: find().filter(job::Column::DoneAt.is_not_null()).count(conn).await?,
    })
}

/// Every job given up on, of one kind or of all, oldest first.
pub async fn failed<C: ConnectionTrait>(conn: &C, kind: Option<&str>) -> Result<Vec<job::Model>> {
    let query = job::Entity::find().filter(job::Column::FailedAt.is_not_null());
    let query = match kind {
        Some(kind) => query.filter(job::Column::Kind.eq(kind)),
        None => query,
    };
    Ok(query.order_by_asc(job::Column::Id).all(conn).await?)
}

/// Which jobs [`retry`] queues again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retry {
    /// Every job given up on.
    Failed,
    /// These jobs (failed or still waiting), unless already done.
    Ids(Vec<i64>),
}

/// Queues jobs (of one kind, or of any) for another round of attempts, due now; how many.
pub async fn retry<C: ConnectionTrait>(
    conn: &C,
    which: Retry,
    kind: Option<&str>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let update = job::Entity::update_many()
        .col_expr(job::Column::FailedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::Attempts, Expr::value(0))
        .col_expr(job::Column::NextAttemptAt, Expr::value(now))
        .filter(job::Column::DoneAt.is_null());
    let update = match which {
        Retry::Failed => update.filter(job::Column::FailedAt.is_not_null()),
        Retry::Ids(ids) => update.filter(job::Column::Id.is_in(ids)),
    };
    let update = match kind {
        Some(kind) => update.filter(job::Column::Kind.eq(kind)),
        None => update,
    };
    Ok(update.exec(conn).await?.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_is_capped() {
        let queue = Queue::new(Duration::from_secs(1), Duration::from_secs(2));
        assert_eq!(queue.backoff(1), Duration::from_secs(2));
        assert_eq!(queue.backoff(2), Duration::from_secs(4));
        assert_eq!(queue.backoff(4), Duration::from_secs(16));
        assert_eq!(queue.backoff(40), MAX_BACKOFF);
    }
}
