//! Settings: defaults, environment variables (and `.env`), validation before anything starts.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use figment::{Figment, providers::Env};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

/// Every environment variable the service reads, and nothing else: one per [`Settings`] field,
/// named after it (`mail_from` is `MAIL_FROM`). Derived from the struct itself, so a setting
/// cannot be declared and then never read.
pub fn variables() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| settings_fields().iter().map(|field| field.to_uppercase()).collect())
}

/// The field names serde's derive gives `Settings`, read by a deserializer that only listens.
fn settings_fields() -> &'static [&'static str] {
    use serde::de::{Error as _, Visitor, value::Error};

    struct Listener(Option<&'static [&'static str]>);

    impl<'de> serde::Deserializer<'de> for &mut Listener {
        type Error = Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
            Err(Error::custom("listens for a struct only"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Error> {
            self.0 = Some(fields);
            Err(Error::custom("heard the fields"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }

    let mut listener = Listener(None);
    let _ = Settings::deserialize(&mut listener);
    listener.0.unwrap_or_default()
}

/// The shortest HS256 secret accepted: 256 bits, as RFC 7518 asks of an HMAC key.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Where the service runs; production turns on the strict checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AppEnv {
    /// Local work: generated secret, GraphiQL and introspection on.
    #[default]
    Development,
    /// Integration tests.
    Test,
    /// Live: a configured secret is required; GraphiQL and introspection off unless switched on.
    Production,
}

/// What a rate limit does while its shared counters (Redis) cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureMode {
    /// Let requests through, counted in this process's memory meanwhile (logged and counted).
    Open,
    /// Refuse them (429) until Redis answers again.
    Closed,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

/// The service's configuration, loaded once at start and passed down in `AppState`.
#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `APP_ENV`.
    pub app_env: AppEnv,
    /// `DATABASE_URL`; the SQLite file in `data_dir` when unset.
    pub database_url: Option<String>,
    /// `DATA_DIR`: the SQLite file and the generated development secret live here.
    pub data_dir: PathBuf,
    /// `LISTEN_ADDR`.
    pub listen_addr: SocketAddr,
    /// `PUBLIC_URL`: the address customers reach; JWT issuer and link base.
    pub public_url: Option<String>,
    /// `JWT_SECRET`: HS256 key; generated and kept in `data_dir` outside production.
    pub jwt_secret: Option<SecretString>,
    /// `JWT_TTL_SECONDS`: lifetime of one access token.
    pub jwt_ttl_seconds: u64,
    /// `SESSION_TTL_SECONDS`: how long a login lasts when its tokens are refreshed.
    pub session_ttl_seconds: u64,
    /// `PASSWORD_MIN_LENGTH`, in characters.
    pub password_min_length: usize,
    /// `PASSWORD_MIN_SCORE`: the zxcvbn score (0–4) a new password needs; 0 turns the check off.
    pub password_min_score: u8,
    /// `HASH_CONCURRENCY`: argon2 runs at once (each holds 19 MiB); the core count when unset.
    pub hash_concurrency: Option<usize>,
    /// `MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// `REQUEST_TIMEOUT_SECONDS`.
    pub request_timeout_seconds: u64,
    /// `HEADER_READ_TIMEOUT_SECONDS`: a connection that has not sent a whole request head by
    /// then (a slow client, or an idle keep-alive connection) is closed.
    pub header_read_timeout_seconds: u64,
    /// `GRAPHQL_MAX_DEPTH`.
    pub graphql_max_depth: usize,
    /// `GRAPHQL_MAX_COMPLEXITY`.
    pub graphql_max_complexity: usize,
    /// `GRAPHQL_INTROSPECTION`: defaults to on outside production.
    pub graphql_introspection: Option<bool>,
    /// `GRAPHIQL`: the playground on `GET /graphql`; defaults to on outside production.
    pub graphiql: Option<bool>,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `DB_MAX_CONNECTIONS`.
    pub db_max_connections: u32,
    /// `DB_ACQUIRE_TIMEOUT_SECONDS`: how long a request waits for a database connection before
    /// it is answered `SERVICE_UNAVAILABLE` / 503.
    pub db_acquire_timeout_seconds: u64,
    /// `DB_CONNECT_RETRY_SECONDS`: how long start-up keeps retrying an unreachable database.
    pub db_connect_retry_seconds: u64,
    /// `SMTP_URL` (lettre's form, e.g. `smtp://user:pass@host:587?tls=required`); unset writes `.eml` files.
    pub smtp_url: Option<SecretString>,
    /// `MAIL_DIR`: where `.eml` files go without `SMTP_URL`; `DATA_DIR/mail` when unset.
    pub mail_dir: Option<PathBuf>,
    /// `MAIL_FROM`: the sender mailbox.
    pub mail_from: String,
    /// `SHOP_NAME`: named in every email.
    pub shop_name: String,
    /// `RESET_TOKEN_TTL_SECONDS`.
    pub reset_token_ttl_seconds: u64,
    /// `VERIFICATION_TOKEN_TTL_SECONDS`.
    pub verification_token_ttl_seconds: u64,
    /// `REQUIRE_EMAIL_VERIFICATION`: refuse login to unverified accounts.
    pub require_email_verification: bool,
    /// `REFRESH_TOKEN_COOKIE`: hand refresh tokens out as an HttpOnly, Secure, SameSite=Strict
    /// cookie scoped to `/graphql` instead of in payloads.
    pub refresh_token_cookie: bool,
    /// `MAIL_RESEND_COOLDOWN_SECONDS`: at most one reset and one verification email per customer per this.
    pub mail_resend_cooldown_seconds: u64,
    /// `MAIL_POLL_INTERVAL_MS`: how often the worker looks for due mail when not woken.
    pub mail_poll_interval_ms: u64,
    /// `MAIL_RETRY_BASE_MS`: first retry delay; doubles per attempt.
    pub mail_retry_base_ms: u64,
    /// `MAIL_MAX_ATTEMPTS`: temporary failures before a message may be given up on (it also
    /// has to be older than `MAIL_GIVE_UP_AFTER_SECONDS`).
    pub mail_max_attempts: i32,
    /// `MAIL_SEND_TIMEOUT_SECONDS`: the longest one delivery may take, greeting to the last reply.
    pub mail_send_timeout_seconds: u64,
    /// `MAIL_GIVE_UP_AFTER_SECONDS`: how long temporary failures (4xx, no connection, a timeout)
    /// are retried before a message is marked failed.
    pub mail_give_up_after_seconds: u64,
    /// `RATE_LIMIT_PER_MINUTE`: REST requests per client IP per window; 0 switches it off.
    pub rate_limit_per_minute: u32,
    /// `AUTH_RATE_LIMIT_PER_MINUTE`: credential operations per client IP per window (REST and GraphQL); 0 = off.
    pub auth_rate_limit_per_minute: u32,
    /// `GRAPHQL_RATE_LIMIT_PER_MINUTE`: `/graphql` requests per client IP per window; 0 = off.
    pub graphql_rate_limit_per_minute: u32,
    /// `RATE_LIMIT_WINDOW_SECONDS`: the window of both limits above (a minute unless tests shrink it).
    pub rate_limit_window_seconds: u64,
    /// `LOGIN_FAILURES_PER_EMAIL`: failed logins per email per `LOGIN_FAILURE_WINDOW_SECONDS`; 0 = off.
    pub login_failures_per_email: u32,
    /// `LOGIN_FAILURE_WINDOW_SECONDS`.
    pub login_failure_window_seconds: u64,
    /// `TRUSTED_PROXIES`: comma-separated proxy IPs whose `X-Forwarded-For` names the client.
    pub trusted_proxies: String,
    /// `LEGACY_REVEAL_UNKNOWN_EMAIL`: the Bagisto forgot-password path says when an email is unknown.
    pub legacy_reveal_unknown_email: bool,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated storefront origins (`https://shop.example`) whose
    /// browser pages may call the API; none by default.
    pub cors_allowed_origins: String,
    /// `METRICS`: Prometheus metrics at `GET /metrics`; on outside production.
    pub metrics: Option<bool>,
    /// `METRICS_LISTEN_ADDR`: serve `/metrics` on this address instead of `LISTEN_ADDR` (and
    /// switch metrics on in production too).
    pub metrics_listen_addr: Option<SocketAddr>,
    /// `CORS_ALLOWED_HEADERS`: comma-separated request headers those pages may send beyond
    /// `Authorization`, `Content-Type`, `Accept`, `X-Request-Id` and Apollo's client headers.
    pub cors_allowed_headers: String,
    /// `SESSION_CACHE_TTL_SECONDS`: how long a session checked against the database is trusted
    /// from memory at most (writes drop it at once); 0 turns the cache off.
    pub session_cache_ttl_seconds: u64,
    /// `SESSION_CACHE_CAPACITY`: the most sessions kept in memory.
    pub session_cache_capacity: u64,
    /// `REDIS_URL` (`redis://[:password@]host:port[/db]`): rate-limit counters and change
    /// notices shared by every replica; unset keeps limits in this process and announces
    /// changes through PostgreSQL.
    pub redis_url: Option<SecretString>,
    /// `REDIS_KEY_PREFIX`: starts every Redis key and channel name, so deployments can share a server.
    pub redis_key_prefix: String,
    /// `RATE_LIMIT_FAILURE_MODE`: the REST and GraphQL request limits while Redis cannot be reached.
    pub rate_limit_failure_mode: FailureMode,
    /// `AUTH_RATE_LIMIT_FAILURE_MODE`: the credential limit while Redis cannot be reached.
    pub auth_rate_limit_failure_mode: FailureMode,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            app_env: AppEnv::Development,
            database_url: None,
            data_dir: PathBuf::from("./data"),
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            jwt_secret: None,
            jwt_ttl_seconds: 3600,
            session_ttl_seconds: 30 * 24 * 3600,
            password_min_length: 8,
            password_min_score: 3,
            hash_concurrency: None,
            max_body_bytes: 64 * 1024,
            request_timeout_seconds: 30,
            header_read_timeout_seconds: 10,
            // GraphiQL's introspection query nests 13 deep; our own types nest at most 4, so
            // complexity (which counts every alias) is the limit that guards against abuse.
            graphql_max_depth: 16,
            graphql_max_complexity: 150,
            graphql_introspection: None,
            graphiql: None,
            log_format: LogFormat::Text,
            db_max_connections: 16,
            db_acquire_timeout_seconds: 2,
            db_connect_retry_seconds: 30,
            smtp_url: None,
            mail_dir: None,
            mail_from: "customer-accounts <no-reply@localhost>".to_owned(),
            shop_name: "Our shop".to_owned(),
            reset_token_ttl_seconds: 3600,
            verification_token_ttl_seconds: 24 * 3600,
            require_email_verification: false,
            refresh_token_cookie: false,
            mail_resend_cooldown_seconds: 60,
            mail_poll_interval_ms: 1000,
            mail_retry_base_ms: 2000,
            mail_max_attempts: 10,
            mail_send_timeout_seconds: 30,
            mail_give_up_after_seconds: 3 * 24 * 3600,
            rate_limit_per_minute: 60,
            auth_rate_limit_per_minute: 10,
            // A storefront makes a handful of calls a page view; ten a second per IP leaves room
            // for shoppers behind one NAT while bounding what one client can spend.
            graphql_rate_limit_per_minute: 600,
            rate_limit_window_seconds: 60,
            login_failures_per_email: 5,
            login_failure_window_seconds: 15 * 60,
            trusted_proxies: String::new(),
            legacy_reveal_unknown_email: false,
            cors_allowed_origins: String::new(),
            cors_allowed_headers: String::new(),
            metrics: None,
            metrics_listen_addr: None,
            session_cache_ttl_seconds: 30,
            session_cache_capacity: 100_000,
            redis_url: None,
            redis_key_prefix: "customer-accounts".to_owned(),
            rate_limit_failure_mode: FailureMode::Open,
            auth_rate_limit_failure_mode: FailureMode::Closed,
        }
    }
}

/// Why the service refuses to start; names the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    /// `variable` is at fault for `reason`.
    pub fn new(variable: &str, reason: impl Into<String>) -> Self {
        Self { variable: variable.to_owned(), reason: reason.into() }
    }
}

fn refuse(variable: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::new(variable, reason)
}

/// The password of a `scheme://user:password@host/…` URL, found by its punctuation alone, so
/// that it is found in a URL too malformed to parse.
fn url_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// `url` with its password replaced by `***`, fit for a log line or an error message.
pub fn redacted_url(url: &str) -> String {
    match url_password(url) {
        Some(password) => url.replacen(&format!(":{password}@"), ":***@", 1),
        None => url.to_owned(),
    }
}

impl Settings {
    /// Reads `.env` (if present) and the environment, then validates.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a broken one is not silently half-read.
        if let Err(err) = dotenvy::dotenv()
            && !err.not_found()
        {
            return Err(refuse(".env", err.to_string()));
        }
        let names: Vec<&str> = variables().iter().map(String::as_str).collect();
        let settings: Settings = Figment::from(Env::raw().only(&names)).extract().map_err(|err| {
            let variable = err.path.join("_").to_uppercase();
            refuse(if variable.is_empty() { "environment" } else { &variable }, err.kind.to_string())
        })?;
        settings.validate()
    }

    /// Checks values that parse but cannot work; returns the settings unchanged when they can.
    pub fn validate(self) -> Result<Self, ConfigError> {
        if let Some(url) = &self.public_url {
            let parsed = Url::parse(url).map_err(|e| refuse("PUBLIC_URL", e.to_string()))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(refuse("PUBLIC_URL", "must be an http:// or https:// URL"));
            }
        }
        match &self.jwt_secret {
            None if self.app_env == AppEnv::Production => {
                return Err(refuse("JWT_SECRET", "is required when APP_ENV=production"));
            }
            Some(secret) if secret.expose_secret().len() < MIN_JWT_SECRET_BYTES => {
                return Err(refuse(
                    "JWT_SECRET",
                    format!("must be at least {MIN_JWT_SECRET_BYTES} bytes long"),
                ));
            }
            _ => {}
        }
        let positive = [
            ("JWT_TTL_SECONDS", self.jwt_ttl_seconds),
            ("SESSION_TTL_SECONDS", self.session_ttl_seconds),
            ("REQUEST_TIMEOUT_SECONDS", self.request_timeout_seconds),
            ("HEADER_READ_TIMEOUT_SECONDS", self.header_read_timeout_seconds),
            ("GRAPHQL_MAX_DEPTH", self.graphql_max_depth as u64),
            ("GRAPHQL_MAX_COMPLEXITY", self.graphql_max_complexity as u64),
            ("DB_MAX_CONNECTIONS", u64::from(self.db_max_connections)),
            ("DB_ACQUIRE_TIMEOUT_SECONDS", self.db_acquire_timeout_seconds),
        ];
        for (variable, value) in positive {
            if value == 0 {
                return Err(refuse(variable, "must be greater than 0"));
            }
        }
        if !(1..=128).contains(&self.password_min_length) {
            return Err(refuse("PASSWORD_MIN_LENGTH", "must be between 1 and 128"));
        }
        if self.password_min_score > 4 {
            return Err(refuse("PASSWORD_MIN_SCORE", "must be between 0 and 4"));
        }
        if self.hash_concurrency == Some(0) {
            return Err(refuse("HASH_CONCURRENCY", "must be greater than 0"));
        }
        if let Some(url) = &self.smtp_url {
            let parsed = Url::parse(url.expose_secret()).map_err(|e| refuse("SMTP_URL", e.to_string()))?;
            if !matches!(parsed.scheme(), "smtp" | "smtps") {
                return Err(refuse("SMTP_URL", "must be an smtp:// or smtps:// URL"));
            }
            // lettre's own reading, options and all (an unknown `tls=` is refused here, at start,
            // rather than when the first letter is due). It connects to nothing.
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url.expose_secret())
                .map_err(|e| refuse("SMTP_URL", redacted_url(&e.to_string())))?;
        }
        if let Err(err) = self.mail_from.parse::<lettre::message::Mailbox>() {
            return Err(refuse("MAIL_FROM", err.to_string()));
        }
        let positive_mail = [
            ("RESET_TOKEN_TTL_SECONDS", self.reset_token_ttl_seconds),
            ("VERIFICATION_TOKEN_TTL_SECONDS", self.verification_token_ttl_seconds),
            ("MAIL_POLL_INTERVAL_MS", self.mail_poll_interval_ms),
            ("MAIL_RETRY_BASE_MS", self.mail_retry_base_ms),
            ("MAIL_MAX_ATTEMPTS", u64::try_from(self.mail_max_attempts).unwrap_or(0)),
            ("MAIL_SEND_TIMEOUT_SECONDS", self.mail_send_timeout_seconds),
        ];
        for (variable, value) in positive_mail {
            if value == 0 {
                return Err(refuse(variable, "must be greater than 0"));
            }
        }
        if self.rate_limit_window_seconds == 0 {
            return Err(refuse("RATE_LIMIT_WINDOW_SECONDS", "must be greater than 0"));
        }
        if self.login_failure_window_seconds == 0 {
            return Err(refuse("LOGIN_FAILURE_WINDOW_SECONDS", "must be greater than 0"));
        }
        self.trusted_proxies()
            .map_err(|bad| refuse("TRUSTED_PROXIES", format!("`{bad}` is not an IP address")))?;
        self.cors_allowed_headers()
            .map_err(|bad| refuse("CORS_ALLOWED_HEADERS", format!("`{bad}` is not a header name")))?;
        self.cors_allowed_origins().map_err(|bad| {
            refuse("CORS_ALLOWED_ORIGINS", format!("`{bad}` is not an origin like https://shop.example"))
        })?;
        let on_postgres = self.database_url.as_deref().is_some_and(|url| url.starts_with("postgres"));
        if on_postgres && self.redis_url.is_none() && self.db_max_connections < 2 {
            return Err(refuse(
                "DB_MAX_CONNECTIONS",
                "must be at least 2 on PostgreSQL without REDIS_URL: one connection listens for changes",
            ));
        }
        if self.session_cache_capacity == 0 {
            return Err(refuse("SESSION_CACHE_CAPACITY", "must be greater than 0"));
        }
        if let Some(url) = &self.redis_url {
            let parsed = Url::parse(url.expose_secret()).map_err(|e| refuse("REDIS_URL", e.to_string()))?;
            if parsed.scheme() != "redis" {
                return Err(refuse("REDIS_URL", "must be a redis:// URL"));
            }
            redis::Client::open(url.expose_secret()).map_err(|e| refuse("REDIS_URL", e.to_string()))?;
        }
        if self.max_body_bytes < 1024 {
            return Err(refuse("MAX_BODY_BYTES", "must be at least 1024"));
        }
        Ok(self)
    }

    /// The secrets in these settings (passwords in URLs, the JWT key): an error message that
    /// somehow quotes one has it replaced before it is printed.
    pub fn secrets(&self) -> Vec<String> {
        let password = |url: &str| url_password(url).map(str::to_owned);
        let mut secrets: Vec<String> = [
            self.database_url.as_deref().and_then(password),
            self.smtp_url.as_ref().and_then(|url| password(url.expose_secret())),
            self.redis_url.as_ref().and_then(|url| password(url.expose_secret())),
            self.jwt_secret.as_ref().map(|secret| secret.expose_secret().to_owned()),
        ]
        .into_iter()
        .flatten()
        .filter(|secret| !secret.is_empty())
        .collect();
        // Percent-encoded passwords appear decoded in some messages.
        let decoded: Vec<String> = secrets
            .iter()
            .filter_map(|s| {
                url::form_urlencoded::parse(format!("p={s}").as_bytes()).next().map(|(_, v)| v.into_owned())
            })
            .collect();
        secrets.extend(decoded);
        secrets
    }

    /// The variable that names the database: `DATABASE_URL`, or `DATA_DIR` for the default file.
    pub fn database_variable(&self) -> &'static str {
        if self.database_url.is_some() { "DATABASE_URL" } else { "DATA_DIR" }
    }

    /// The database to use: `DATABASE_URL`, or a SQLite file in the data folder.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("customer-accounts.db").display())
        })
    }

    /// The base URL customers use to reach the service (no trailing slash).
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen_addr),
        }
    }

    /// Whether production's strict defaults apply.
    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }

    /// Whether GraphQL introspection answers.
    pub fn introspection_enabled(&self) -> bool {
        self.graphql_introspection.unwrap_or(!self.is_production())
    }

    /// Whether `GET /graphql` serves the GraphiQL playground.
    pub fn graphiql_enabled(&self) -> bool {
        self.graphiql.unwrap_or(!self.is_production())
    }

    /// How many argon2 computations may run at once.
    pub fn hash_concurrency(&self) -> usize {
        self.hash_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map(usize::from).unwrap_or(2))
    }

    /// The proxies whose `X-Forwarded-For` is believed; the first unparsable entry on error.
    pub fn trusted_proxies(&self) -> Result<Vec<std::net::IpAddr>, String> {
        self.trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().map_err(|_| p.to_owned()))
            .collect()
    }

    /// The origins allowed to call from a browser; the first malformed entry on error.
    pub fn cors_allowed_origins(&self) -> Result<Vec<String>, String> {
        self.cors_allowed_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|origin| match Url::parse(origin) {
                Ok(url)
                    if matches!(url.scheme(), "http" | "https")
                        && url.path() == "/"
                        && url.query().is_none() =>
                {
                    Ok(origin.trim_end_matches('/').to_owned())
                }
                _ => Err(origin.to_owned()),
            })
            .collect()
    }

    /// The extra request headers storefront pages may send; the first malformed name on error.
    pub fn cors_allowed_headers(&self) -> Result<Vec<axum::http::HeaderName>, String> {
        self.cors_allowed_headers
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|name| axum::http::HeaderName::try_from(name).map_err(|_| name.to_owned()))
            .collect()
    }

    /// Whether `/metrics` is served: `METRICS`, else on outside production or with its own address.
    pub fn metrics_enabled(&self) -> bool {
        self.metrics.unwrap_or(self.app_env != AppEnv::Production || self.metrics_listen_addr.is_some())
    }

    /// Where `.eml` files are written without `SMTP_URL`.
    pub fn mail_dir(&self) -> PathBuf {
        self.mail_dir.clone().unwrap_or_else(|| self.data_dir.join("mail"))
    }

    /// Access-token lifetime.
    pub fn jwt_ttl(&self) -> Duration {
        Duration::from_secs(self.jwt_ttl_seconds)
    }

    /// Session lifetime.
    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.session_ttl_seconds)
    }

    /// How long a cached session is trusted at most; zero when the cache is off.
    pub fn session_cache_ttl(&self) -> Duration {
        Duration::from_secs(self.session_cache_ttl_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variables the README's configuration table documents, in its order.
    fn documented() -> Vec<String> {
        let readme = include_str!("../README.md");
        let section = readme.split("## Configuration").nth(1).unwrap_or_default();
        let section = section.split("\n## ").next().unwrap_or_default();
        section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|line| line.split_once('`').map(|(name, _)| name.to_owned()))
            .collect()
    }

    #[test]
    fn every_setting_is_read_from_its_variable_and_documented_in_the_readme() {
        let mut read: Vec<String> = variables().to_vec();
        // Read by tracing-subscriber's filter, not by Settings.
        let mut documented: Vec<String> = documented().into_iter().filter(|v| v != "RUST_LOG").collect();
        assert!(read.contains(&"MAIL_FROM".to_owned()) && read.len() > 40, "{read:?}");
        read.sort();
        documented.sort();
        assert_eq!(read, documented, "the README's table and Settings must list the same variables");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure type, not ours.
    fn a_variable_from_the_environment_reaches_its_setting() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MAIL_SEND_TIMEOUT_SECONDS", "7");
            jail.set_env("SHOP_NAME", "Read");
            let names: Vec<&str> = variables().iter().map(String::as_str).collect();
            let settings: Settings = Figment::from(Env::raw().only(&names)).extract()?;
            assert_eq!((settings.mail_send_timeout_seconds, settings.shop_name.as_str()), (7, "Read"));
            Ok(())
        });
    }

    #[test]
    fn passwords_are_redacted_even_from_urls_that_do_not_parse() {
        assert_eq!(redacted_url("postgres://app:s3cret@db:5432/shop"), "postgres://app:***@db:5432/shop");
        assert_eq!(redacted_url("postgres://app:s3cret@db:port/shop"), "postgres://app:***@db:port/shop");
        assert_eq!(redacted_url("postgres://a:p@ss@db/shop"), "postgres://a:***@db/shop");
        assert_eq!(redacted_url("sqlite://data/x.db?mode=rwc"), "sqlite://data/x.db?mode=rwc");
        let settings =
            Settings { database_url: Some("postgres://app:p%40ss@db/x".into()), ..Settings::default() };
        assert!(settings.secrets().contains(&"p%40ss".to_owned()));
        assert!(settings.secrets().contains(&"p@ss".to_owned()));
    }

    fn with_secret(secret: &str) -> Settings {
        Settings { jwt_secret: Some(SecretString::from(secret)), ..Settings::default() }
    }

    #[test]
    fn production_without_a_secret_refuses_to_start_naming_jwt_secret() {
        let err = Settings { app_env: AppEnv::Production, ..Settings::default() }
            .validate()
            .err()
            .map(|e| e.variable);
        assert_eq!(err.as_deref(), Some("JWT_SECRET"));
    }

    #[test]
    fn a_secret_shorter_than_32_bytes_is_refused() {
        let err = with_secret("short").validate().err().map(|e| e.variable);
        assert_eq!(err.as_deref(), Some("JWT_SECRET"));
        assert!(with_secret(&"x".repeat(32)).validate().is_ok());
    }

    #[test]
    fn a_password_score_above_four_is_refused() {
        let settings = Settings { password_min_score: 5, ..Settings::default() };
        assert_eq!(settings.validate().err().map(|e| e.variable).as_deref(), Some("PASSWORD_MIN_SCORE"));
        assert!(Settings { password_min_score: 4, ..Settings::default() }.validate().is_ok());
    }

    #[test]
    fn one_database_connection_is_refused_when_it_would_be_held_by_the_change_listener() {
        let postgres = |max| Settings {
            database_url: Some("postgres://db/shop".into()),
            db_max_connections: max,
            ..Settings::default()
        };
        assert_eq!(postgres(1).validate().err().map(|e| e.variable).as_deref(), Some("DB_MAX_CONNECTIONS"));
        assert!(postgres(2).validate().is_ok());
        let with_redis =
            Settings { redis_url: Some(SecretString::from("redis://127.0.0.1:6379")), ..postgres(1) };
        assert!(with_redis.validate().is_ok(), "notices go through Redis");
    }

    #[test]
    fn a_public_url_that_is_not_http_is_refused() {
        let settings = Settings { public_url: Some("ftp://shop".into()), ..Settings::default() };
        assert_eq!(settings.validate().err().map(|e| e.variable).as_deref(), Some("PUBLIC_URL"));
    }

    #[test]
    fn cors_origins_must_be_bare_http_origins() {
        let with = |origins: &str| Settings { cors_allowed_origins: origins.into(), ..Settings::default() };
        assert!(with("https://shop.example, http://localhost:3000").validate().is_ok());
        for bad in ["shop.example", "https://shop.example/path", "*"] {
            let err = with(bad).validate().err().map(|e| e.variable);
            assert_eq!(err.as_deref(), Some("CORS_ALLOWED_ORIGINS"), "{bad}");
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure type, not ours.
    fn a_malformed_number_in_the_environment_names_its_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("JWT_TTL_SECONDS", "soon");
            let err = Settings::from_env().err().map(|e| e.variable);
            assert_eq!(err.as_deref(), Some("JWT_TTL_SECONDS"));
            Ok(())
        });
    }
}
