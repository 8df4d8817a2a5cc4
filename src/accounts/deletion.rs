//! Deleting one's own account: every session and token ends, personal data is erased, the row
//! stays anonymised for what refers to it, and the old address gets a confirmation.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

use super::{
    Authenticated, Origin, Work, credentials,
    windows::{self, Window},
};
use crate::{
    auth::{Password, cache::Change, secret},
    entity::{address, customer, job, one_time_token, session},
    error::{Code, Error, Field, Result},
    mail::Letter,
    state::AppState,
};

/// The email a deleted account keeps: unique, never deliverable (`.invalid` is reserved by
/// RFC 2606), and no address anyone can register, so the real address is free again.
fn tombstone(id: i64) -> String {
    format!("deleted-{id}-{}@deleted.invalid", secret::random(6).to_lowercase())
}

/// Deletes the caller's account once `current_password` proves it is theirs. The password check
/// counts against the same limits as a login.
pub async fn delete_account(
    state: &AppState,
    origin: &Origin,
    caller: &Authenticated,
    current_password: &Password,
) -> Result<()> {
    if current_password.expose().is_empty() {
        return Err(Error::field(Field::CurrentPassword, Code::Required));
    }
    let current = &super::own_row(state, caller).await?;
    credentials::admit(state, origin).await?;
    let (project, email) = (current.project_id, &current.email_normalized);
    if !credentials::check_password(state, project, email, current_password, Some(&current.password_hash))
        .await?
    {
        return Err(Error::field(Field::CurrentPassword, Code::InvalidCredentials));
    }

    let now = Utc::now();
    let mut work = Work::begin(state).await?;
    let id = current.id;
    // The account row first: its lock orders this after any login holding the row, whose session
    // is then committed and deleted below, and before any later one, which finds it deleted.
    let name = current.full_name();
    let mut row = current.clone().into_active_model();
    let gone = tombstone(id);
    row.email = Set(gone.clone());
    row.email_normalized = Set(gone);
    // No argon2 string: nothing ever verifies against it.
    row.password_hash = Set(String::new());
    row.first_name = Set(String::new());
    row.last_name = Set(String::new());
    row.gender = Set(None);
    row.date_of_birth = Set(None);
    row.phone = Set(None);
    row.account_type = Set(None);
    row.company = Set(None);
    row.tax_number = Set(None);
    row.cart_reminder_consent = Set(None);
    row.email_verified_at = Set(None);
    row.status = Set(customer::STATUS_DELETED);
    row.security_stamp = Set(crate::auth::session::new_stamp());
    row.deleted_at = Set(Some(now));
    row.updated_at = Set(now);
    row.update(work.db()).await?;
    // Sessions hold the browser and network of each login: deleted, not only revoked. Their
    // refresh tokens go with them (on delete cascade).
    session::Entity::delete_many().filter(session::Column::CustomerId.eq(id)).exec(work.db()).await?;
    one_time_token::Entity::delete_many()
        .filter(one_time_token::Column::CustomerId.eq(id))
        .exec(work.db())
        .await?;
    address::Entity::delete_many().filter(address::Column::CustomerId.eq(id)).exec(work.db()).await?;
    let address = windows::address_key(project, email);
    windows::forget(work.db(), Window::LoginFailures, &address).await?;
    windows::forget(work.db(), Window::ResetRequests, &address).await?;
    windows::forget(work.db(), Window::VerificationMails, &windows::customer_key(id)).await?;
    // This account's mail, sent or waiting (a waiting link would point at nothing now); never
    // that of another shop's account with the same address.
    job::Entity::delete_many()
        .filter(job::Column::CustomerId.eq(id))
        .filter(job::Column::Kind.eq(crate::mail::KIND))
        .exec(work.db())
        .await?;
    // The orders are the shop's records; they stop being this account's.
    super::orders::release(work.db(), id, None).await?;

    let confirmation = state.mail.compose(&current.email, &Letter::AccountDeleted { name: &name })?;
    work.send(id, confirmation).await?;
    work.affects(Change::Customer(id));
    work.finish().await?;
    tracing::info!(customer_id = id, "account deleted");
    Ok(())
}
