//! What every resolver uses to reach the house and report its errors: the caller, the state,
//! and the one translation of domain errors into GraphQL errors and payloads.

use async_graphql::{Context, ErrorExtensions as _};

use super::types::{Payload, UserError};
use crate::{
    accounts::{self, Authenticated, Need, Origin},
    error::Error,
    state::AppState,
};

/// The bearer token of the request, if any.
pub struct Credentials(pub Option<String>);

/// The shop the request names by its project API key (`X-Project-Key`, or an API key as the
/// bearer of a call without a customer token), resolved at most once per request.
pub struct Storefront {
    key: Option<String>,
    /// The key's project, or the default one without a key.
    project: tokio::sync::OnceCell<i32>,
    /// The project admitted for operations without a customer, the key requirement checked.
    admitted: tokio::sync::OnceCell<i32>,
}

impl Storefront {
    /// The storefront of a request presenting `key`, if any.
    pub fn new(key: Option<String>) -> Self {
        Self { key, project: tokio::sync::OnceCell::new(), admitted: tokio::sync::OnceCell::new() }
    }

    /// The project API key presented, if any.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }
}

/// The project the request is scoped to: its key's, or the default project without one.
pub async fn project(ctx: &Context<'_>) -> Result<i32, Error> {
    let state = ctx.data::<AppState>().map_err(|e| Error::internal(anyhow::anyhow!(e.message)))?;
    let Some(storefront) = ctx.data_opt::<Storefront>() else { return Ok(accounts::DEFAULT_PROJECT_ID) };
    storefront
        .project
        .get_or_try_init(|| accounts::project_of_key(state, storefront.key.as_deref()))
        .await
        .copied()
}

/// The project an operation without a customer (register, login, password reset) works in,
/// admitted as the webshop path admits it: a project that requires a key gets one.
pub async fn shop(ctx: &Context<'_>) -> async_graphql::Result<i32> {
    let admitted = async {
        let state = ctx.data::<AppState>().map_err(|e| Error::internal(anyhow::anyhow!(e.message)))?;
        let Some(storefront) = ctx.data_opt::<Storefront>() else {
            return accounts::storefront_project(state, None).await;
        };
        storefront
            .admitted
            .get_or_try_init(|| accounts::storefront_project(state, storefront.key.as_deref()))
            .await
            .copied()
    };
    admitted.await.map_err(top_level)
}

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

/// The caller the request's token names in the request's shop, as `need` asks (see
/// [`accounts::caller`]); `None` without a valid token.
async fn lookup(ctx: &Context<'_>, need: Need) -> Result<Option<Authenticated>, Error> {
    let Some(Credentials(Some(token))) = ctx.data_opt::<Credentials>() else { return Ok(None) };
    let state = ctx.data::<AppState>().map_err(|e| Error::internal(anyhow::anyhow!(e.message)))?;
    accounts::caller(state, Some(token), project(ctx).await?, need).await
}

/// The session the request's token names, verified address or not; `None` without a valid token.
async fn session_of(ctx: &Context<'_>) -> Result<Option<Authenticated>, Error> {
    lookup(ctx, Need::Session).await
}

/// The caller, or `None` when the request carries no valid token; `EMAIL_NOT_VERIFIED` when the
/// address must be verified first.
pub async fn caller(ctx: &Context<'_>) -> Result<Option<Authenticated>, Error> {
    lookup(ctx, Need::Verified).await
}

/// The caller, or `UNAUTHENTICATED`.
pub async fn require_caller(ctx: &Context<'_>) -> async_graphql::Result<Authenticated> {
    caller(ctx).await.and_then(|c| c.ok_or(Error::Unauthenticated)).map_err(top_level)
}

/// The session the request carries, verified address or not; `None` without a valid token.
pub async fn optional_session(ctx: &Context<'_>) -> async_graphql::Result<Option<Authenticated>> {
    session_of(ctx).await.map_err(top_level)
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
