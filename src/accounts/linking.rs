//! The background job that links a customer's guest orders: queued in the transaction that
//! registers an account or changes its address, done by the work queue after the answer.

use futures_util::future::BoxFuture;

use crate::{
    error::Result,
    queue::{Job, Kind, Outcome, Policy},
    state::AppState,
};

/// Links the guest orders of a customer's shop and current address to the account.
pub struct LinkGuestOrders;

impl LinkGuestOrders {
    /// The kind's name in the queue.
    pub const KIND: &'static str = "link_guest_orders";

    /// Declares to `work` that `customer_id`'s guest orders are to be linked once it commits
    /// (in the job, so a crash before it runs loses nothing).
    pub async fn enqueue(work: &mut super::Work<'_>, customer_id: i64) -> Result<()> {
        work.enqueue(Self::KIND, Self::KIND, Some(customer_id), &serde_json::json!({})).await
    }
}

impl Kind<AppState> for LinkGuestOrders {
    fn name(&self) -> &'static str {
        Self::KIND
    }

    /// Linking is one indexed update: a minute is far more than it takes. It fails only while
    /// the database does, so it is retried for a day before it is given up on.
    fn policy(&self) -> Policy {
        Policy {
            lease: std::time::Duration::from_secs(60),
            max_attempts: 20,
            give_up_after: std::time::Duration::from_secs(24 * 3600),
            lane_limit: 4,
        }
    }

    fn run<'a>(&'a self, state: &'a AppState, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let Some(customer_id) = job.customer_id else {
                return Outcome::GiveUp("a link job names no customer".to_owned());
            };
            match super::orders::link(state, customer_id).await {
                Ok(_) => Outcome::Done,
                Err(err) => Outcome::Retry(format!("{err:?}")),
            }
        })
    }
}
