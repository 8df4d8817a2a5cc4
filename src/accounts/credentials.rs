//! The gate every password check and every new password passes, whichever door and operation
//! asks: one argon2 run per request, the per-IP credential limit, and for checks the per-email
//! lockout, reserved before the hash starts.

use chrono::Utc;

use super::{Origin, lockout};
use crate::{
    auth::Password,
    error::{Error, Result},
    state::AppState,
};

/// Admits one operation that runs argon2 (login, register, reset, a profile change that needs the
/// current password). A request gets one: GraphQL aliases beyond the first are refused, so one
/// request cannot check 31 guesses.
/// Every attempt counts against the IP, refused or not.
pub(super) async fn admit(state: &AppState, origin: &Origin) -> Result<()> {
    state.limits.credential(origin.ip).await?;
    if !origin.spend_hash() {
        return Err(Error::RateLimited(std::time::Duration::from_secs(1)));
    }
    Ok(())
}

/// Whether `password` matches `stored` (`None`: an unknown account, which costs the same hash and
/// says no). The check is counted against `email` before it runs and forgiven when it matches.
pub(super) async fn check_password(
    state: &AppState,
    project_id: i32,
    email: &str,
    password: &Password,
    stored: Option<&str>,
) -> Result<bool> {
    lockout::reserve(state, project_id, email, Utc::now()).await?;
    let matches = state.hasher.verify(password, stored).await?;
    if matches {
        lockout::forgive(state, project_id, email).await?;
    }
    Ok(matches)
}
