//! Login: the same answer, and the same hashing and database work, whether or not the email exists.

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{Origin, SignedIn, Work, credentials, validate::Checks};
use crate::{
    auth::Password,
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
    credentials::admit(state, origin).await?;
    let mut checks = Checks::default();
    let normalized = checks.login_email(Field::Email, email);
    if password.expose().is_empty() {
        checks.refuse(FieldError::new(Field::Password, Code::Required));
    }
    checks.finish()?;
    let normalized = normalized.unwrap_or_default();

    // The query returns its connection to the pool before the hash starts.
    let found = customer::Entity::find()
        .filter(customer::Column::ProjectId.eq(project_id))
        .filter(customer::Column::EmailNormalized.eq(&normalized))
        .one(&state.db)
        .await?;
    let stored = found.as_ref().map(|c| c.password_hash.as_str());
    let matches = credentials::check_password(state, project_id, &normalized, password, stored).await?;
    let customer = match found {
        Some(customer) if matches && customer.is_active() => customer,
        _ => return Err(Error::Invalid(vec![FieldError::general(Code::InvalidCredentials)])),
    };
    // Said only after the password matched, so it reveals nothing to someone guessing.
    if state.settings.auth.require_email_verification && customer.email_verified_at.is_none() {
        return Err(Error::Invalid(vec![FieldError::general(Code::EmailNotVerified)]));
    }

    let work = Work::begin(state).await?;
    let signed_in = super::sign_in(work.db(), state, origin, customer, Utc::now()).await?;
    work.finish().await?;
    Ok(signed_in)
}
