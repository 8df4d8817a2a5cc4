//! AppState: what every request shares, built once from the settings.

use std::{ops::Deref, path::Path, sync::Arc};

use anyhow::Context as _;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;

use crate::{
    auth::{PasswordHasher, TokenIssuer, cache::SessionCache},
    bus::{Bus, Redis},
    config::{ConfigError, Settings},
    db,
    limits::Limits,
    mail::Mailer,
};

/// Shared, cheaply cloned handle to the service's parts.
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

/// The parts behind an [`AppState`].
pub struct Parts {
    /// Validated configuration.
    pub settings: Settings,
    /// Connection pool.
    pub db: DatabaseConnection,
    /// argon2id, bounded.
    pub hasher: PasswordHasher,
    /// JWT signing and checking.
    pub tokens: TokenIssuer,
    /// Email templates and transport.
    pub mail: Mailer,
    /// Rate limiters.
    pub limits: Limits,
    /// Origins whose pages may send cookie-authenticated requests: `PUBLIC_URL`'s and the
    /// storefront origins.
    pub page_origins: Vec<String>,
    /// The work queue's settings and the bell that wakes its runner.
    pub queue: Arc<crate::queue::Queue>,
    /// Customer groups, kept in memory.
    pub groups: crate::accounts::GroupCache,
    /// Live sessions, kept in memory for the authenticated hot path, each with its customer as
    /// the house shows them.
    pub sessions: SessionCache<crate::accounts::Customer>,
    /// How the other replicas hear of changes.
    pub bus: Bus,
    /// `REDIS_URL`'s server, when set.
    pub redis: Option<Redis>,
}

impl Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl AppState {
    /// Connects, migrates, and prepares keys and the hasher.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = db::connect(&settings).await?;
        db::migrate(&db).await.context("applying migrations")?;
        Self::with_db(settings, db)
    }

    /// Builds the state around an already migrated connection.
    pub fn with_db(settings: Settings, db: DatabaseConnection) -> anyhow::Result<Self> {
        let secret = match &settings.auth.jwt_secret {
            Some(secret) => secret.expose_secret().as_bytes().to_vec(),
            None => development_secret(&settings.database.data_dir)?,
        };
        let tokens = TokenIssuer::new(&secret, settings.public_url(), settings.jwt_ttl())?;
        let hasher = PasswordHasher::new(settings.hash_concurrency(), settings.auth.hash_nice)?;
        let mail = Mailer::new(&settings)?;
        let public = url::Url::parse(&settings.public_url())?;
        let mut page_origins = settings.server.cors_allowed_origins.clone();
        page_origins.push(public.origin().ascii_serialization());
        let redis = crate::bus::redis(&settings)?;
        let limits = Limits::new(&settings, redis.as_ref());
        let bus = Bus::new(redis.as_ref(), &db);
        let queue = Arc::new(crate::queue::Queue::new(
            std::time::Duration::from_millis(settings.mail.poll_interval_ms),
            std::time::Duration::from_millis(settings.mail.retry_base_ms),
        ));
        let sessions =
            SessionCache::new(settings.session_cache_ttl(), settings.cache.capacity, bus.is_local());
        Ok(Self(Arc::new(Parts {
            settings,
            db,
            hasher,
            tokens,
            mail,
            limits,
            page_origins,
            queue,
            groups: crate::accounts::GroupCache::default(),
            sessions,
            bus,
            redis,
        })))
    }
}

/// Outside production a secret is generated once and kept, so tokens survive restarts.
fn development_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() >= crate::config::MIN_JWT_SECRET_BYTES {
            return Ok(existing.as_bytes().to_vec());
        }
    }
    let unwritable = |e: std::io::Error| ConfigError::new("DATA_DIR", format!("{}: {e}", data_dir.display()));
    std::fs::create_dir_all(data_dir).map_err(unwritable)?;
    let secret = crate::auth::secret::random(32);
    write_private(&path, &secret).map_err(unwritable)?;
    tracing::info!(path = %path.display(), "generated a development JWT secret");
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

impl crate::mail::delivery::Post for AppState {
    fn mailer(&self) -> &Mailer {
        &self.mail
    }
}
