//! The caller's address book: at most [`MAX_ADDRESSES`] addresses, one default billing and one
//! default shipping address among them.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set, sea_query::Expr,
};

use super::{Authenticated, Work, events::Event, validate::Checks};
use crate::{
    entity::address,
    error::{Code, Error, Field, FieldError, Result},
    state::AppState,
};

/// How many addresses one customer may keep.
pub const MAX_ADDRESSES: usize = 50;

/// A postal address as given; which fields are required depends on where it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// House number.
    pub number: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// City.
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// The two kinds of default address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// Where invoices go.
    Billing,
    /// Where parcels go.
    Shipping,
}

/// Which defaults an address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Defaults {
    /// The default billing address.
    pub billing: bool,
    /// The default shipping address.
    pub shipping: bool,
}

/// A saved address as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedAddress {
    /// Address id.
    pub id: i64,
    /// The fields, as validated.
    pub fields: Address,
    /// Which defaults it is.
    pub defaults: Defaults,
    /// When it was saved first.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<address::Model> for SavedAddress {
    fn from(row: address::Model) -> Self {
        Self {
            id: row.id,
            fields: Address {
                first_name: row.first_name,
                last_name: row.last_name,
                company: row.company,
                street: row.street,
                number: row.number,
                postcode: row.postcode,
                city: row.city,
                country: row.country,
                phone: row.phone,
            },
            defaults: Defaults { billing: row.default_billing, shipping: row.default_shipping },
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Saves a validated `fields` for `customer_id` inside the caller's transaction.
pub(super) async fn insert<C: ConnectionTrait>(
    conn: &C,
    customer_id: i64,
    fields: Address,
    defaults: Defaults,
    now: DateTime<Utc>,
) -> Result<address::Model> {
    Ok(address::ActiveModel {
        customer_id: Set(customer_id),
        first_name: Set(fields.first_name),
        last_name: Set(fields.last_name),
        company: Set(fields.company),
        street: Set(fields.street),
        number: Set(fields.number),
        postcode: Set(fields.postcode),
        city: Set(fields.city),
        country: Set(fields.country),
        phone: Set(fields.phone),
        default_billing: Set(defaults.billing),
        default_shipping: Set(defaults.shipping),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

fn validated(fields: &Address) -> Result<Address> {
    let mut checks = Checks::default();
    let valid = checks.book_address(fields);
    checks.finish()?;
    valid.ok_or_else(|| Error::internal(anyhow::anyhow!("validation passed without values")))
}

fn not_found() -> Error {
    Error::field(Field::Id, Code::NotFound)
}

/// An address id as a door received it; text that is no id names nothing of the caller's.
fn parse_id(raw: &str) -> Result<i64> {
    raw.trim().parse().map_err(|_| not_found())
}

/// The caller's addresses, oldest first.
pub async fn addresses(state: &AppState, customer_id: i64) -> Result<Vec<SavedAddress>> {
    let rows = address::Entity::find()
        .filter(address::Column::CustomerId.eq(customer_id))
        .order_by_asc(address::Column::Id)
        .all(&state.db)
        .await?;
    Ok(rows.into_iter().map(SavedAddress::from).collect())
}

/// Adds an address to the caller's book. The first one becomes the default for both kinds.
pub async fn create_address(
    state: &AppState,
    caller: &Authenticated,
    fields: Address,
) -> Result<SavedAddress> {
    let fields = validated(&fields)?;
    let customer_id = caller.customer.id;
    let now = Utc::now();
    // Counting and inserting under one lock: two racing requests cannot both be the 50th.
    let mut work = Work::begin_locked(state, &format!("addresses:{customer_id}")).await?;
    let count =
        address::Entity::find().filter(address::Column::CustomerId.eq(customer_id)).count(work.db()).await?;
    if count >= MAX_ADDRESSES as u64 {
        return Err(Error::Invalid(vec![FieldError {
            limit: Some(MAX_ADDRESSES),
            ..FieldError::general(Code::TooMany)
        }]));
    }
    let first = count == 0;
    let row =
        insert(work.db(), customer_id, fields, Defaults { billing: first, shipping: first }, now).await?;
    work.publish(caller.customer.project_id, customer_id, Event::AddressCreated { address_id: row.id });
    work.finish().await?;
    Ok(row.into())
}

/// Replaces the fields of one of the caller's addresses; its defaults stay as they are.
pub async fn update_address(
    state: &AppState,
    caller: &Authenticated,
    id: &str,
    fields: Address,
) -> Result<SavedAddress> {
    let id = parse_id(id)?;
    let fields = validated(&fields)?;
    let mut work = Work::begin(state).await?;
    let row = own(work.db(), caller, id).await?;
    let mut row = row.into_active_model();
    row.first_name = Set(fields.first_name);
    row.last_name = Set(fields.last_name);
    row.company = Set(fields.company);
    row.street = Set(fields.street);
    row.number = Set(fields.number);
    row.postcode = Set(fields.postcode);
    row.city = Set(fields.city);
    row.country = Set(fields.country);
    row.phone = Set(fields.phone);
    row.updated_at = Set(Utc::now());
    let saved = row.update(work.db()).await?;
    work.publish(
        caller.customer.project_id,
        caller.customer.id,
        Event::AddressUpdated { address_id: saved.id },
    );
    work.finish().await?;
    Ok(saved.into())
}

/// Deletes one of the caller's addresses (a default one too: that default is then unset).
pub async fn delete_address(state: &AppState, caller: &Authenticated, id: &str) -> Result<()> {
    let id = parse_id(id)?;
    let mut work = Work::begin(state).await?;
    let deleted = address::Entity::delete_many()
        .filter(address::Column::Id.eq(id))
        .filter(address::Column::CustomerId.eq(caller.customer.id))
        .exec(work.db())
        .await?;
    if deleted.rows_affected != 1 {
        return Err(not_found());
    }
    work.publish(caller.customer.project_id, caller.customer.id, Event::AddressDeleted { address_id: id });
    work.finish().await
}

/// Makes one of the caller's addresses the default of `kind`, in place of the previous one.
pub async fn set_default_address(
    state: &AppState,
    caller: &Authenticated,
    id: &str,
    kind: AddressKind,
) -> Result<SavedAddress> {
    let id = parse_id(id)?;
    let customer_id = caller.customer.id;
    let column = match kind {
        AddressKind::Billing => address::Column::DefaultBilling,
        AddressKind::Shipping => address::Column::DefaultShipping,
    };
    let mut work = Work::begin_locked(state, &format!("addresses:{customer_id}")).await?;
    let Some(before) = address::Entity::find_by_id(id)
        .filter(address::Column::CustomerId.eq(customer_id))
        .one(work.db())
        .await?
    else {
        return Err(not_found());
    };
    let row_was_default = match kind {
        AddressKind::Billing => before.default_billing,
        AddressKind::Shipping => before.default_shipping,
    };
    // Unset first: the unique index allows one default per kind at any moment.
    let previous = address::Entity::update_many()
        .col_expr(column, Expr::value(false))
        .filter(address::Column::CustomerId.eq(customer_id))
        .filter(column.eq(true))
        .exec_with_returning(work.db())
        .await?;
    address::Entity::update_many()
        .col_expr(column, Expr::value(true))
        .col_expr(address::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(address::Column::Id.eq(id))
        .exec(work.db())
        .await?;
    let row = address::Entity::find_by_id(id).one(work.db()).await?.ok_or_else(not_found)?;
    let project_id = caller.customer.project_id;
    for other in previous.into_iter().filter(|other| other.id != id) {
        work.publish(project_id, customer_id, Event::AddressUpdated { address_id: other.id });
    }
    if !row_was_default {
        work.publish(project_id, customer_id, Event::AddressUpdated { address_id: id });
    }
    work.finish().await?;
    Ok(row.into())
}

async fn own<C: ConnectionTrait>(conn: &C, caller: &Authenticated, id: i64) -> Result<address::Model> {
    address::Entity::find_by_id(id)
        .filter(address::Column::CustomerId.eq(caller.customer.id))
        .one(conn)
        .await?
        .ok_or_else(not_found)
}
