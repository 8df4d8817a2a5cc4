//! Guest orders: reported by a shop's checkout, linked to the account with the same address in
//! the background, shown to the customer only once the address is proven theirs.

use chrono::{DateTime, SubsecRound as _, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, SqlErr, sea_query::Expr,
};

use super::{Customer, Given, Work, events::Event, validate::Checks};
use crate::{
    entity::{customer, guest_order},
    error::{Code, Error, Field, FieldError, Result},
    state::AppState,
};

/// The longest a guest order may be placed in the future: clocks of checkout and service differ.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);
/// Digits before the decimal point a total may have.
const MAX_WHOLE_DIGITS: usize = 12;
/// Fraction digits a total may have in a currency without minor units (gold, SDRs): ISO 4217
/// gives none, and precious metals are traded to four decimals at most; six leaves room.
const MAX_FRACTION_DIGITS: u16 = 6;
/// Codes ISO 4217 assigns to no money: XXX ("no currency") and XTS (reserved for testing).
const NOT_MONEY: [&str; 2] = ["XXX", "XTS"];
/// The earliest a guest order may have been placed: anything before is a typo or a default
/// value (`0001-01-01`), not an order this shop took.
const EARLIEST_ORDER: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(date) => date,
    None => chrono::NaiveDate::MIN,
};

/// A guest order as the checkout reports it.
#[derive(Debug, Clone, Default)]
pub struct GuestOrderInput {
    /// The shop's order number; unique per shop.
    pub reference: String,
    /// The address the order was placed with.
    pub email: String,
    /// Decimal text with at most the currency's minor units ("19.99").
    pub total: String,
    /// ISO 4217 code.
    pub currency: String,
    /// When it was placed.
    pub placed_at: Given<DateTime<Utc>>,
}

/// An order as the doors show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The shop's order number.
    pub reference: String,
    /// The address it was placed with.
    pub email: String,
    /// Decimal text.
    pub total: String,
    /// ISO 4217 code.
    pub currency: String,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
}

impl From<guest_order::Model> for Order {
    fn from(row: guest_order::Model) -> Self {
        Self {
            reference: row.reference,
            email: row.email,
            total: row.total,
            currency: row.currency,
            placed_at: row.placed_at,
        }
    }
}

/// The currency, upper case, if `raw` is an ISO 4217 code in use.
fn currency(checks: &mut Checks, raw: &str) -> Option<iso_currency::Currency> {
    let code = raw.trim().to_ascii_uppercase();
    if code.is_empty() {
        return checks.refuse_none(FieldError::new(Field::Currency, Code::Required));
    }
    iso_currency::Currency::from_code(&code)
        .filter(|c| c.is_superseded().is_none() && !NOT_MONEY.contains(&c.code()))
        .or_else(|| checks.refuse_none(FieldError::new(Field::Currency, Code::Invalid)))
}

/// `raw` as a non-negative decimal with at most `minor_units` fraction digits (at most
/// [`MAX_FRACTION_DIGITS`] for a currency without minor units): `19.99`, `0`, `5.5`. Longer is
/// refused, never rounded: a total is the shop's record.
fn total(checks: &mut Checks, raw: &str, minor_units: Option<u16>) -> Option<String> {
    let text = raw.trim();
    if text.is_empty() {
        return checks.refuse_none(FieldError::new(Field::Total, Code::Required));
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = !whole.is_empty()
        && whole.len() <= MAX_WHOLE_DIGITS
        && digits(whole)
        && (whole == "0" || !whole.starts_with('0'))
        && digits(fraction)
        && !(text.contains('.') && fraction.is_empty())
        && fraction.len() <= usize::from(minor_units.unwrap_or(MAX_FRACTION_DIGITS));
    if well_formed {
        Some(text.to_owned())
    } else {
        checks.refuse_none(FieldError::new(Field::Total, Code::Invalid))
    }
}

/// Records a guest order for the shop whose API key the checkout presents (required: nobody
/// else may put orders into a customer's history). Idempotent on `reference`: the same order
/// again is answered with what was recorded; the same reference with other details is
/// `CONFLICT`. An account of the shop with that address gets the order at once; otherwise it
/// waits for one.
pub async fn record_guest_order(
    state: &AppState,
    api_key: Option<&str>,
    input: GuestOrderInput,
) -> Result<Order> {
    let project_id = super::project_of_key(state, Some(api_key.ok_or(Error::ApiKeyRequired)?)).await?;
    let now = Utc::now();
    let mut checks = Checks::default();
    let reference = checks.text(Field::Reference, &input.reference);
    let email = checks.email(Field::Email, &input.email);
    let currency = currency(&mut checks, &input.currency);
    let total = total(&mut checks, &input.total, currency.and_then(|c| c.exponent()));
    // Kept to the microsecond, as PostgreSQL stores it: a retry then compares equal to what was
    // recorded on either database, and is the idempotent replay it is meant to be.
    let placed_at = match input.placed_at.value().map(|at| at.trunc_subsecs(6)) {
        Some(at) if at <= now + CLOCK_SKEW && at.date_naive() >= EARLIEST_ORDER => Some(at),
        None if input.placed_at == Given::Missing => {
            checks.refuse_none(FieldError::new(Field::PlacedAt, Code::Required))
        }
        _ => checks.refuse_none(FieldError::new(Field::PlacedAt, Code::Invalid)),
    };
    checks.finish()?;
    let (Some(reference), Some(email), Some(currency), Some(total), Some(placed_at)) =
        (reference, email, currency, total, placed_at)
    else {
        return Err(Error::internal(anyhow::anyhow!("validation passed without values")));
    };
    let order = guest_order::ActiveModel {
        project_id: Set(project_id),
        reference: Set(reference.clone()),
        email: Set(email.address),
        email_normalized: Set(email.normalized.clone()),
        total: Set(total),
        currency: Set(currency.code().to_owned()),
        placed_at: Set(placed_at),
        customer_id: Set(None),
        linked_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    let mut work = Work::begin(state).await?;
    // Placed as a guest after registering: linked now, as the background job would.
    let owner = customer::Entity::find()
        .filter(customer::Column::ProjectId.eq(project_id))
        .filter(customer::Column::EmailNormalized.eq(&email.normalized))
        .filter(customer::Column::Status.ne(customer::STATUS_DELETED))
        .one(work.db())
        .await?;
    let mut order = order;
    if let Some(owner) = &owner {
        order.customer_id = Set(Some(owner.id));
        order.linked_at = Set(Some(now));
    }
    let wanted = order.clone();
    match order.insert(work.db()).await {
        Ok(saved) => {
            if let Some(owner) = owner {
                let linked = Event::GuestOrderLinked { references: vec![saved.reference.clone()] };
                work.publish(owner.project_id, owner.id, linked);
            }
            work.finish().await?;
            Ok(saved.into())
        }
        Err(err) if is_unique_violation(&err) => {
            drop(work);
            let recorded = guest_order::Entity::find()
                .filter(guest_order::Column::ProjectId.eq(project_id))
                .filter(guest_order::Column::Reference.eq(&reference))
                .one(&state.db)
                .await?
                .ok_or_else(|| Error::internal(anyhow::anyhow!("a conflicting guest order vanished")))?;
            let same = recorded.email_normalized == *wanted.email_normalized.as_ref()
                && recorded.total == *wanted.total.as_ref()
                && recorded.currency == *wanted.currency.as_ref()
                && recorded.placed_at == *wanted.placed_at.as_ref();
            if same { Ok(recorded.into()) } else { Err(Error::field(Field::Reference, Code::Conflict)) }
        }
        Err(err) => Err(err.into()),
    }
}

fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Links the guest orders of `customer_id`'s shop and current address that no account has yet;
/// how many. Nothing for a deleted account.
pub(super) async fn link(state: &AppState, customer_id: i64) -> Result<u64> {
    let mut work = Work::begin(state).await?;
    let Some(owner) = customer::Entity::find_by_id(customer_id)
        .filter(customer::Column::Status.ne(customer::STATUS_DELETED))
        .one(work.db())
        .await?
    else {
        return Ok(0);
    };
    let linked = guest_order::Entity::update_many()
        .col_expr(guest_order::Column::CustomerId, Expr::value(owner.id))
        .col_expr(guest_order::Column::LinkedAt, Expr::value(Utc::now()))
        .filter(guest_order::Column::ProjectId.eq(owner.project_id))
        .filter(guest_order::Column::EmailNormalized.eq(&owner.email_normalized))
        .filter(guest_order::Column::CustomerId.is_null())
        .exec_with_returning(work.db())
        .await?;
    let count = linked.len() as u64;
    let references: Vec<String> = linked.into_iter().map(|order| order.reference).collect();
    for chunk in references.chunks(REFERENCES_PER_EVENT) {
        work.publish(owner.project_id, owner.id, Event::GuestOrderLinked { references: chunk.to_vec() });
    }
    work.finish().await?;
    Ok(count)
}

/// The most order numbers one `guest_order.linked` event names; more make several events, so
/// that no receiver is handed an unbounded body.
pub const REFERENCES_PER_EVENT: usize = 100;

/// Unlinks the orders of `customer_id`: all of them (the account is being deleted), or those
/// placed with `email` (an address the account leaves without ever having proven it).
pub(super) async fn release<C: ConnectionTrait>(
    conn: &C,
    customer_id: i64,
    email: Option<&str>,
) -> Result<()> {
    let mut update = guest_order::Entity::update_many()
        .col_expr(guest_order::Column::CustomerId, Expr::value(Option::<i64>::None))
        .col_expr(guest_order::Column::LinkedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(guest_order::Column::CustomerId.eq(customer_id));
    if let Some(email) = email {
        update = update.filter(guest_order::Column::EmailNormalized.eq(email));
    }
    update.exec(conn).await?;
    Ok(())
}

/// The customer's newest [`MAX_LISTED`](super::sessions::MAX_LISTED) orders, newest first,
/// once their address is verified. Orders are linked by
/// address before it is proven, so until then none is shown: otherwise anyone could register a
/// stranger's address and read the stranger's order history. (Leaving an unproven address
/// unlinks its orders, so proving another one later shows none of them either.)
pub async fn orders(state: &AppState, customer: &Customer) -> Result<Vec<Order>> {
    if customer.email_verified_at.is_none() {
        return Ok(Vec::new());
    }
    let rows = guest_order::Entity::find()
        .filter(guest_order::Column::CustomerId.eq(customer.id))
        .order_by_desc(guest_order::Column::PlacedAt)
        .order_by_desc(guest_order::Column::Id)
        .limit(super::sessions::MAX_LISTED)
        .all(&state.db)
        .await?;
    Ok(rows.into_iter().map(Order::from).collect())
}
