//! Forgotten passwords: the same answer for every address, a single-use emailed token, and a
//! reset that ends every session.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

use super::{
    Origin, SignedIn, Work, credentials,
    events::Event,
    password_policy,
    validate::Checks,
    windows::{self, Window},
};
use crate::{
    auth::{
        Password,
        cache::Change,
        one_time::{self, Purpose},
        session,
    },
    entity::customer,
    error::{Code, Error, Field, Result},
    mail::Letter,
    state::AppState,
};

/// What became of a reset request. Doors that must not reveal which addresses have accounts
/// answer both alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetRequest {
    /// An active account has this address: a link is on its way, unless one was sent within
    /// the cooldown.
    Sent,
    /// No active account has this address.
    UnknownEmail,
}

/// Emails a reset link if `email` has an active account in `project_id`.
///
/// Known and unknown addresses cost the same work: one write transaction that looks the address
/// up, checks and records the request for the cooldown (per address, known or not), and only for
/// a known address outside the cooldown adds the token and the letter. The cooldown is decided
/// inside that transaction, under a per-address lock, so N concurrent requests queue one link.
pub async fn forgot_password(
    state: &AppState,
    origin: &Origin,
    project_id: i32,
    email: &str,
) -> Result<ResetRequest> {
    state.limits.credential(origin.ip).await?;
    let mut checks = Checks::default();
    let email = checks.email(Field::Email, email);
    checks.finish()?;
    let Some(email) = email else { return Ok(ResetRequest::UnknownEmail) };
    let now = Utc::now();
    let cooldown = std::time::Duration::from_secs(state.settings.mail.resend_cooldown_seconds);
    let mut work = Work::begin(state).await?;
    let customer = customer::Entity::find()
        .filter(customer::Column::ProjectId.eq(project_id))
        .filter(customer::Column::EmailNormalized.eq(&email.normalized))
        .one(work.db())
        .await?
        .filter(customer::Model::is_active);
    // The cooldown is the address's, known or not: both do the same work.
    let key = windows::address_key(project_id, &email.normalized);
    let cooling = windows::reserve(work.db(), Window::ResetRequests, &key, 1, cooldown, now).await?.is_some();
    if let (false, Some(customer)) = (cooling, &customer) {
        queue_reset_link(&mut work, customer, now).await?;
    }
    work.finish().await?;
    Ok(if customer.is_some() { ResetRequest::Sent } else { ResetRequest::UnknownEmail })
}

/// Issues a reset token for `customer` and queues the letter carrying it, in `work`.
async fn queue_reset_link(
    work: &mut Work<'_>,
    customer: &customer::Model,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let state = work.state();
    let ttl = std::time::Duration::from_secs(state.settings.mail.reset_token_ttl_seconds);
    let token =
        one_time::issue(work.db(), customer.id, Purpose::PasswordReset, &customer.email_normalized, ttl, now)
            .await?;
    let name = customer.full_name();
    let letter =
        state.mail.compose(&customer.email, &Letter::PasswordReset { name: &name, token: &token })?;
    work.send(customer.id, letter).await
}

/// Sets a new password with a reset token, ends every session, and logs the customer in afresh.
pub async fn reset_password(
    state: &AppState,
    origin: &Origin,
    token: &str,
    password: &Password,
    confirmation: &Password,
) -> Result<SignedIn> {
    let mut checks = Checks::default();
    checks.new_password(
        (Field::Password, Some(password)),
        (Field::PasswordConfirmation, Some(confirmation)),
        state.settings.auth.password_min_length,
    );
    // The customer's names and email count as guessable; the token is only looked at here,
    // and spent below, once the new password is hashed.
    let owner = match one_time::peek(&state.db, Purpose::PasswordReset, token, Utc::now()).await? {
        Some(found) => customer::Entity::find_by_id(found.customer_id).one(&state.db).await?,
        None => None,
    };
    let guessable = owner.as_ref().map_or_else(Default::default, |c| password_policy::Guessable {
        emails: vec![&c.email],
        names: vec![(&c.first_name, &c.last_name)],
    });
    if let Some(weak) = password_policy::weakness(state, Field::Password, password, &guessable).await? {
        checks.refuse(weak);
    }
    checks.finish()?;
    credentials::admit(state, origin).await?;
    let invalid = || Error::field(Field::Token, Code::InvalidToken);
    let now = Utc::now();
    // Hash first: no transaction is open while argon2 runs. An invalid token wastes one hash,
    // which the credential rate limits bound.
    let password_hash = state.hasher.hash(password).await?;

    let mut work = Work::begin(state).await?;
    let used = one_time::consume(work.db(), Purpose::PasswordReset, token, now).await?.ok_or_else(invalid)?;
    let customer = customer::Entity::find_by_id(used.customer_id)
        .one(work.db())
        .await?
        .filter(customer::Model::is_active)
        .ok_or_else(invalid)?;
    let proved_address = used.email == customer.email_normalized;
    let newly_verified = customer.email_verified_at.is_none() && proved_address;
    let verified_at = customer.email_verified_at.or(proved_address.then_some(now));
    let mut row = customer.into_active_model();
    row.password_hash = Set(password_hash);
    row.security_stamp = Set(session::new_stamp());
    row.email_verified_at = Set(verified_at);
    row.updated_at = Set(now);
    let customer = row.update(work.db()).await?;
    // The password changed: links mailed before it (other resets, verifications) are void.
    one_time::void_all(work.db(), customer.id, now).await?;
    session::revoke_all(work.db(), customer.id, None, now).await?;
    work.affects(Change::Customer(customer.id));
    let changed_fields = vec!["password"];
    work.publish(customer.project_id, customer.id, Event::CustomerUpdated { changed_fields });
    if newly_verified {
        let verified = Event::CustomerEmailVerified { email: customer.email.clone() };
        work.publish(customer.project_id, customer.id, verified);
    }
    let signed_in = super::sign_in(work.db(), state, origin, customer, now).await?;
    work.finish().await?;
    Ok(signed_in)
}
