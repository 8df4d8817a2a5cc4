//! The background work this service does, and the runner that does it: the kinds of the work
//! queue ([`crate::queue`]), each defined where its work is (mail in `mail/`, guest-order linking
//! in `accounts/`), gathered here, above both.

use std::sync::Arc;

use crate::{accounts::LinkGuestOrders, error::Result, mail::Delivery, queue, state::AppState};

/// Every kind of job the service runs.
fn kinds(state: &AppState) -> queue::Kinds<AppState> {
    queue::Kinds::new(vec![Box::new(Delivery::new(&state.settings)), Box::new(LinkGuestOrders)])
}

/// Runs the queue until the task is dropped.
pub async fn run(state: AppState) {
    let (db, queue, kinds) = (state.db.clone(), state.queue.clone(), Arc::new(kinds(&state)));
    queue::run(Arc::new(state), db, queue, kinds).await;
}

/// Does every job due now, one after another; how many ran (tests and the command line).
pub async fn run_due(state: &AppState) -> Result<usize> {
    queue::run_due(state, &state.db, &state.queue, &kinds(state)).await
}
