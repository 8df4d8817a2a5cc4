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

/// A fresh access token for the caller's (still live) session.
pub async fn refresh(state: &AppState, caller: &Authenticated) -> Result<IssuedToken> {
    state.tokens.issue(caller.customer.id, caller.session_id, Utc::now())
}
