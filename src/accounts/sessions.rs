//! A caller's sessions: listing and ending them, and extending one with its refresh token.

use chrono::Utc;

use super::{Authenticated, Session, SignedIn, Work};
use crate::{
    auth::{IssuedToken, cache::Change, refresh, session},
    error::{Code, Error, Field, Result},
    state::AppState,
};

/// Ends the caller's session: its tokens are refused from now on.
pub async fn logout(state: &AppState, caller: &Authenticated) -> Result<()> {
    let mut work = Work::begin(state).await?;
    session::revoke(work.db(), caller.session_id, Utc::now()).await?;
    work.affects(Change::Session(caller.session_id));
    work.finish().await
}

/// An opaque token (`<session id>|<secret>`) for a session: the cookie guard's value and the
/// webshop API's Sanctum-style bearer token. Revoked with the session, like its JWTs.
pub async fn opaque_token(state: &AppState, session_id: uuid::Uuid) -> Result<String> {
    let mut work = Work::begin(state).await?;
    let token = session::attach_opaque(work.db(), session_id).await?;
    work.affects(Change::Session(session_id));
    work.finish().await?;
    Ok(token)
}

/// A fresh access token for the caller's (still live) session.
pub async fn refresh(state: &AppState, caller: &Authenticated) -> Result<IssuedToken> {
    state.tokens.issue(caller.customer.id, caller.session_id, Utc::now())
}

/// The most sessions or orders one request lists: what one `me` may cost stays bounded however
/// many a customer has.
pub const MAX_LISTED: u64 = 100;

/// The newest [`MAX_LISTED`] sessions of the caller's account that still work, newest first;
/// `current` names the session the caller's request uses, if any.
pub async fn sessions(
    state: &AppState,
    customer_id: i64,
    current: Option<uuid::Uuid>,
) -> Result<Vec<Session>> {
    let live = session::live(&state.db, customer_id, Utc::now(), MAX_LISTED).await?;
    Ok(live.into_iter().map(|row| Session::from_row(row, current)).collect())
}

/// Ends one of the caller's own sessions. Another customer's session id is `NOT_FOUND`, like an
/// id that names no session: the answer tells nothing about other accounts.
pub async fn revoke_session(state: &AppState, caller: &Authenticated, id: &str) -> Result<()> {
    let not_found = || Error::field(Field::Id, Code::NotFound);
    let id: uuid::Uuid = id.trim().parse().map_err(|_| not_found())?;
    let mut work = Work::begin(state).await?;
    if !session::revoke_own(work.db(), caller.customer.id, id, Utc::now()).await? {
        return Err(not_found());
    }
    work.affects(Change::Session(id));
    work.finish().await
}

/// Ends every session of the caller's account, or every other one with `keep_current`; how many
/// ended.
pub async fn logout_everywhere(state: &AppState, caller: &Authenticated, keep_current: bool) -> Result<u64> {
    let keep = keep_current.then_some(caller.session_id);
    let mut work = Work::begin(state).await?;
    // Logins in flight, whose password was checked before this, open no session after it.
    session::restamp(work.db(), caller.customer.id).await?;
    let ended = session::revoke_all(work.db(), caller.customer.id, keep, Utc::now()).await?;
    work.affects(Change::Customer(caller.customer.id));
    work.finish().await?;
    Ok(ended)
}

/// Exchanges a refresh token for a new access token and a new refresh token, in one
/// transaction. No access token is needed: this is how a client gets one back. A refresh token
/// presented a second time ends its session, so whoever copied it and whoever it was stolen from
/// both have to log in again. It works only in its own shop, `project_id`: anywhere else it is
/// unknown, and is neither spent nor counted as reused there.
pub async fn refresh_access_token(state: &AppState, project_id: i32, presented: &str) -> Result<SignedIn> {
    let invalid = || Error::field(Field::RefreshToken, Code::InvalidToken);
    let presented = presented.trim();
    // A refresh token is 48 characters; anything far longer is not one, and is not hashed.
    if presented.is_empty() || presented.len() > 128 {
        return Err(invalid());
    }
    let now = Utc::now();
    let mut work = Work::begin(state).await?;
    let found = refresh::find(work.db(), presented).await?.ok_or_else(invalid)?;
    if session::project_of(work.db(), found.session_id).await? != Some(project_id) {
        return Err(invalid());
    }
    let session_id = match refresh::spend(work.db(), found, now).await? {
        refresh::Exchange::Spent(session_id) => session_id,
        refresh::Exchange::Reused(session_id) => {
            session::revoke(work.db(), session_id, now).await?;
            work.affects(Change::Session(session_id));
            work.finish().await?;
            tracing::warn!(%session_id, "a spent refresh token was presented again; the session is ended");
            return Err(invalid());
        }
    };
    let (customer, session) =
        session::live_with_customer(work.db(), session_id, now).await?.ok_or_else(invalid)?;
    let refresh_token = refresh::issue(work.db(), session.id, now).await?;
    work.finish().await?;
    let token = state.tokens.issue(customer.id, session.id, now)?;
    Ok(SignedIn { customer: customer.into(), session_id: session.id, token, refresh_token })
}
