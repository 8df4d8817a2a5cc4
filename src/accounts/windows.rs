//! Events counted per key over a sliding window, in one table for every kind: failed password
//! checks (the per-address lockout), reset requests and verification mails (the resend
//! cooldowns). They live in the database, not in a limiter's memory: they must hold across
//! restarts and replicas, count only what they are told to, and forgive on success.
//!
//! [`reserve`] is the one way to take a place in a window: under a lock on the key it counts the
//! events still in the window, refuses when it is full, and otherwise records this one, all in
//! the caller's transaction. Concurrent requests can therefore never take more places than the
//! limit, whatever their number.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set,
};

use crate::{entity::event_window, error::Result};

/// What a window counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Password checks of one address in one shop, reserved before argon2 runs and forgiven
    /// when the password matched.
    LoginFailures,
    /// Password reset requests for one address in one shop, known or not.
    ResetRequests,
    /// Verification links mailed to one customer.
    VerificationMails,
}

impl Window {
    /// The stored `kind`.
    pub fn kind(self) -> &'static str {
        match self {
            Window::LoginFailures => "login_failure",
            Window::ResetRequests => "reset_request",
            Window::VerificationMails => "verification_mail",
        }
    }
}

/// The key of an address in a shop.
pub fn address_key(project_id: i32, email_normalized: &str) -> String {
    format!("{project_id}:{email_normalized}")
}

/// The key of a customer.
pub fn customer_key(customer_id: i64) -> String {
    format!("customer:{customer_id}")
}

/// Takes a place for `key` in `window`: `None` when taken, or how long until one is free when
/// `limit` events already lie within `span` of `now`. Events older than `span` are forgotten.
pub async fn reserve(
    txn: &DatabaseTransaction,
    window: Window,
    key: &str,
    limit: usize,
    span: Duration,
    now: DateTime<Utc>,
) -> Result<Option<Duration>> {
    crate::db::lock_key(txn, &format!("window:{}:{key}", window.kind())).await?;
    let span = chrono::Duration::from_std(span).unwrap_or(chrono::Duration::MAX);
    let recent = event_window::Entity::find()
        .filter(event_window::Column::Kind.eq(window.kind()))
        .filter(event_window::Column::Key.eq(key))
        .filter(event_window::Column::CreatedAt.gt(now - span))
        .order_by_asc(event_window::Column::CreatedAt)
        .all(txn)
        .await?;
    if recent.len() >= limit {
        let until = recent.first().map_or(now, |event| event.created_at) + span;
        return Ok(Some((until - now).to_std().unwrap_or_default()));
    }
    event_window::Entity::delete_many()
        .filter(event_window::Column::Kind.eq(window.kind()))
        .filter(event_window::Column::Key.eq(key))
        .filter(event_window::Column::CreatedAt.lte(now - span))
        .exec(txn)
        .await?;
    record(txn, window, key, now).await?;
    Ok(None)
}

/// Records an event that happens whatever the window holds (a verification link mailed at
/// registration, which a resend then has to wait for).
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    window: Window,
    key: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    event_window::ActiveModel {
        kind: Set(window.kind().to_owned()),
        key: Set(key.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Forgets every event of `key` in `window`.
pub async fn forget<C: ConnectionTrait>(conn: &C, window: Window, key: &str) -> Result<()> {
    event_window::Entity::delete_many()
        .filter(event_window::Column::Kind.eq(window.kind()))
        .filter(event_window::Column::Key.eq(key))
        .exec(conn)
        .await?;
    Ok(())
}

/// When each event of `key` in `window` happened, oldest first.
pub async fn times<C: ConnectionTrait>(conn: &C, window: Window, key: &str) -> Result<Vec<DateTime<Utc>>> {
    Ok(event_window::Entity::find()
        .filter(event_window::Column::Kind.eq(window.kind()))
        .filter(event_window::Column::Key.eq(key))
        .order_by_asc(event_window::Column::CreatedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(|event| event.created_at)
        .collect())
}
