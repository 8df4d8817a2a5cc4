//! Ending and extending a caller's session.

use chrono::Utc;

use crate::{
    auth::{Authenticated, IssuedToken, session},
    error::Result,
    state::AppState,
};

/// Ends the caller's session: its tokens are refused from now on.
pub async fn logout(state: &AppState, caller: &Authenticated) -> Result<()> {
    session::revoke(&state.db, caller.session_id, Utc::now()).await
}

/// An opaque token (`<session id>|<secret>`) for a session: the cookie guard's value and the
/// webshop API's Sanctum-style bearer token. Revoked with the session, like its JWTs.
pub async fn opaque_token(state: &AppState, session_id: uuid::Uuid) -> Result<String> {
    session::attach_opaque(&state.db, session_id).await
}

/// A fresh access token for the caller's (still live) session.
pub async fn refresh(state: &AppState, caller: &Authenticated) -> Result<IssuedToken> {
    state.tokens.issue(caller.customer.id, caller.session_id, Utc::now())
}
