//! Per-account lockout: after `LOGIN_FAILURES_PER_EMAIL` failed logins within the window, further
//! attempts on that email are refused until the oldest failure ages out.
//!
//! Failures live in the database rather than in a governor limiter: the lockout must count
//! failures only (a limiter cannot look without spending, nor refund a success), and it must hold
//! across restarts and across instances.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::{
    entity::login_failure,
    error::{Error, Result},
    state::AppState,
};

/// Recent failures of one email.
pub(super) struct Failures {
    count: usize,
    oldest: Option<DateTime<Utc>>,
}

fn window(state: &AppState) -> chrono::Duration {
    chrono::Duration::seconds(state.settings.login_failure_window_seconds as i64)
}

/// The failures of `email` within the window; `RateLimited` when the email is locked.
pub(super) async fn check(
    state: &AppState,
    project_id: i32,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Failures> {
    let limit = state.settings.login_failures_per_email as usize;
    if limit == 0 {
        return Ok(Failures { count: 0, oldest: None });
    }
    let recent = login_failure::Entity::find()
        .filter(login_failure::Column::ProjectId.eq(project_id))
        .filter(login_failure::Column::EmailNormalized.eq(email))
        .filter(login_failure::Column::CreatedAt.gt(now - window(state)))
        .order_by_asc(login_failure::Column::CreatedAt)
        .all(&state.db)
        .await?;
    let failures = Failures { count: recent.len(), oldest: recent.first().map(|f| f.created_at) };
    if failures.count >= limit {
        let until = failures.oldest.unwrap_or(now) + window(state);
        return Err(Error::RateLimited((until - now).to_std().unwrap_or_default()));
    }
    Ok(failures)
}

/// Records one failed login.
pub(super) async fn record(state: &AppState, project_id: i32, email: &str, now: DateTime<Utc>) -> Result<()> {
    if state.settings.login_failures_per_email == 0 {
        return Ok(());
    }
    login_failure::ActiveModel {
        project_id: Set(project_id),
        email_normalized: Set(email.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    // Old rows of this email are never read again.
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::ProjectId.eq(project_id))
        .filter(login_failure::Column::EmailNormalized.eq(email))
        .filter(login_failure::Column::CreatedAt.lte(now - window(state)))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// A successful login forgives earlier failures (no write when there were none).
pub(super) async fn forgive(
    state: &AppState,
    project_id: i32,
    email: &str,
    failures: &Failures,
) -> Result<()> {
    if failures.count > 0 {
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::ProjectId.eq(project_id))
            .filter(login_failure::Column::EmailNormalized.eq(email))
            .exec(&state.db)
            .await?;
    }
    Ok(())
}
