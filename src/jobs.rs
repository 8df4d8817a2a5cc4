//! The background work this service does, and the runner that does it: the kinds of the work
//! queue ([`crate::queue`]), each defined where its work is (mail in `mail/`, guest-order linking
//! in `accounts/`, webhooks in `webhooks`), gathered here, above both.

use std::sync::Arc;

use crate::{accounts::LinkGuestOrders, error::Result, mail, queue, state::AppState, webhooks};

/// Every kind of job the service runs (an error if the webhook client cannot be built).
pub fn kinds(state: &AppState) -> anyhow::Result<queue::Kinds<AppState>> {
    Ok(queue::Kinds::new(vec![
        Box::new(mail::Delivery::new(&state.settings)),
        Box::new(LinkGuestOrders),
        Box::new(webhooks::Delivery::new(&state.settings)?),
    ]))
}

/// Runs the queue with `kinds` until the task is dropped.
pub async fn run(state: AppState, kinds: queue::Kinds<AppState>) {
    let (db, queue) = (state.db.clone(), state.queue.clone());
    queue::run(Arc::new(state), db, queue, Arc::new(kinds)).await;
}

/// Does every job due now, one after another; how many ran (tests and the command line).
pub async fn run_due(state: &AppState) -> Result<usize> {
    let kinds = kinds(state).map_err(crate::error::Error::internal)?;
    queue::run_due(state, &state.db, &state.queue, &kinds).await
}
