//! Opening the database (SQLite or PostgreSQL) and applying migrations.

use std::time::{Duration, Instant};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

use crate::config::{ConfigError, Settings};

/// Connects with pool limits and SQLite pragmas suited to a concurrent web service.
///
/// An unreachable database is retried with backoff for `DB_CONNECT_RETRY_SECONDS`, each attempt
/// logged, so replicas started before their database come up on their own. Then, or at once for
/// errors that waiting cannot mend (a malformed URL, an unwritable folder), the error names the
/// variable at fault, with any password in the URL redacted.
pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url();
    let variable = settings.database_variable();
    if url.starts_with("sqlite:") && settings.database.url.is_none() {
        std::fs::create_dir_all(&settings.database.data_dir).map_err(|e| {
            ConfigError::new("DATA_DIR", format!("{}: {e}", settings.database.data_dir.display()))
        })?;
    }
    let mut options = ConnectOptions::new(url.clone());
    options
        .max_connections(settings.database.max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(settings.database.acquire_timeout_seconds))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            // WAL lets readers proceed during a write; the busy timeout queues writers
            // instead of failing them with "database is locked".
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        })
        .map_sqlx_sqlite_pool_opts(|pool| pool.after_release(|conn, _| Box::pin(transaction_settled(conn))));
    let deadline = Instant::now() + Duration::from_secs(settings.database.connect_retry_seconds);
    let mut wait = Duration::from_millis(250);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let err = match Database::connect(options.clone()).await {
            Ok(db) => return Ok(db),
            Err(err) => err,
        };
        if !crate::error::unavailable(&err) || Instant::now() + wait > deadline {
            let reason = format!("cannot use the database at {}: {err}", crate::config::redacted_url(&url));
            return Err(ConfigError::new(variable, reason).into());
        }
        tracing::warn!(
            attempt,
            retry_in_ms = wait.as_millis() as u64,
            error = %err,
            "the database is unreachable; retrying"
        );
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

/// Whether a SQLite connection coming back to the pool has no transaction left open, as far as
/// sqlx knows; one that has is closed rather than pooled.
///
/// On `SQLITE_FULL` (and some I/O errors) SQLite rolls the transaction back by itself. The
/// rollback that follows then fails ("no transaction is active"), sqlx keeps counting the
/// transaction as open, and every later `BEGIN` on that connection becomes a `SAVEPOINT` whose
/// "commit" commits nothing: registrations were acknowledged and lost. Such a connection's state
/// cannot be trusted, so it is discarded.
async fn transaction_settled(
    conn: &mut sea_orm::sqlx::SqliteConnection,
) -> Result<bool, sea_orm::sqlx::Error> {
    use sea_orm::sqlx::Connection as _;
    // Runs after any rollback the dropped transaction queued, so the answer below is settled.
    conn.ping().await?;
    let open = conn.is_in_transaction();
    if open {
        tracing::warn!("closing a database connection left inside a failed transaction");
    }
    Ok(!open)
}

/// Applies every pending migration. On PostgreSQL, replicas that start together take turns: the
/// first to take an advisory lock applies them all in one transaction, the others wait for it
/// and then find none pending.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    use sea_orm::DatabaseBackend;
    if db.get_database_backend() != DatabaseBackend::Postgres {
        Migrator::up(db, None).await?;
        return Ok(());
    }
    let txn = db.begin().await?;
    lock_key(&txn, "customer-accounts schema migrations").await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await?;
    Ok(())
}

/// Begins a transaction that will write. On SQLite it takes the write lock up front (`BEGIN
/// IMMEDIATE`): a deferred transaction that reads first cannot upgrade once another writer has
/// committed, and fails with "database is locked" instead of waiting. PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Serializes transactions that work on the same `key` until `txn` ends: a PostgreSQL advisory
/// transaction lock. On SQLite a write transaction (`begin_write`) already excludes every other.
pub async fn lock_key(txn: &DatabaseTransaction, key: &str) -> Result<(), DbErr> {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    use sha2::Digest as _;
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let digest = sha2::Sha256::digest(key.as_bytes());
    let mut id = [0u8; 8];
    id.copy_from_slice(&digest[..8]);
    let statement = Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [i64::from_be_bytes(id).into()],
    );
    txn.execute_raw(statement).await?;
    Ok(())
}

/// Whether the database takes a write now: one committed update of the probe row. Reads alone
/// succeed on a full disk, where every write fails.
///
/// On SQLite a write reuses the space the write-ahead log already holds, so a small write can
/// succeed on a full disk where the next registration fails. The probe therefore first folds
/// the log into the database and truncates it (a checkpoint, which itself fails when the
/// database file cannot grow), then rewrites 64 KiB, about what a registration writes, so the
/// log must grow again. PostgreSQL reports a full disk on any write, so a plain update serves.
pub async fn probe_write(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let backend = db.get_database_backend();
    let touch = if backend == DatabaseBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await?;
        "UPDATE readiness_probes SET checked_at = CURRENT_TIMESTAMP, ballast = zeroblob(65536) WHERE id = 1"
    } else {
        "UPDATE readiness_probes SET checked_at = CURRENT_TIMESTAMP WHERE id = 1"
    };
    let txn = begin_write(db).await?;
    txn.execute_raw(Statement::from_string(backend, touch)).await?;
    txn.commit().await
}

/// Connections the pool holds, and how many of them are idle.
pub fn pool_usage(db: &DatabaseConnection) -> (u32, u32) {
    use sea_orm::DatabaseBackend;
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), u32::try_from(pool.num_idle()).unwrap_or(u32::MAX))
        }
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), u32::try_from(pool.num_idle()).unwrap_or(u32::MAX))
        }
        _ => (0, 0),
    }
}
