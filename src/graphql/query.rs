//! Read operations.

use async_graphql::{Context, ID, Object};

use super::{
    context::{caller, require_caller, top_level},
    types::Customer,
};
use crate::accounts;

/// Read operations.
pub struct Query;

#[Object]
impl Query {
    /// The logged-in customer, or null without a valid token.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Customer>> {
        let caller = caller(ctx).await.map_err(top_level)?;
        Ok(caller.map(|c| {
            let session = c.session_id;
            Customer::new(accounts::me(c), Some(session))
        }))
    }

    /// A customer by id: only one's own; any other id is `FORBIDDEN`, whether or not it exists.
    async fn customer(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Customer>> {
        let caller = require_caller(ctx).await?;
        // An id that is not a number names nobody's account, so it is not the caller's either.
        let id = id.parse::<i64>().map_err(|_| top_level(crate::error::Error::Forbidden))?;
        accounts::customer_by_id(&caller, id)
            .map(|c| Some(Customer::new(c, Some(caller.session_id))))
            .map_err(top_level)
    }
}
