//! The session cache: what a live session's token admits (the session's expiry and opaque token
//! hash, and its customer as the house shows them, never the stored row), kept in memory so that
//! `me` costs no query.
//!
//! The database stays the truth. An entry is dropped by every write that changes what it holds
//! ([`Change`]): in this process at once, in other replicas by a notification (see
//! [`crate::bus`]). While the notification channel is down the cache is not trusted (every
//! request reads the database), and when it comes back the whole cache is dropped, since
//! anything may have changed meanwhile. The TTL is the last safety net.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::entity::session;

/// A write that changes what a cached session admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// One session ended, or got a new opaque token.
    Session(Uuid),
    /// A customer changed (profile, password, status, verification) or lost sessions.
    Customer(i64),
}

impl Change {
    /// The form sent between replicas: `s:<uuid>` or `c:<id>`.
    pub fn encode(self) -> String {
        match self {
            Change::Session(id) => format!("s:{id}"),
            Change::Customer(id) => format!("c:{id}"),
        }
    }

    /// Reads [`Change::encode`]'s form; `None` for anything else.
    pub fn decode(raw: &str) -> Option<Self> {
        match raw.split_once(':')? {
            ("s", id) => id.parse().ok().map(Change::Session),
            ("c", id) => id.parse().ok().map(Change::Customer),
            _ => None,
        }
    }
}

/// A live session of an active customer, as the database said when it was cached. `C` is the
/// customer as the house shows them.
#[derive(Debug)]
pub struct Entry<C> {
    /// The session's customer's id.
    pub customer_id: i64,
    /// The session's customer.
    pub customer: C,
    /// When the session stops working.
    pub expires_at: DateTime<Utc>,
    /// SHA-256 of its opaque token, if it has one.
    pub token_hash: Option<String>,
    /// When a request was last recorded as using it (Unix seconds); see `session::touch`.
    last_seen: AtomicI64,
    /// The cache's epoch when the load began: a change of the customer after it makes this stale.
    loaded_at: AtomicU64,
}

impl<C> Entry<C> {
    /// The entry for a live session row and its customer.
    pub fn new(customer_id: i64, customer: C, session: &session::Model) -> Self {
        Self {
            customer_id,
            customer,
            expires_at: session.expires_at,
            token_hash: session.token_hash.clone(),
            last_seen: AtomicI64::new(session.last_seen_at.map_or(0, |at| at.timestamp())),
            loaded_at: AtomicU64::new(0),
        }
    }

    /// Claims the write of "used at `now`" when the last one is at least `granularity` old, so
    /// that of many requests at once only one writes.
    pub fn claim_touch(&self, now: DateTime<Utc>, granularity: chrono::Duration) -> bool {
        let seen = self.last_seen.load(Ordering::Relaxed);
        now.timestamp() - seen >= granularity.num_seconds()
            && self
                .last_seen
                .compare_exchange(seen, now.timestamp(), Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }
}

/// Sessions kept in memory, each with its customer as a `C`; see the module documentation.
pub struct SessionCache<C> {
    entries: Option<moka::sync::Cache<Uuid, Arc<Entry<C>>>>,
    /// Customers that changed, with the epoch of their latest change: an entry loaded before it
    /// is stale. One lookup per hit, whatever the number of changes (a predicate per change
    /// would be matched against every entry). Kept a little longer than any entry lives, and
    /// never evicted for room: a forgotten change could let a stale entry answer.
    changed_customers: moka::sync::Cache<i64, u64>,
    /// Bumped by every forget: a load that began before one does not keep what it read.
    epoch: AtomicU64,
    /// Whether the entries can be believed: false while notifications from other replicas may
    /// be missed.
    trusted: AtomicBool,
}

impl<C: Send + Sync + 'static> SessionCache<C> {
    /// A cache of at most `capacity` sessions, each trusted for `ttl`; none when `ttl` is zero.
    /// `trusted` says whether it may be used before [`SessionCache::resume`] is first called.
    pub fn new(ttl: Duration, capacity: u64, trusted: bool) -> Self {
        let entries = (!ttl.is_zero())
            .then(|| moka::sync::Cache::builder().max_capacity(capacity).time_to_live(ttl).build());
        let changed_customers =
            moka::sync::Cache::builder().time_to_live(ttl + Duration::from_secs(1)).build();
        Self { entries, changed_customers, epoch: AtomicU64::new(0), trusted: AtomicBool::new(trusted) }
    }

    /// Whether sessions are cached at all (`SESSION_CACHE_TTL_SECONDS` > 0).
    pub fn enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// The cached entry for `session_id`, if there is one, it is current, and the cache is
    /// trusted now.
    pub fn get(&self, session_id: &Uuid) -> Option<Arc<Entry<C>>> {
        let entries = self.entries.as_ref()?;
        let hit = self
            .trusted
            .load(Ordering::Acquire)
            .then(|| entries.get(session_id))
            .flatten()
            .filter(|entry| self.current(entry));
        metrics::counter!("session_cache_lookups_total", "result" => if hit.is_some() { "hit" } else { "miss" })
            .increment(1);
        hit
    }

    /// Whether no change of `entry`'s customer came after its load began.
    fn current(&self, entry: &Entry<C>) -> bool {
        self.changed_customers
            .get(&entry.customer_id)
            .is_none_or(|changed| changed <= entry.loaded_at.load(Ordering::Relaxed))
    }

    /// Where the invalidations stand: read before loading an entry, handed to [`SessionCache::keep`].
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Keeps `entry`, loaded after [`SessionCache::epoch`] said `epoch`, unless something was
    /// forgotten meanwhile: what was read may predate that write.
    pub fn keep(&self, session_id: Uuid, entry: Arc<Entry<C>>, epoch: u64) {
        let Some(entries) = &self.entries else { return };
        if !self.trusted.load(Ordering::Acquire) {
            return;
        }
        entry.loaded_at.store(epoch, Ordering::Relaxed);
        entries.insert(session_id, entry);
        // Checked after the insert: a forget that bumped the epoch before this line is seen
        // here; one that bumps it after will find the entry and drop it.
        if self.epoch.load(Ordering::SeqCst) != epoch {
            entries.invalidate(&session_id);
        }
    }

    /// Drops what `change` makes stale.
    pub fn forget(&self, change: Change) {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        let Some(entries) = &self.entries else { return };
        match change {
            Change::Session(id) => entries.invalidate(&id),
            Change::Customer(id) => self.changed_customers.insert(id, epoch),
        }
    }

    /// Whether cached entries are used now (false while notifications may be missed).
    pub fn trusted(&self) -> bool {
        self.trusted.load(Ordering::Acquire)
    }

    /// Stops using the cache until [`SessionCache::resume`]: notifications may be missed.
    pub fn suspend(&self) {
        metrics::gauge!("session_cache_trusted").set(0.0);
        if self.trusted.swap(false, Ordering::AcqRel) {
            tracing::warn!("cache invalidations may be missed: sessions are read from the database");
        }
    }

    /// Drops everything (whatever happened while notifications could be missed) and trusts the
    /// cache again.
    pub fn resume(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        if let Some(entries) = &self.entries {
            entries.invalidate_all();
        }
        metrics::gauge!("session_cache_trusted").set(1.0);
        if !self.trusted.swap(true, Ordering::AcqRel) {
            tracing::info!("cache invalidations are received again: the session cache is in use");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(customer_id: i64) -> Arc<Entry<()>> {
        let now = Utc::now();
        let session = session::Model {
            id: Uuid::new_v4(),
            customer_id,
            created_at: now,
            expires_at: now + chrono::Duration::hours(1),
            revoked_at: None,
            token_hash: None,
            last_seen_at: None,
            user_agent: None,
            ip: None,
        };
        Arc::new(Entry::new(customer_id, (), &session))
    }

    fn cache() -> SessionCache<()> {
        SessionCache::new(Duration::from_secs(60), 100, true)
    }

    #[test]
    fn changes_survive_the_trip_between_replicas_and_nothing_else_decodes() {
        let session = Change::Session(Uuid::new_v4());
        assert_eq!(Change::decode(&session.encode()), Some(session));
        assert_eq!(Change::decode(&Change::Customer(42).encode()), Some(Change::Customer(42)));
        for junk in ["", "c:", "c:x", "s:42", "x:1", "c42"] {
            assert_eq!(Change::decode(junk), None, "{junk}");
        }
    }

    #[test]
    fn a_load_that_overlaps_a_forget_is_not_kept() {
        let cache = cache();
        let id = Uuid::new_v4();
        let before = cache.epoch();
        cache.forget(Change::Customer(7));
        cache.keep(id, entry(7), before);
        assert!(cache.get(&id).is_none(), "read before the write, so possibly stale");
        cache.keep(id, entry(7), cache.epoch());
        assert!(cache.get(&id).is_some());
    }

    #[test]
    fn forgetting_a_customer_drops_all_of_their_sessions_and_only_theirs() {
        let cache = cache();
        let (a1, a2, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        for (id, customer) in [(a1, 1), (a2, 1), (b, 2)] {
            cache.keep(id, entry(customer), cache.epoch());
        }
        cache.forget(Change::Customer(1));
        assert!(cache.get(&a1).is_none() && cache.get(&a2).is_none());
        assert!(cache.get(&b).is_some());
        cache.forget(Change::Session(b));
        assert!(cache.get(&b).is_none());
    }

    #[test]
    fn an_untrusted_cache_answers_nothing_and_resuming_starts_empty() {
        let cache = cache();
        let id = Uuid::new_v4();
        cache.keep(id, entry(1), cache.epoch());
        cache.suspend();
        assert!(cache.get(&id).is_none());
        cache.keep(Uuid::new_v4(), entry(1), cache.epoch());
        cache.resume();
        assert!(cache.get(&id).is_none(), "what was cached before the gap is dropped");
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = SessionCache::<()>::new(Duration::ZERO, 100, true);
        let id = Uuid::new_v4();
        cache.keep(id, entry(1), cache.epoch());
        assert!(!cache.enabled() && cache.get(&id).is_none());
    }
}
