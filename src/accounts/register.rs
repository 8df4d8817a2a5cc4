//! Registration: validate, hash outside any transaction, insert customer and session together.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, Set, SqlErr};

use super::{
    Address, DEFAULT_GROUP_CODE, Given, Origin, STATUS_ACTIVE, SignedIn, Work, authorize_project,
    credentials,
    events::Event,
    fields::{self, Attribute, Entered, Purpose, Raw},
    password_policy, project_exists,
    validate::Checks,
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
    /// Password.
    pub password: Password,
    /// The password again; `None` where the API asks for no confirmation (the webshop's).
    pub password_confirmation: Option<Password>,
    /// The customer's attributes as the door received them (names, phone …).
    pub attributes: Entered,
    /// What only the webshop register path takes.
    pub webshop: Option<WebshopDetails>,
}

impl Registration {
    /// An empty registration for `project_id`, to fill in with struct update syntax.
    pub fn new(project_id: i32) -> Self {
        Self {
            project_id: Given::Value(project_id),
            email: String::new(),
            password: Password::new(String::new()),
            password_confirmation: None,
            attributes: Entered::new(),
            webshop: None,
        }
    }
}

/// What only the webshop register path takes.
#[derive(Debug, Clone, Default)]
pub struct WebshopDetails {
    /// The storefront's project API key, as presented (`Authorization: Bearer`).
    pub api_key: Option<String>,
    /// The default billing address.
    pub default_billing: Option<Address>,
}

/// The attributes judged before the password, after it, and after the billing address: the
/// order a request's mistakes have always been reported in.
const NAMES: [Attribute; 2] = [Attribute::FirstName, Attribute::LastName];
const DETAILS: [Attribute; 6] = [
    Attribute::Phone,
    Attribute::Gender,
    Attribute::DateOfBirth,
    Attribute::AccountType,
    Attribute::Company,
    Attribute::TaxNumber,
];
const CONSENTS: [Attribute; 1] = [Attribute::CartReminderConsent];

/// Creates the account, opens its first session and returns a token: the customer is logged in.
pub async fn register(state: &AppState, origin: &Origin, input: Registration) -> Result<SignedIn> {
    credentials::admit(state, origin).await?;
    let now = Utc::now();
    let today = now.date_naive();
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
    let purpose = Purpose::Registration { names_optional: input.webshop.is_some() };
    let mut values = fields::judge(&mut checks, &input.attributes, &NAMES, purpose, today);
    let min_length = state.settings.auth.password_min_length;
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
    let entered_name = |attribute| match input.attributes.get(&attribute) {
        Some(Raw::Text(text)) => text.as_str(),
        _ => "",
    };
    let guessable = password_policy::Guessable {
        emails: vec![&input.email],
        names: vec![(entered_name(Attribute::FirstName), entered_name(Attribute::LastName))],
    };
    if let Some(weak) = password_policy::weakness(state, Field::Password, &input.password, &guessable).await?
    {
        checks.refuse(weak);
    }
    values.extend(fields::judge(&mut checks, &input.attributes, &DETAILS, purpose, today));
    let billing = match input.webshop.as_ref().and_then(|w| w.default_billing.as_ref()) {
        Some(address) => checks.billing_address(address).map(Some),
        None => Some(None),
    };
    values.extend(fields::judge(&mut checks, &input.attributes, &CONSENTS, purpose, today));
    checks.finish()?;
    let (Some(project_id), Some(email), Some(billing)) = (project_id, email, billing) else {
        return Err(Error::internal(anyhow::anyhow!("validation passed without values")));
    };
    // Every attribute the registration left out is stored as none.
    for attribute in Attribute::ALL {
        values.entry(attribute).or_insert(None);
    }

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
    let mut row = customer::ActiveModel {
        project_id: Set(project_id),
        email: Set(email.address),
        email_normalized: Set(email.normalized),
        password_hash: Set(password_hash),
        status: Set(STATUS_ACTIVE),
        customer_group_id: Set(group.id),
        email_verified_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        security_stamp: Set(crate::auth::session::new_stamp()),
        ..Default::default()
    };
    fields::apply(&mut row, &values);
    let customer = row.insert(work.db()).await.map_err(email_taken_or_internal)?;
    let created = Event::CustomerCreated {
        email: customer.email.clone(),
        first_name: customer.first_name.clone(),
        last_name: customer.last_name.clone(),
    };
    work.publish(customer.project_id, customer.id, created);
    if let Some(billing) = billing {
        let defaults = super::addresses::Defaults { billing: true, shipping: false };
        let address = super::addresses::insert(work.db(), customer.id, billing, defaults, now).await?;
        work.publish(customer.project_id, customer.id, Event::AddressCreated { address_id: address.id });
    }
    super::verification::send_first_link(&mut work, &customer, now).await?;
    // The webshop document's promise: past guest orders with this address are linked in the
    // background (in this transaction's job, so a crash before it runs loses nothing).
    super::LinkGuestOrders::enqueue(&mut work, customer.id).await?;
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
