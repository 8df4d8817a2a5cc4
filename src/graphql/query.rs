//! Queries, and the helpers every resolver uses to reach the house and report its errors.

use async_graphql::{Context, ErrorExtensions as _, ID, Object};

use super::types::{Customer, Payload, UserError};
use crate::{
    accounts::{self, Origin},
    auth::{Authenticated, session},
    error::Error,
    state::AppState,
};

/// The bearer token of the request, if any.
pub struct Credentials(pub Option<String>);

/// Where the request comes from (credential operations are limited per client IP).
pub fn origin<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Origin> {
    ctx.data::<Origin>()
}

/// The service state.
pub fn state<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a AppState> {
    ctx.data::<AppState>()
}

/// The session the request's token names, verified address or not; `None` without a valid token.
async fn session_of(ctx: &Context<'_>) -> Result<Option<Authenticated>, Error> {
    let Some(Credentials(Some(token))) = ctx.data_opt::<Credentials>() else { return Ok(None) };
    let state = ctx.data::<AppState>().map_err(|e| Error::internal(anyhow::anyhow!(e.message)))?;
    match session::authenticate(state, token).await {
        Ok(caller) => Ok(Some(caller)),
        Err(Error::Unauthenticated) => Ok(None),
        Err(other) => Err(other),
    }
}

/// The caller, or `None` when the request carries no valid token; `EMAIL_NOT_VERIFIED` when the
/// address must be verified first.
pub async fn caller(ctx: &Context<'_>) -> Result<Option<Authenticated>, Error> {
    let caller = session_of(ctx).await?;
    if let Some(caller) = &caller {
        accounts::require_verified(
            ctx.data::<AppState>().map_err(|e| Error::internal(anyhow::anyhow!(e.message)))?,
            caller,
        )?;
    }
    Ok(caller)
}

/// The caller, or `UNAUTHENTICATED`.
pub async fn require_caller(ctx: &Context<'_>) -> async_graphql::Result<Authenticated> {
    caller(ctx).await.and_then(|c| c.ok_or(Error::Unauthenticated)).map_err(top_level)
}

/// The caller even with an unverified address: for verifying, resending the link and logging out.
pub async fn require_session(ctx: &Context<'_>) -> async_graphql::Result<Authenticated> {
    session_of(ctx).await.and_then(|c| c.ok_or(Error::Unauthenticated)).map_err(top_level)
}

/// A domain error as a top-level GraphQL error with `extensions.code`; internals are logged, not shown.
pub fn top_level(err: Error) -> async_graphql::Error {
    err.report();
    async_graphql::Error::new(err.message()).extend_with(|_, ext| {
        ext.set("code", err.graphql_code());
        if let Error::Internal(_) = err {
            ext.set("requestId", crate::http::request_id());
        }
        if let Some(after) = err.retry_after() {
            ext.set("retryAfter", crate::error::whole_seconds(after));
        }
    })
}

/// Expected failures into the payload's `errors`; everything else top-level.
pub fn payload<P: Payload>(result: Result<P, Error>) -> async_graphql::Result<P> {
    match result {
        Ok(payload) => Ok(payload),
        Err(Error::Invalid(errors)) => {
            let mut payload = P::default();
            *payload.errors_mut() = errors.into_iter().map(UserError::from).collect();
            Ok(payload)
        }
        Err(other) => Err(top_level(other)),
    }
}

/// Read operations.
pub struct Query;

#[Object]
impl Query {
    /// The logged-in customer, or null without a valid token.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Customer>> {
        let caller = caller(ctx).await.map_err(top_level)?;
        Ok(caller.map(|c| Customer(c.customer)))
    }

    /// A customer by id: only one's own; any other id is `FORBIDDEN`, whether or not it exists.
    async fn customer(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Customer>> {
        let caller = require_caller(ctx).await?;
        accounts::customer_by_id(&caller, &id).map(|c| Some(Customer(c))).map_err(top_level)
    }
}
