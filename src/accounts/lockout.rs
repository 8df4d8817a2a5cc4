//! Per-account lockout: after `LOGIN_FAILURES_PER_EMAIL` failed password checks within the window,
//! further checks of that email are refused until the oldest failure ages out.
//!
//! Failures live in the database rather than in a governor limiter: the lockout must count
//! failures only (a limiter cannot look without spending, nor refund a success), and it must hold
//! across restarts and across instances.
//!
//! Each check is reserved before argon2 runs: the reservation is a failure row, written in a
//! transaction that holds a per-email lock and counts first, so N concurrent attempts can never
//! check more than the limit. A match deletes the email's rows; a mismatch leaves its row as the
//! failure it was presumed to be.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::{
    entity::login_failure,
    error::{Error, Result},
    state::AppState,
};

fn window(state: &AppState) -> chrono::Duration {
    chrono::Duration::seconds(state.settings.login_failure_window_seconds as i64)
}

/// Reserves one password check of `email` in `project_id`; `RateLimited` when the email is locked.
pub(super) async fn reserve(
    state: &AppState,
    project_id: i32,
    email: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let limit = state.settings.login_failures_per_email as usize;
    if limit == 0 {
        return Ok(());
    }
    let txn = crate::db::begin_write(&state.db).await?;
    crate::db::lock_key(&txn, &format!("lockout:{project_id}:{email}")).await?;
    let recent = login_failure::Entity::find()
        .filter(login_failure::Column::ProjectId.eq(project_id))
        .filter(login_failure::Column::EmailNormalized.eq(email))
        .filter(login_failure::Column::CreatedAt.gt(now - window(state)))
        .order_by_asc(login_failure::Column::CreatedAt)
        .all(&txn)
        .await?;
    if recent.len() >= limit {
        let until = recent.first().map_or(now, |f| f.created_at) + window(state);
        return Err(Error::RateLimited((until - now).to_std().unwrap_or_default()));
    }
    login_failure::ActiveModel {
        project_id: Set(project_id),
        email_normalized: Set(email.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    // Old rows of this email are never read again.
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::ProjectId.eq(project_id))
        .filter(login_failure::Column::EmailNormalized.eq(email))
        .filter(login_failure::Column::CreatedAt.lte(now - window(state)))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// A matching password forgives the email's failures, the reservation of this check included.
pub(super) async fn forgive(state: &AppState, project_id: i32, email: &str) -> Result<()> {
    if state.settings.login_failures_per_email == 0 {
        return Ok(());
    }
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::ProjectId.eq(project_id))
        .filter(login_failure::Column::EmailNormalized.eq(email))
        .exec(&state.db)
        .await?;
    Ok(())
}
