//! Forgotten passwords: the same answer for every address, a single-use emailed token, and a
//! reset that ends every session.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

use super::{Origin, SignedIn, validate::Checks};
use crate::{
    auth::{
        Password,
        one_time::{self, Purpose},
        session,
    },
    entity::customer,
    error::{Code, Error, Field, Result},
    mail::{Letter, outbox},
    state::AppState,
};

/// What became of a reset request. Doors that must not reveal which addresses have accounts
/// answer every outcome alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetRequest {
    /// A link was queued.
    Sent,
    /// One was sent within the cooldown; nothing new was sent.
    Throttled,
    /// No active account has this address.
    UnknownEmail,
}

/// Emails a reset link if `email` has an active account in `project_id`.
pub async fn forgot_password(
    state: &AppState,
    origin: &Origin,
    project_id: i32,
    email: &str,
) -> Result<ResetRequest> {
    state.limits.credential(origin.ip)?;
    let mut checks = Checks::default();
    let email = checks.email(Field::Email, email);
    checks.finish()?;
    let Some(email) = email else { return Ok(ResetRequest::UnknownEmail) };
    let Some(customer) = customer::Entity::find()
        .filter(customer::Column::ProjectId.eq(project_id))
        .filter(customer::Column::EmailNormalized.eq(&email.normalized))
        .one(&state.db)
        .await?
        .filter(customer::Model::is_active)
    else {
        return Ok(ResetRequest::UnknownEmail);
    };
    let now = Utc::now();
    let cooldown = chrono::Duration::seconds(state.settings.mail_resend_cooldown_seconds as i64);
    if one_time::issued_since(&state.db, customer.id, Purpose::PasswordReset, now - cooldown).await? {
        return Ok(ResetRequest::Throttled);
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let ttl = std::time::Duration::from_secs(state.settings.reset_token_ttl_seconds);
    let token =
        one_time::issue(&txn, customer.id, Purpose::PasswordReset, &customer.email_normalized, ttl, now)
            .await?;
    let name = customer.full_name();
    let letter =
        state.mail.compose(&customer.email, &Letter::PasswordReset { name: &name, token: &token })?;
    outbox::enqueue(&txn, letter, now).await?;
    txn.commit().await?;
    state.mail.wake();
    Ok(ResetRequest::Sent)
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
    checks.finish()?;
    state.limits.credential(origin.ip)?;
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
    row.email_verified_at = Set(verified_at);
    row.updated_at = Set(now);
    let customer = row.update(&txn).await?;
    session::revoke_all(&txn, customer.id, None, now).await?;
    let session = session::open(&txn, customer.id, now, state.settings.session_ttl()).await?;
    txn.commit().await?;
    let token = state.tokens.issue(customer.id, session.id, now)?;
    Ok(SignedIn { customer, session_id: session.id, token })
}
