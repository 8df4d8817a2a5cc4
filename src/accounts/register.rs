//! Registration: validate, hash outside any transaction, insert customer and session together.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, Set, SqlErr};

use super::{
    Address, DEFAULT_GROUP_CODE, Gender, Given, Origin, STATUS_ACTIVE, SignedIn, Work, authorize_project,
    credentials, password_policy, project_exists, validate::Checks,
};
use crate::{
    auth::Password,
    entity::{customer, customer_group},
    error::{Code, Error, Field, FieldError, Result},
    state::AppState,
};

/// What a new customer gives.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The shop the account belongs to.
    pub project_id: Given<i32>,
    /// Email address.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Password.
    pub password: Password,
    /// The password again; `None` where the API asks for no confirmation (the webshop's).
    pub password_confirmation: Option<Password>,
    /// Phone number.
    pub phone: Option<String>,
    /// Gender.
    pub gender: Given<Gender>,
    /// Date of birth.
    pub date_of_birth: Given<chrono::NaiveDate>,
    /// The webshop API's extra fields.
    pub webshop: Option<WebshopDetails>,
}

impl Registration {
    /// An empty registration for `project_id`, to fill in with struct update syntax.
    pub fn new(project_id: i32) -> Self {
        Self {
            project_id: Given::Value(project_id),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            password: Password::new(String::new()),
            password_confirmation: None,
            phone: None,
            gender: Given::Missing,
            date_of_birth: Given::Missing,
            webshop: None,
        }
    }
}

/// The webshop API's account details.
#[derive(Debug, Clone, Default)]
pub struct WebshopDetails {
    /// The storefront's project API key, as presented (`Authorization: Bearer`).
    pub api_key: Option<String>,
    /// `private` or `business`.
    pub account_type: Option<String>,
    /// Company name.
    pub company: Option<String>,
    /// Tax (VAT) number.
    pub tax_number: Option<String>,
    /// Consent to cart reminder emails.
    pub cart_reminder_consent: Given<bool>,
    /// The default billing address.
    pub default_billing: Option<Address>,
}

/// Creates the account, opens its first session and returns a token: the customer is logged in.
pub async fn register(state: &AppState, origin: &Origin, input: Registration) -> Result<SignedIn> {
    credentials::admit(state, origin).await?;
    let now = Utc::now();
    let mut checks = Checks::default();
    let project_id = match input.project_id {
        Given::Value(id) if project_exists(&state.db, id).await? => Some(id),
        Given::Missing => checks.refuse_none(FieldError::new(Field::ProjectId, Code::Required)),
        _ => checks.refuse_none(FieldError::new(Field::ProjectId, Code::Invalid)),
    };
    // A storefront's call names its shop with the shop's API key; a wrong key is refused before
    // anything about the input is said.
    if let (Some(project_id), Some(webshop)) = (project_id, &input.webshop) {
        authorize_project(state, project_id, webshop.api_key.as_deref()).await?;
    }
    let email = checks.email(Field::Email, &input.email);
    // The webshop document makes names optional; every other door requires them.
    let names_required = input.webshop.is_none();
    let name = |checks: &mut Checks, field, value: &str| {
        if names_required {
            checks.text(field, value)
        } else {
            checks.optional_text(field, Some(value)).map(Option::unwrap_or_default)
        }
    };
    let first_name = name(&mut checks, Field::FirstName, &input.first_name);
    let last_name = name(&mut checks, Field::LastName, &input.last_name);
    let min_length = state.settings.password_min_length;
    match &input.password_confirmation {
        Some(confirmation) => checks.new_password(
            (Field::Password, Some(&input.password)),
            (Field::PasswordConfirmation, Some(confirmation)),
            min_length,
        ),
        None => {
            checks.password(Field::Password, Some(&input.password), min_length);
        }
    }
    let guessable = password_policy::Guessable {
        emails: vec![&input.email],
        names: vec![(&input.first_name, &input.last_name)],
    };
    if let Some(weak) = password_policy::weakness(state, Field::Password, &input.password, &guessable).await?
    {
        checks.refuse(weak);
    }
    let phone = checks.optional_text(Field::Phone, input.phone.as_deref());
    let gender = checks.gender(input.gender);
    let date_of_birth = checks.date_of_birth(input.date_of_birth, now.date_naive());
    let webshop = input.webshop.as_ref().map(|details| checks.webshop(details));
    checks.finish()?;
    let webshop = webshop.flatten().unwrap_or_default();
    let (
        Some(project_id),
        Some(email),
        Some(first_name),
        Some(last_name),
        Some(phone),
        Some(gender),
        Some(date_of_birth),
    ) = (project_id, email, first_name, last_name, phone, gender, date_of_birth)
    else {
        return Err(Error::internal(anyhow::anyhow!("validation passed without values")));
    };

    // Hash before the transaction opens: a pooled connection is never held while argon2 runs.
    let password_hash = state.hasher.hash(&input.password).await?;

    let mut work = Work::begin(state).await?;
    let group = customer_group::Entity::find()
        .filter(customer_group::Column::Code.eq(DEFAULT_GROUP_CODE))
        .one(work.db())
        .await?
        .ok_or_else(|| {
            Error::internal(anyhow::anyhow!("customer group `{DEFAULT_GROUP_CODE}` is missing"))
        })?;
    let customer = customer::ActiveModel {
        project_id: Set(project_id),
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
        account_type: Set(webshop.account_type),
        company: Set(webshop.company),
        tax_number: Set(webshop.tax_number),
        cart_reminder_consent: Set(webshop.cart_reminder_consent.value()),
        security_stamp: Set(crate::auth::session::new_stamp()),
        ..Default::default()
    }
    .insert(work.db())
    .await
    .map_err(email_taken_or_internal)?;
    if let Some(billing) = webshop.default_billing {
        let defaults = super::addresses::Defaults { billing: true, shipping: false };
        super::addresses::insert(work.db(), customer.id, billing, defaults, now).await?;
    }
    super::verification::send_first_link(&mut work, &customer, now).await?;
    // The webshop document's promise: past guest orders with this address are linked in the
    // background (in this transaction's job, so a crash before it runs loses nothing).
    work.enqueue(super::LinkGuestOrders::KIND, Some(customer.id), &serde_json::json!({})).await?;
    let signed_in = super::sign_in(work.db(), state, origin, customer, now).await?;
    work.finish().await?;
    Ok(signed_in)
}

/// The unique index on (project, normalized email) decides races: its violation is `EMAIL_TAKEN`.
pub(super) fn email_taken_or_internal(err: DbErr) -> Error {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => Error::field(Field::Email, Code::EmailTaken),
        _ => err.into(),
    }
}
