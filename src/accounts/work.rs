//! The write path. Every domain write runs in one [`Work`]: a transaction (with the lock it
//! needs) in which the operation writes its rows and *declares* what follows from them: a
//! customer or session that cached sessions must see changed, a letter to send, a job to run.
//! [`Work::finish`] commits and then fires each declared effect once; an operation has no other
//! way to commit, so a new write cannot forget to tell the other replicas or to wake the queue.
//!
//! - On PostgreSQL without Redis the change notices are `NOTIFY`s sent inside the transaction:
//!   they are delivered exactly when it commits, and a crash cannot separate them from it.
//! - With Redis they are published after the commit (a crash in between leaves the other
//!   replicas stale for at most `SESSION_CACHE_TTL_SECONDS`).
//! - This replica drops what the changes make stale at once, whatever the bus.
//! - Letters and jobs are rows of the queue written in the transaction; the commit wakes this
//!   replica's runner (the others poll).
//! - Events for the shop's other systems are stored, with a delivery job per subscribed
//!   webhook endpoint, in the transaction too, just before it commits.
//!
//! Dropping a `Work` without finishing it rolls everything back, effects included.

use sea_orm::DatabaseTransaction;

use super::events::{Declared, Event};

use crate::{auth::cache::Change, error::Result, mail::Composed, state::AppState};

/// One write: its transaction and the effects it declared.
pub struct Work<'s> {
    state: &'s AppState,
    txn: DatabaseTransaction,
    changes: Vec<Change>,
    events: Vec<Declared>,
    queued: bool,
}

impl<'s> Work<'s> {
    /// Opens a write transaction (on SQLite it takes the write lock up front).
    pub async fn begin(state: &'s AppState) -> Result<Self> {
        let txn = crate::db::begin_write(&state.db).await?;
        Ok(Self { state, txn, changes: Vec::new(), events: Vec::new(), queued: false })
    }

    /// Opens a write transaction serialised with every other one that takes `key`.
    pub async fn begin_locked(state: &'s AppState, key: &str) -> Result<Self> {
        let work = Self::begin(state).await?;
        crate::db::lock_key(&work.txn, key).await?;
        Ok(work)
    }

    /// The transaction, to read and write rows in.
    pub fn db(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The service this write belongs to.
    pub fn state(&self) -> &'s AppState {
        self.state
    }

    /// Declares that what cached sessions hold of `change` is stale once this commits.
    pub fn affects(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// Declares that `event` happened to `customer_id`'s account in `project_id`'s shop: the
    /// shop's webhook endpoints that want it hear of it once this commits.
    pub fn publish(&mut self, project_id: i32, customer_id: i64, event: Event) {
        self.events.push(Declared { project_id, customer_id, event });
    }

    /// Queues `letter` about `customer_id`'s account, sent once this commits.
    pub async fn send(&mut self, customer_id: i64, letter: Composed) -> Result<()> {
        let payload = letter.payload();
        self.enqueue(crate::mail::KIND, crate::mail::KIND, Some(customer_id), &payload).await
    }

    /// Queues a job of `kind` in `lane`, run once this commits.
    pub async fn enqueue(
        &mut self,
        kind: &str,
        lane: &str,
        customer_id: Option<i64>,
        payload: &serde_json::Value,
    ) -> Result<()> {
        crate::queue::enqueue(&self.txn, kind, lane, customer_id, payload, chrono::Utc::now()).await?;
        self.queued = true;
        Ok(())
    }

    /// Queues another delivery of stored event `event_id` to webhook endpoint `endpoint_id`,
    /// sent once this commits; its id.
    pub async fn deliver(&mut self, event_id: &str, endpoint_id: i32) -> Result<i64> {
        let id =
            super::events::enqueue_delivery(&self.txn, event_id, endpoint_id, chrono::Utc::now()).await?;
        self.queued = true;
        Ok(id)
    }

    /// Commits, then fires every declared effect once.
    pub async fn finish(self) -> Result<()> {
        let Self { state, txn, mut changes, events, mut queued } = self;
        changes.sort_unstable();
        changes.dedup();
        queued |= super::events::record(&txn, &events, chrono::Utc::now()).await?;
        state.bus.announce_within(&txn, &changes).await?;
        txn.commit().await?;
        for &change in &changes {
            state.sessions.forget(change);
        }
        state.bus.announce_after(&changes).await;
        if queued {
            state.queue.wake();
        }
        Ok(())
    }
}
