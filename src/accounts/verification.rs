//! Email verification: a link sent at registration and on email change, single use, 24 hours.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};

use super::{
    Authenticated, Work,
    events::Event,
    windows::{self, Window},
};
use crate::{
    auth::{
        cache::Change,
        one_time::{self, Purpose},
    },
    entity::customer,
    error::{Code, Error, Field, Result},
    mail::Letter,
    state::AppState,
};

/// Queues a verification link for `customer`'s current address in `work`.
async fn send_link(work: &mut Work<'_>, customer: &customer::Model, now: DateTime<Utc>) -> Result<()> {
    let state = work.state();
    let ttl = std::time::Duration::from_secs(state.settings.mail.verification_token_ttl_seconds);
    let token = one_time::issue(
        work.db(),
        customer.id,
        Purpose::EmailVerification,
        &customer.email_normalized,
        ttl,
        now,
    )
    .await?;
    let name = customer.full_name();
    let letter = state.mail.compose(&customer.email, &Letter::VerifyEmail { name: &name, token: &token })?;
    work.send(customer.id, letter).await
}

/// Queues the link an address gets when it becomes the account's (registration, an email
/// change); a resend waits out the cooldown from it.
pub(super) async fn send_first_link(
    work: &mut Work<'_>,
    customer: &customer::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    windows::record(work.db(), Window::VerificationMails, &windows::customer_key(customer.id), now).await?;
    send_link(work, customer, now).await
}

/// What following a verification link proved, and what the one following it may see.
#[derive(Debug, Clone)]
pub struct Verification {
    /// When the address was verified.
    pub email_verified_at: DateTime<Utc>,
    /// The account, only for a request from that account's own session: a link proves a
    /// mailbox, not a login, and a forwarded, shared or mistyped one must not show its reader
    /// the account's addresses, phone or sessions.
    pub customer: Option<super::Customer>,
}

impl Verification {
    fn seen_by(customer: customer::Model, viewer: Option<&Authenticated>) -> Self {
        let own = viewer.is_some_and(|v| v.customer.id == customer.id);
        Self {
            email_verified_at: customer.email_verified_at.unwrap_or(customer.updated_at),
            customer: own.then(|| customer.into()),
        }
    }
}

/// Marks the address the token was sent to as verified, if it is still the account's address.
/// `viewer` is the session the request carries, if any.
pub async fn verify_email(
    state: &AppState,
    token: &str,
    viewer: Option<&Authenticated>,
) -> Result<Verification> {
    let invalid = || Error::field(Field::Token, Code::InvalidToken);
    let now = Utc::now();
    let mut work = Work::begin(state).await?;
    let used =
        one_time::consume(work.db(), Purpose::EmailVerification, token, now).await?.ok_or_else(invalid)?;
    let customer = customer::Entity::find_by_id(used.customer_id)
        .one(work.db())
        .await?
        .filter(|c| c.email_normalized == used.email)
        .ok_or_else(invalid)?;
    if customer.email_verified_at.is_some() {
        work.finish().await?;
        return Ok(Verification::seen_by(customer, viewer));
    }
    let mut row = customer.into_active_model();
    row.email_verified_at = Set(Some(now));
    row.updated_at = Set(now);
    let customer = row.update(work.db()).await?;
    work.affects(Change::Customer(customer.id));
    let verified = Event::CustomerEmailVerified { email: customer.email.clone() };
    work.publish(customer.project_id, customer.id, verified);
    work.finish().await?;
    Ok(Verification::seen_by(customer, viewer))
}

/// Sends the caller a new verification link (the old one stops working); nothing when already
/// verified or when one was sent within the cooldown.
pub async fn resend_verification(state: &AppState, caller: &Authenticated) -> Result<()> {
    if caller.customer.email_verified_at.is_some() {
        return Ok(());
    }
    let customer = super::own_row(state, caller).await?;
    let now = Utc::now();
    let cooldown = std::time::Duration::from_secs(state.settings.mail.resend_cooldown_seconds);
    let mut work = Work::begin(state).await?;
    let key = windows::customer_key(customer.id);
    if windows::reserve(work.db(), Window::VerificationMails, &key, 1, cooldown, now).await?.is_some() {
        return Ok(());
    }
    send_link(&mut work, &customer, now).await?;
    work.finish().await
}
