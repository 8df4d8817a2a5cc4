//! Reading and changing one's own account.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};

use super::{
    Authenticated, Customer, Origin, Work, credentials,
    events::Event,
    fields::{self, Attribute, Entered, Purpose, Raw},
    password_policy,
    register::email_taken_or_internal,
    validate::Checks,
};
use crate::{
    auth::{Password, cache::Change, one_time, session},
    error::{Code, Error, Field, FieldError, Result},
    mail::Letter,
    state::AppState,
};

/// Changes to a profile: only what is given changes.
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    /// New attributes (names, phone …), or [`Raw::Clear`] to clear an optional one.
    pub attributes: Entered,
    /// New email: needs `current_password`.
    pub email: Option<String>,
    /// Proof of identity for email and password changes.
    pub current_password: Option<Password>,
    /// New password: needs `current_password`.
    pub new_password: Option<Password>,
    /// The new password again.
    pub new_password_confirmation: Option<Password>,
}

/// The customer with `id`, if it is the caller: nobody reads an account that is not theirs.
pub fn customer_by_id(caller: &Authenticated, id: i64) -> Result<Customer> {
    if id == caller.customer.id { Ok(caller.customer.clone()) } else { Err(Error::Forbidden) }
}

/// Applies `changes` to the caller's own account; a password change ends every other session.
pub async fn update_profile(
    state: &AppState,
    origin: &Origin,
    caller: &Authenticated,
    changes: ProfileChanges,
) -> Result<Customer> {
    let now = Utc::now();
    let current = &super::own_row(state, caller).await?;
    let mut checks = Checks::default();
    let values =
        fields::judge(&mut checks, &changes.attributes, &Attribute::ALL, Purpose::Change, now.date_naive());
    let email = changes.email.as_deref().map(|v| checks.email(Field::Email, v));
    let new_password = changes.new_password.as_ref().or(changes.new_password_confirmation.as_ref());
    if new_password.is_some() {
        checks.new_password(
            (Field::NewPassword, changes.new_password.as_ref()),
            (Field::NewPasswordConfirmation, changes.new_password_confirmation.as_ref()),
            state.settings.auth.password_min_length,
        );
    }
    if let Some(new_password) = &changes.new_password {
        let changed_name = |attribute, now: &str| match changes.attributes.get(&attribute) {
            Some(Raw::Text(text)) => text.clone(),
            _ => now.to_owned(),
        };
        let (first, last) = (
            changed_name(Attribute::FirstName, &current.first_name),
            changed_name(Attribute::LastName, &current.last_name),
        );
        let guessable = password_policy::Guessable {
            emails: vec![&current.email, changes.email.as_deref().unwrap_or_default()],
            names: vec![(&current.first_name, &current.last_name), (&first, &last)],
        };
        if let Some(weak) =
            password_policy::weakness(state, Field::NewPassword, new_password, &guessable).await?
        {
            checks.refuse(weak);
        }
    }
    let email = email.flatten().filter(|e| e.address != current.email);
    let sensitive = email.is_some() || new_password.is_some();
    if sensitive && changes.current_password.is_none() {
        checks.refuse(FieldError::new(Field::CurrentPassword, Code::Required));
    }
    checks.finish()?;

    // Both argon2 runs happen before the transaction opens. The current password is checked
    // like a login: the same per-request, per-IP and per-email limits.
    if let (true, Some(proof)) = (sensitive, &changes.current_password) {
        credentials::admit(state, origin).await?;
        let (project, email) = (current.project_id, &current.email_normalized);
        if !credentials::check_password(state, project, email, proof, Some(&current.password_hash)).await? {
            return Err(Error::field(Field::CurrentPassword, Code::InvalidCredentials));
        }
    }
    let password_hash = match &changes.new_password {
        Some(password) => Some(state.hasher.hash(password).await?),
        None => None,
    };

    let email_changed = email.as_ref().is_some_and(|e| e.normalized != current.email_normalized);
    let nothing_changes = values.is_empty() && email.is_none() && password_hash.is_none();
    if nothing_changes {
        return Ok(current.clone().into());
    }
    let mut changed_fields = fields::changed(current, &values);
    if email.as_ref().is_some_and(|e| e.address != current.email) {
        changed_fields.push("email");
    }
    if password_hash.is_some() {
        changed_fields.push("password");
    }
    let mut row = current.clone().into_active_model();
    fields::apply(&mut row, &values);
    if let Some(email) = email {
        // A new address is unproven until verified; a change of letter case is the same address.
        if email.normalized != current.email_normalized {
            row.email_verified_at = Set(None);
        }
        row.email = Set(email.address);
        row.email_normalized = Set(email.normalized);
    }
    if let Some(hash) = &password_hash {
        row.password_hash = Set(hash.clone());
        // Logins that checked the old password must not open a session after this commits.
        row.security_stamp = Set(session::new_stamp());
    }
    row.updated_at = Set(now);

    let mut work = Work::begin(state).await?;
    let updated = row.update(work.db()).await.map_err(email_taken_or_internal)?;
    if email_changed || password_hash.is_some() {
        // Reset and verification links mailed before the change must not outlive it.
        one_time::void_all(work.db(), current.id, now).await?;
    }
    if password_hash.is_some() {
        session::revoke_all(work.db(), current.id, Some(caller.session_id), now).await?;
    }
    if email_changed {
        super::verification::send_first_link(&mut work, &updated, now).await?;
        // Orders linked by an address the account never proved are not its to keep; those of
        // the new address become the account's (and show once that address is proven).
        if current.email_verified_at.is_none() {
            super::orders::release(work.db(), current.id, Some(&current.email_normalized)).await?;
        }
        super::LinkGuestOrders::enqueue(&mut work, updated.id).await?;
        let name = updated.full_name();
        let notice = state
            .mail
            .compose(&current.email, &Letter::EmailChanged { name: &name, new_email: &updated.email })?;
        work.send(current.id, notice).await?;
        let previous_email = current.email.clone();
        work.publish(
            updated.project_id,
            updated.id,
            Event::CustomerEmailChanged { previous_email, email: updated.email.clone() },
        );
    }
    if !changed_fields.is_empty() {
        work.publish(updated.project_id, updated.id, Event::CustomerUpdated { changed_fields });
    }
    work.affects(Change::Customer(current.id));
    work.finish().await?;
    Ok(updated.into())
}
