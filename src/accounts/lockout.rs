//! Per-account lockout: after `LOGIN_FAILURES_PER_EMAIL` failed password checks within
//! `LOGIN_FAILURE_WINDOW_SECONDS`, further checks of that address are refused until the oldest
//! failure ages out.
//!
//! Each check takes a place in the address's window before argon2 runs (see
//! [`windows::reserve`]), so N concurrent attempts can never check more than the limit. A match
//! forgives the address's failures, this check's place included; a mismatch leaves its place as
//! the failure it was presumed to be.

use chrono::{DateTime, Utc};

use super::{
    Work,
    windows::{self, Window},
};
use crate::{
    error::{Error, Result},
    state::AppState,
};

/// Reserves one password check of `email` in `project_id`; `RateLimited` when the email is locked.
pub(super) async fn reserve(
    state: &AppState,
    project_id: i32,
    email: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let limit = state.settings.limits.login_failures_per_email as usize;
    if limit == 0 {
        return Ok(());
    }
    let span = std::time::Duration::from_secs(state.settings.limits.login_failure_window_seconds);
    let work = Work::begin(state).await?;
    let key = windows::address_key(project_id, email);
    if let Some(wait) = windows::reserve(work.db(), Window::LoginFailures, &key, limit, span, now).await? {
        return Err(Error::RateLimited(wait));
    }
    work.finish().await
}

/// A matching password forgives the email's failures, the reservation of this check included.
pub(super) async fn forgive(state: &AppState, project_id: i32, email: &str) -> Result<()> {
    if state.settings.limits.login_failures_per_email == 0 {
        return Ok(());
    }
    let work = Work::begin(state).await?;
    windows::forget(work.db(), Window::LoginFailures, &windows::address_key(project_id, email)).await?;
    work.finish().await
}
