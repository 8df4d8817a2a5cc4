//! Telling the other replicas what changed, so their session caches drop it: PostgreSQL's
//! `NOTIFY`/`LISTEN` on the service's own database, or Redis pub/sub when `REDIS_URL` is set.
//! One process on SQLite without Redis has no one to tell.

use std::time::Duration;

use futures_util::StreamExt as _;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr, Statement};

use crate::{
    auth::cache::{Change, SessionCache},
    config::Settings,
};

/// The PostgreSQL channel every replica listens on (on Redis: `{REDIS_KEY_PREFIX}:changes`).
pub const CHANNEL: &str = "customer_accounts_changes";

/// The longest a Redis command may take before it counts as failed: a stalled Redis must not
/// stall requests.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// A connection to `REDIS_URL`'s server: commands through a manager that reconnects by itself.
#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    commands: redis::aio::ConnectionManager,
    prefix: String,
}

impl Redis {
    /// A handle on `url`'s server; connects on first use, so the service starts without Redis.
    pub fn new(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let commands = redis::aio::ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(Self { client, commands, prefix: prefix.to_owned() })
    }

    /// `name` under `REDIS_KEY_PREFIX`.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// The command connection (cheap to clone; shared by every clone).
    pub fn commands(&self) -> redis::aio::ConnectionManager {
        self.commands.clone()
    }
}

/// Where changes are announced and heard.
pub enum Bus {
    /// A single process: nothing to tell.
    Local,
    /// `NOTIFY`/`LISTEN` on the service's PostgreSQL database.
    Postgres,
    /// Redis `PUBLISH`/`SUBSCRIBE`.
    Redis(Redis),
}

impl Bus {
    /// Redis when configured, else PostgreSQL when that is the database, else none.
    pub fn new(redis: Option<&Redis>, db: &DatabaseConnection) -> Self {
        match redis {
            Some(redis) => Bus::Redis(redis.clone()),
            None if db.get_database_backend() == DatabaseBackend::Postgres => Bus::Postgres,
            None => Bus::Local,
        }
    }

    /// Whether other replicas can be told anything (otherwise the cache is trusted from the start).
    pub fn is_local(&self) -> bool {
        matches!(self, Bus::Local)
    }

    /// Announces `changes` inside `txn`, when the bus is PostgreSQL's: a `NOTIFY` is delivered
    /// when the transaction commits, and never if it rolls back. Other buses do nothing here.
    pub async fn announce_within(&self, txn: &DatabaseTransaction, changes: &[Change]) -> Result<(), DbErr> {
        if !matches!(self, Bus::Postgres) {
            return Ok(());
        }
        for change in changes {
            let notify = Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), change.encode().into()],
            );
            txn.execute_raw(notify).await?;
        }
        Ok(())
    }

    /// Announces committed `changes`, when the bus is Redis. A failure is logged and counted:
    /// the other replicas then see the changes within `SESSION_CACHE_TTL_SECONDS`.
    pub async fn announce_after(&self, changes: &[Change]) {
        let Bus::Redis(redis) = self else { return };
        for &change in changes {
            let mut commands = redis.commands();
            let mut publish = redis::cmd("PUBLISH");
            publish.arg(redis.key("changes")).arg(change.encode());
            let sent = tokio::time::timeout(REDIS_TIMEOUT, publish.query_async::<i64>(&mut commands)).await;
            let error = match sent {
                Ok(Ok(_)) => continue,
                Ok(Err(err)) => err.to_string(),
                Err(_) => "timed out".to_owned(),
            };
            metrics::counter!("cache_invalidations_unpublished_total").increment(1);
            tracing::error!(error, ?change, "could not tell the other replicas of a change");
        }
    }

    /// Hears changes and drops them from `cache`, for as long as the service runs. Whenever the
    /// subscription is down the cache is not trusted; when it is (back) up the cache starts empty.
    /// Returns at once when there is no one to hear from.
    pub async fn listen<C: Send + Sync + 'static>(&self, db: &DatabaseConnection, cache: &SessionCache<C>) {
        let mut wait = Duration::from_millis(100);
        loop {
            let heard = match self {
                Bus::Local => return cache.resume(),
                Bus::Postgres => listen_postgres(db, cache).await,
                Bus::Redis(redis) => listen_redis(redis, cache).await,
            };
            cache.suspend();
            match heard {
                // It was up: try again at once.
                Ok(()) => wait = Duration::from_millis(100),
                Err(err) => {
                    metrics::counter!("cache_invalidation_listener_failures_total").increment(1);
                    tracing::warn!(error = %err, retry_in_ms = wait.as_millis() as u64, "cannot listen for changes");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

fn apply<C: Send + Sync + 'static>(cache: &SessionCache<C>, payload: &str) {
    match Change::decode(payload) {
        Some(change) => cache.forget(change),
        None => tracing::warn!(payload, "ignoring a change notice of unknown form"),
    }
}

/// Listens until the connection is lost (`Ok`) or cannot be made (`Err`).
async fn listen_postgres<C: Send + Sync + 'static>(
    db: &DatabaseConnection,
    cache: &SessionCache<C>,
) -> anyhow::Result<()> {
    use sea_orm::sqlx::postgres::PgListener;
    let mut listener = PgListener::connect_with(db.get_postgres_connection_pool()).await?;
    // Reconnecting inside `try_recv` would hide the gap; this loop reconnects and resumes itself.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    cache.resume();
    while let Some(notification) = listener.try_recv().await? {
        apply(cache, notification.payload());
    }
    tracing::warn!("lost the connection that listens for changes");
    Ok(())
}

/// Subscribes until the connection is lost (`Ok`) or cannot be made (`Err`).
async fn listen_redis<C: Send + Sync + 'static>(
    redis: &Redis,
    cache: &SessionCache<C>,
) -> anyhow::Result<()> {
    let mut pubsub = tokio::time::timeout(REDIS_TIMEOUT, redis.client.get_async_pubsub()).await??;
    tokio::time::timeout(REDIS_TIMEOUT, pubsub.subscribe(redis.key("changes"))).await??;
    cache.resume();
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        match message.get_payload::<String>() {
            Ok(payload) => apply(cache, &payload),
            Err(err) => tracing::warn!(error = %err, "ignoring an unreadable change notice"),
        }
    }
    tracing::warn!("lost the Redis subscription for changes");
    Ok(())
}

/// The Redis handle `REDIS_URL` asks for, if any.
pub fn redis(settings: &Settings) -> anyhow::Result<Option<Redis>> {
    use secrecy::ExposeSecret as _;
    settings
        .redis
        .url
        .as_ref()
        .map(|url| Redis::new(url.expose_secret(), &settings.redis.key_prefix))
        .transpose()
}
