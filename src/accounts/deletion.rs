//! Deleting one's own account: every session and token ends, personal data is erased, the row
//! stays anonymised for what refers to it, and the old address gets a confirmation.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, IntoActiveModel, Set,
    sea_query::{Alias, Expr, ExprTrait as _, Query},
};

use super::{
    Authenticated, Origin, Work, credentials,
    events::Event,
    windows::{self, Window},
};
use crate::{
    auth::{Password, cache::Change, secret},
    entity::customer,
    error::{Code, Error, Field, Result},
    mail::Letter,
    state::AppState,
};

/// What deleting an account does with a table holding something of its customer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// The rows go (by the customer column, or with the rows they belong to).
    Deleted,
    /// The row stays, with everything personal erased (the account itself).
    Anonymised,
    /// The rows stay, no longer the account's (the shop's own records).
    Unlinked,
}

/// A table holding something of a customer's, and what deletion and the export do with it.
#[derive(Debug, Clone, Copy)]
pub struct PersonalData {
    /// The table.
    pub table: &'static str,
    /// The column naming the customer, where the table has one.
    pub column: Option<&'static str>,
    /// What deleting the account does with its rows.
    pub on_delete: OnDelete,
    /// The key of the customer's data export that shows them, if one does (secrets are
    /// described, never exported).
    pub exported: Option<&'static str>,
}

/// Every table that holds something of a customer's. Deletion deletes by this list, and a test
/// fails when a table refers to a customer and is not in it.
pub const PERSONAL_DATA: [PersonalData; 9] = [
    PersonalData {
        table: "customers",
        column: Some("id"),
        on_delete: OnDelete::Anonymised,
        exported: Some("account"),
    },
    // Sessions hold the browser and network of each login: deleted, not only revoked.
    PersonalData {
        table: "sessions",
        column: Some("customer_id"),
        on_delete: OnDelete::Deleted,
        exported: Some("sessions"),
    },
    // With their session (on delete cascade); only hashes, so only described.
    PersonalData { table: "refresh_tokens", column: None, on_delete: OnDelete::Deleted, exported: None },
    PersonalData {
        table: "one_time_tokens",
        column: Some("customer_id"),
        on_delete: OnDelete::Deleted,
        exported: Some("emailed_links"),
    },
    PersonalData {
        table: "addresses",
        column: Some("customer_id"),
        on_delete: OnDelete::Deleted,
        exported: Some("addresses"),
    },
    // The orders are the shop's records; they stop being this account's.
    PersonalData {
        table: "guest_orders",
        column: Some("customer_id"),
        on_delete: OnDelete::Unlinked,
        exported: Some("orders"),
    },
    // The account's own jobs: its mail (a waiting link would point at nothing now) and its
    // guest-order linking. Events for the shop's other systems name no customer row.
    PersonalData {
        table: "jobs",
        column: Some("customer_id"),
        on_delete: OnDelete::Deleted,
        exported: Some("emails"),
    },
    // Events for the shop's other systems carry names and addresses: those not yet delivered
    // are not sent (the account's `customer.deleted`, which names nothing, is).
    PersonalData {
        table: "webhook_events",
        column: Some("customer_id"),
        on_delete: OnDelete::Deleted,
        exported: None,
    },
    // Keyed by the shop and address, or the customer: forgotten by key.
    PersonalData {
        table: "event_windows",
        column: None,
        on_delete: OnDelete::Deleted,
        exported: Some("login_failures"),
    },
];

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
    super::fields::erase(&mut row);
    row.email_verified_at = Set(None);
    row.status = Set(customer::STATUS_DELETED);
    row.security_stamp = Set(crate::auth::session::new_stamp());
    row.deleted_at = Set(Some(now));
    row.updated_at = Set(now);
    row.update(work.db()).await?;
    // Every table declared as deleted with the account, by its customer column.
    for table in PERSONAL_DATA {
        if let (OnDelete::Deleted, Some(column)) = (table.on_delete, table.column) {
            let delete = Query::delete()
                .from_table(Alias::new(table.table))
                .and_where(Expr::col(Alias::new(column)).eq(id))
                .to_owned();
            work.db().execute(&delete).await?;
        }
    }
    let address = windows::address_key(project, email);
    windows::forget(work.db(), Window::LoginFailures, &address).await?;
    windows::forget(work.db(), Window::ResetRequests, &address).await?;
    windows::forget(work.db(), Window::VerificationMails, &windows::customer_key(id)).await?;
    super::orders::release(work.db(), id, None).await?;

    let confirmation = state.mail.compose(&current.email, &Letter::AccountDeleted { name: &name })?;
    work.send(id, confirmation).await?;
    work.affects(Change::Customer(id));
    work.publish(project, id, Event::CustomerDeleted);
    work.finish().await?;
    tracing::info!(customer_id = id, "account deleted");
    Ok(())
}
