//! Registration: validate, hash outside any transaction, insert customer and session together.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, Set, SqlErr};

use super::{DEFAULT_GROUP_CODE, STATUS_ACTIVE, SignedIn, validate::Checks};
use crate::{
    auth::{Password, session},
    entity::{customer, customer_group},
    error::{Code, Error, Field, Result},
    state::AppState,
};

/// What a new customer gives.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The shop the account belongs to.
    pub project_id: i32,
    /// Email address.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Password.
    pub password: Password,
    /// The password again.
    pub password_confirmation: Password,
    /// Phone number.
    pub phone: Option<String>,
    /// Gender, in any letter case (`male`, `FEMALE`, `Other`).
    pub gender: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
}

/// Creates the account, opens its first session and returns a token: the customer is logged in.
pub async fn register(state: &AppState, input: Registration) -> Result<SignedIn> {
    let now = Utc::now();
    let mut checks = Checks::default();
    let email = checks.email(Field::Email, &input.email);
    let first_name = checks.text(Field::FirstName, &input.first_name);
    let last_name = checks.text(Field::LastName, &input.last_name);
    checks.new_password(
        (Field::Password, Some(&input.password)),
        (Field::PasswordConfirmation, Some(&input.password_confirmation)),
        state.settings.password_min_length,
    );
    let phone = checks.optional_text(Field::Phone, input.phone.as_deref());
    let gender = checks.gender(input.gender.as_deref());
    let date_of_birth = checks.date_of_birth(input.date_of_birth.as_deref(), now.date_naive());
    checks.finish()?;
    let (Some(email), Some(first_name), Some(last_name), Some(phone), Some(gender), Some(date_of_birth)) =
        (email, first_name, last_name, phone, gender, date_of_birth)
    else {
        return Err(Error::internal(anyhow::anyhow!("validation passed without values")));
    };

    // Hash before the transaction opens: a pooled connection is never held while argon2 runs.
    let password_hash = state.hasher.hash(&input.password).await?;

    let txn = crate::db::begin_write(&state.db).await?;
    let group = customer_group::Entity::find()
        .filter(customer_group::Column::Code.eq(DEFAULT_GROUP_CODE))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            Error::internal(anyhow::anyhow!("customer group `{DEFAULT_GROUP_CODE}` is missing"))
        })?;
    let customer = customer::ActiveModel {
        project_id: Set(input.project_id),
        email: Set(email.address),
        email_normalized: Set(email.normalized),
        password_hash: Set(password_hash),
        first_name: Set(first_name),
        last_name: Set(last_name),
        gender: Set(gender.map(|g| g.as_str().to_owned())),
        date_of_birth: Set(date_of_birth),
        phone: Set(phone),
        status: Set(STATUS_ACTIVE),
        customer_group_id: Set(group.id),
        email_verified_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(email_taken_or_internal)?;
    let session = session::open(&txn, customer.id, now, state.settings.session_ttl()).await?;
    super::verification::send_link(&txn, state, &customer, now).await?;
    txn.commit().await?;
    state.mail.wake();

    let token = state.tokens.issue(customer.id, session.id, now)?;
    Ok(SignedIn { customer, token })
}

/// The unique index on (project, normalized email) decides races: its violation is `EMAIL_TAKEN`.
pub(super) fn email_taken_or_internal(err: DbErr) -> Error {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => Error::field(Field::Email, Code::EmailTaken),
        _ => err.into(),
    }
}
