//! Guest orders on GraphQL: `recordGuestOrder` for a shop's checkout, `Customer.orders`.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    context::{Storefront, payload, state},
    types::{UserError, payload},
};
use crate::accounts::{self, Given};

/// An order the customer placed as a guest, linked to the account by its (verified) address.
pub struct Order(pub accounts::Order);

#[Object]
impl Order {
    /// The shop's order number.
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    /// The total, as exact decimal text (`"19.99"`).
    async fn total(&self) -> &str {
        &self.0.total
    }
    /// ISO 4217 currency code.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// When it was placed.
    async fn placed_at(&self) -> DateTime<Utc> {
        self.0.placed_at
    }
}

/// A guest order as the shop's checkout reports it.
#[derive(InputObject)]
pub struct GuestOrderInput {
    /// The shop's order number; recording the same order twice is harmless.
    pub reference: String,
    /// The address the order was placed with.
    pub email: String,
    /// Exact decimal text with at most the currency's minor units (`"19.99"`, `"1500"` for JPY).
    pub total: String,
    /// ISO 4217 code (`EUR`).
    pub currency: String,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
}

/// Result of `recordGuestOrder`.
#[derive(SimpleObject, Default)]
pub struct RecordGuestOrderPayload {
    /// The order as recorded (the first time, for a repeated `reference`).
    pub order: Option<Order>,
    /// Why it was not recorded (a field, or `CONFLICT`: the reference has other details).
    pub errors: Vec<UserError>,
}

payload!(RecordGuestOrderPayload);

/// Guest order mutations.
#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// For the shop's checkout, with its project API key (`X-Project-Key`): records an order
    /// placed without an account. It joins the history of the account with that address, which
    /// the customer sees once the address is verified.
    async fn record_guest_order(
        &self,
        ctx: &Context<'_>,
        input: GuestOrderInput,
    ) -> async_graphql::Result<RecordGuestOrderPayload> {
        let key = ctx.data_opt::<Storefront>().and_then(Storefront::key);
        let order = accounts::GuestOrderInput {
            reference: input.reference,
            email: input.email,
            total: input.total,
            currency: input.currency,
            placed_at: Given::Value(input.placed_at),
        };
        let result = accounts::record_guest_order(state(ctx)?, key, order).await;
        payload(result.map(|o| RecordGuestOrderPayload { order: Some(Order(o)), errors: Vec::new() }))
    }
}
