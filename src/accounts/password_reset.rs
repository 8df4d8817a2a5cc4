//! Forgotten passwords: the same answer for every address, a single-use emailed token, and a
//! reset that ends every session.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

use super::{Origin, SignedIn, credentials, validate::Checks};
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
/// answer both alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetRequest {
    /// An active account has this address: a link is on its way, unless one was sent within
    /// the cooldown.
    Sent,
    /// No active account has this address.
    UnknownEmail,
}

/// How long after answering a reset request its work starts.
const OFF_PATH_DELAY: std::time::Duration = std::time::Duration::from_millis(25);

/// Emails a reset link if `email` has an active account in `project_id`.
///
/// Known and unknown addresses cost the request the same work (one lookup); what a known address
/// adds (the cooldown check, the token, the outbox row) runs after the answer, so its timing does
/// not tell which addresses have accounts.
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
    let state = state.clone();
    tokio::spawn(async move {
        // Started after the answer is out, so its CPU and queries are not charged to this
        // request's timing but to whichever request happens to run later.
        tokio::time::sleep(OFF_PATH_DELAY).await;
        if let Err(Error::Internal(err)) = send_reset_link(&state, &customer).await {
            tracing::error!(error = ?err, customer_id = customer.id, "queueing a password reset link failed");
        }
    });
    Ok(ResetRequest::Sent)
}

/// Queues a reset link for `customer` unless one was issued within the cooldown. The cooldown is
/// decided inside the write transaction, under a per-customer lock, so N concurrent requests
/// queue one link.
async fn send_reset_link(state: &AppState, customer: &customer::Model) -> Result<()> {
    let now = Utc::now();
    let cooldown = chrono::Duration::seconds(state.settings.mail_resend_cooldown_seconds as i64);
    let txn = crate::db::begin_write(&state.db).await?;
    crate::db::lock_key(&txn, &format!("reset:{}", customer.id)).await?;
    if one_time::issued_since(&txn, customer.id, Purpose::PasswordReset, now - cooldown).await? {
        return Ok(());
    }
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
    Ok(())
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
    credentials::admit(state, origin)?;
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
    // The password changed: links mailed before it (other resets, verifications) are void.
    one_time::void_all(&txn, customer.id, now).await?;
    session::revoke_all(&txn, customer.id, None, now).await?;
    let session = session::open(&txn, customer.id, now, state.settings.session_ttl()).await?;
    txn.commit().await?;
    let token = state.tokens.issue(customer.id, session.id, now)?;
    Ok(SignedIn { customer, session_id: session.id, token })
}
