//! Forgotten passwords: the same answer for every address, a single-use emailed token, and a
//! reset that ends every session.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

use super::{Origin, SignedIn, credentials, password_policy, validate::Checks};
use crate::{
    auth::{
        Password,
        cache::Change,
        one_time::{self, Purpose},
        session,
    },
    entity::{customer, reset_request},
    error::{Code, Error, Field, Result},
    mail::{Letter, outbox},
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
    let cooldown = chrono::Duration::seconds(state.settings.mail_resend_cooldown_seconds as i64);
    let txn = crate::db::begin_write(&state.db).await?;
    crate::db::lock_key(&txn, &format!("reset:{project_id}:{}", email.normalized)).await?;
    let customer = customer::Entity::find()
        .filter(customer::Column::ProjectId.eq(project_id))
        .filter(customer::Column::EmailNormalized.eq(&email.normalized))
        .one(&txn)
        .await?
        .filter(customer::Model::is_active);
    let recent = reset_request::Entity::find()
        .filter(reset_request::Column::ProjectId.eq(project_id))
        .filter(reset_request::Column::EmailNormalized.eq(&email.normalized))
        .filter(reset_request::Column::CreatedAt.gt(now - cooldown))
        .one(&txn)
        .await?;
    reset_request::Entity::delete_many()
        .filter(reset_request::Column::ProjectId.eq(project_id))
        .filter(reset_request::Column::EmailNormalized.eq(&email.normalized))
        .filter(reset_request::Column::CreatedAt.lte(now - cooldown))
        .exec(&txn)
        .await?;
    let queued = if recent.is_none() {
        reset_request::ActiveModel {
            project_id: Set(project_id),
            email_normalized: Set(email.normalized.clone()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        if let Some(customer) = &customer {
            queue_reset_link(state, &txn, customer, now).await?;
        }
        customer.is_some()
    } else {
        false
    };
    txn.commit().await?;
    if queued {
        state.mail.wake();
    }
    Ok(if customer.is_some() { ResetRequest::Sent } else { ResetRequest::UnknownEmail })
}

/// Issues a reset token for `customer` and queues the letter carrying it, inside `txn`.
async fn queue_reset_link(
    state: &AppState,
    txn: &sea_orm::DatabaseTransaction,
    customer: &customer::Model,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let ttl = std::time::Duration::from_secs(state.settings.reset_token_ttl_seconds);
    let token =
        one_time::issue(txn, customer.id, Purpose::PasswordReset, &customer.email_normalized, ttl, now)
            .await?;
    let name = customer.full_name();
    let letter =
        state.mail.compose(&customer.email, &Letter::PasswordReset { name: &name, token: &token })?;
    outbox::enqueue(txn, customer.id, letter, now).await
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
        state.settings.password_min_length,
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

    let txn = crate::db::begin_write(&state.db).await?;
    let used = one_time::consume(&txn, Purpose::PasswordReset, token, now).await?.ok_or_else(invalid)?;
    let customer = customer::Entity::find_by_id(used.customer_id)
        .one(&txn)
        .await?
        .filter(customer::Model::is_active)
        .ok_or_else(invalid)?;
    let proved_address = used.email == customer.email_normalized;
    let verified_at = customer.email_verified_at.or(proved_address.then_some(now));
    let mut row = customer.into_active_model();
    row.password_hash = Set(password_hash);
    row.security_stamp = Set(session::new_stamp());
    row.email_verified_at = Set(verified_at);
    row.updated_at = Set(now);
    let customer = row.update(&txn).await?;
    // The password changed: links mailed before it (other resets, verifications) are void.
    one_time::void_all(&txn, customer.id, now).await?;
    session::revoke_all(&txn, customer.id, None, now).await?;
    let signed_in = super::sign_in(&txn, state, origin, customer, now).await?;
    txn.commit().await?;
    state.changed(Change::Customer(signed_in.customer.id)).await;
    Ok(signed_in)
}
