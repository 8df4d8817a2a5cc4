//! Login: the same answer, and the same hashing work, whether or not the email exists.

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{Origin, SignedIn, lockout, validate::Email};
use crate::{
    auth::{Password, session},
    entity::customer,
    error::{Code, Error, Field, FieldError, Result},
    state::AppState,
};

/// Checks the password of `email` in `project_id` and opens a session.
pub async fn login(
    state: &AppState,
    origin: &Origin,
    project_id: i32,
    email: &str,
    password: &Password,
) -> Result<SignedIn> {
    state.limits.credential(origin.ip)?;
    let mut missing = Vec::new();
    if email.trim().is_empty() {
        missing.push(FieldError::new(Field::Email, Code::Required));
    }
    if password.expose().is_empty() {
        missing.push(FieldError::new(Field::Password, Code::Required));
    }
    if !missing.is_empty() {
        return Err(Error::Invalid(missing));
    }

    let normalized = Email::normalize(email);
    let now = Utc::now();
    let failures = lockout::check(state, project_id, &normalized, now).await?;
    // The query returns its connection to the pool before the hash starts.
    let found = customer::Entity::find()
        .filter(customer::Column::ProjectId.eq(project_id))
        .filter(customer::Column::EmailNormalized.eq(&normalized))
        .one(&state.db)
        .await?;
    let matches = state.hasher.verify(password, found.as_ref().map(|c| c.password_hash.as_str())).await?;
    let customer = match found {
        Some(customer) if matches && customer.is_active() => customer,
        _ => {
            lockout::record(state, project_id, &normalized, now).await?;
            return Err(Error::Invalid(vec![FieldError::general(Code::InvalidCredentials)]));
        }
    };
    lockout::forgive(state, project_id, &normalized, &failures).await?;
    // Said only after the password matched, so it reveals nothing to someone guessing.
    if state.settings.require_email_verification && customer.email_verified_at.is_none() {
        return Err(Error::Invalid(vec![FieldError::general(Code::EmailNotVerified)]));
    }

    let session = session::open(&state.db, customer.id, now, state.settings.session_ttl()).await?;
    let token = state.tokens.issue(customer.id, session.id, now)?;
    Ok(SignedIn { customer, session_id: session.id, token })
}
