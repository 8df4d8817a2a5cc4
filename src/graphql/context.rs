//! What every resolver uses to reach the house and report its errors: the caller, the state,
//! and the one translation of domain errors into GraphQL errors and payloads.

use async_graphql::{Context, ErrorExtensions as _};

use super::types::{Payload, UserError};
use crate::{
    accounts::{self, Origin},
    auth::Authenticated,
    error::Error,
    state::AppState,
};

/// The bearer token of the request, if any.
pub struct Credentials(pub Option<String>);

/// The refresh token cookie of the request, if any (`REFRESH_TOKEN_COOKIE` mode).
pub struct RefreshCookie(pub Option<String>);

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
    match accounts::authenticate(state, token).await {
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
            ext.set("requestId", crate::telemetry::request_id());
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
