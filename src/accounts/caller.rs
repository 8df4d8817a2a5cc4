//! Who is calling: the one lookup both doors use. A credential (a JWT, or an opaque
//! `<session id>|<secret>` token: the cookie guard's value and the webshop API's bearer) names a
//! session; the session must be live and its customer active; the customer must belong to the
//! shop the request is for; and, while `REQUIRE_EMAIL_VERIFICATION` is on, most calls need a
//! verified address.
//!
//! The session is answered from the session cache when it is there (no query), else read from
//! the database and kept.

use std::sync::Arc;

use chrono::Utc;
use uuid::Uuid;

use super::Customer;
use crate::{
    auth::{
        cache::Entry,
        secret,
        session::{LAST_SEEN_GRANULARITY, live_with_customer, touch},
    },
    error::{Error, Result},
    state::AppState,
};

/// A caller whose credential names a live session of an active customer of the request's shop.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The customer, as the doors may show them.
    pub customer: Customer,
    /// The session the credential names.
    pub session_id: Uuid,
}

/// What a call needs of its caller's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any session will do: verifying the address, asking for a new link, logging out.
    Session,
    /// A verified address, while `REQUIRE_EMAIL_VERIFICATION` is on: every other call.
    Verified,
}

/// What a credential presents besides the session it names.
enum Presented<'a> {
    /// A signed access token, naming its customer.
    Jwt { customer_id: i64 },
    /// The secret half of an opaque token, to compare with the stored hash.
    Opaque(&'a str),
}

/// The caller `credential` names in `project_id`'s shop: `None` without a credential, with one
/// that names no live session, or with one of another shop (a customer's token works only in its
/// own); `EmailNotVerified` when `need` asks for a verified address the customer has not proven.
pub async fn caller(
    state: &AppState,
    credential: Option<&str>,
    project_id: i32,
    need: Need,
) -> Result<Option<Authenticated>> {
    let Some(credential) = credential else { return Ok(None) };
    let caller = match authenticate(state, credential).await {
        Ok(caller) if caller.customer.project_id == project_id => caller,
        Ok(_) | Err(Error::Unauthenticated) => return Ok(None),
        Err(other) => return Err(other),
    };
    if need == Need::Verified
        && state.settings.auth.require_email_verification
        && caller.customer.email_verified_at.is_none()
    {
        return Err(Error::EmailNotVerified);
    }
    Ok(Some(caller))
}

/// Who `credential` belongs to, in whatever shop: a live session of an active customer, or
/// `Unauthenticated`.
async fn authenticate(state: &AppState, credential: &str) -> Result<Authenticated> {
    let (session_id, presented) = match credential.split_once('|') {
        Some((id, secret)) => {
            (id.parse::<Uuid>().map_err(|_| Error::Unauthenticated)?, Presented::Opaque(secret))
        }
        None => {
            let claims = state.tokens.verify(credential).ok_or(Error::Unauthenticated)?;
            let customer_id: i64 = claims.sub.parse().map_err(|_| Error::Unauthenticated)?;
            (claims.sid, Presented::Jwt { customer_id })
        }
    };
    let now = Utc::now();
    let entry = match state.sessions.get(&session_id) {
        Some(entry) => entry,
        None => {
            let epoch = state.sessions.epoch();
            let (customer, session) =
                live_with_customer(&state.db, session_id, now).await?.ok_or(Error::Unauthenticated)?;
            let entry = Arc::new(Entry::new(customer.id, Customer::from(customer), &session));
            state.sessions.keep(session_id, entry.clone(), epoch);
            entry
        }
    };
    let admitted = entry.expires_at > now
        && match presented {
            Presented::Jwt { customer_id } => entry.customer_id == customer_id,
            Presented::Opaque(secret) => entry.token_hash.as_deref() == Some(secret::digest(secret).as_str()),
        };
    if !admitted {
        return Err(Error::Unauthenticated);
    }
    if entry.claim_touch(now, LAST_SEEN_GRANULARITY) {
        // Off the request's path: the answer does not wait for a write, and a failed write only
        // leaves the session list a minute behind.
        tokio::spawn(touch(state.db.clone(), session_id, now));
    }
    Ok(Authenticated { customer: entry.customer.clone(), session_id })
}
