//! Settings: defaults, environment variables (and `.env`), validation before anything starts.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use axum::http::HeaderName;

use figment::{Figment, providers::Env};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

/// Every environment variable the service reads, and nothing else: one per [`Environment`]
/// field, named after it (`mail_from` is `MAIL_FROM`). Derived from the struct itself, so a
/// setting cannot be declared and then never read.
pub fn variables() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| settings_fields().iter().map(|field| field.to_uppercase()).collect())
}

/// The field names serde's derive gives `Environment`, read by a deserializer that only listens.
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
    let _ = Environment::deserialize(&mut listener);
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

/// The environment as the service reads it: one field per variable, each parsed by its type.
/// [`Settings`] groups and checks it.
#[derive(Clone, Deserialize)]
#[serde(default)]
struct Environment {
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
    /// `HASH_NICE`: the hashing threads' nice value (0–19); higher yields more CPU to requests.
    pub hash_nice: u8,
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
    /// `WEBHOOK_TIMEOUT_SECONDS`: the longest one webhook delivery may take, connect to answer.
    pub webhook_timeout_seconds: u64,
    /// `WEBHOOK_RETRY_FOR_SECONDS`: how long a failing delivery is retried before its endpoint
    /// is disabled.
    pub webhook_retry_for_seconds: u64,
    /// `WEBHOOK_ALLOW_PRIVATE_NETWORKS`: let production endpoints use http and private,
    /// loopback and link-local addresses (development and tests only).
    pub webhook_allow_private_networks: bool,
}

impl Default for Environment {
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
            hash_nice: 14,
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
            webhook_timeout_seconds: 10,
            webhook_retry_for_seconds: 3 * 24 * 3600,
            webhook_allow_private_networks: false,
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

/// The service's configuration, loaded once at start, grouped by concern and passed down in
/// `AppState`. Each value is parsed once, here: lists (proxies, origins, headers) arrive parsed.
/// The doc comment of each field names its environment variable.
#[derive(Clone)]
pub struct Settings {
    /// `APP_ENV`.
    pub app_env: AppEnv,
    /// The HTTP side: where to listen, what a request may be, who may call from a browser.
    pub server: Server,
    /// Where the accounts are kept.
    pub database: Database,
    /// What a GraphQL document may cost, and the tools on `/graphql`.
    pub graphql: Graphql,
    /// Tokens, sessions and passwords.
    pub auth: Auth,
    /// Letters and the work queue that delivers them.
    pub mail: Mail,
    /// Rate limits and the per-address lockout.
    pub limits: RateLimits,
    /// The session cache.
    pub cache: Cache,
    /// Redis, shared by replicas.
    pub redis: RedisSettings,
    /// Choices about the legacy REST paths.
    pub legacy: Legacy,
    /// Delivering events to the shops' webhook endpoints.
    pub webhooks: Webhooks,
}

/// The HTTP side.
#[derive(Clone)]
pub struct Server {
    /// `LISTEN_ADDR`.
    pub listen_addr: SocketAddr,
    /// `PUBLIC_URL`: the address customers reach; JWT issuer and link base.
    pub public_url: Option<String>,
    /// `MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// `REQUEST_TIMEOUT_SECONDS`.
    pub request_timeout_seconds: u64,
    /// `HEADER_READ_TIMEOUT_SECONDS`: a connection that has not sent a whole request head by
    /// then (a slow client, or an idle keep-alive connection) is closed.
    pub header_read_timeout_seconds: u64,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `METRICS`: Prometheus metrics at `GET /metrics`; on outside production.
    pub metrics: Option<bool>,
    /// `METRICS_LISTEN_ADDR`: serve `/metrics` on this address instead of `LISTEN_ADDR`.
    pub metrics_listen_addr: Option<SocketAddr>,
    /// `TRUSTED_PROXIES`: proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpAddr>,
    /// `CORS_ALLOWED_ORIGINS`: storefront origins (`https://shop.example`) whose browser pages
    /// may call the API.
    pub cors_allowed_origins: Vec<String>,
    /// `CORS_ALLOWED_HEADERS`: request headers those pages may send beyond the standard ones.
    pub cors_allowed_headers: Vec<HeaderName>,
}

/// Where the accounts are kept.
#[derive(Clone)]
pub struct Database {
    /// `DATABASE_URL`; the SQLite file in `data_dir` when unset.
    pub url: Option<String>,
    /// `DATA_DIR`: the SQLite file and the generated development secret live here.
    pub data_dir: PathBuf,
    /// `DB_MAX_CONNECTIONS`.
    pub max_connections: u32,
    /// `DB_ACQUIRE_TIMEOUT_SECONDS`: how long a request waits for a connection.
    pub acquire_timeout_seconds: u64,
    /// `DB_CONNECT_RETRY_SECONDS`: how long start-up keeps retrying an unreachable database.
    pub connect_retry_seconds: u64,
}

/// What a GraphQL document may cost, and the tools on `/graphql`.
#[derive(Clone)]
pub struct Graphql {
    /// `GRAPHQL_MAX_DEPTH`.
    pub max_depth: usize,
    /// `GRAPHQL_MAX_COMPLEXITY`.
    pub max_complexity: usize,
    /// `GRAPHQL_INTROSPECTION`: defaults to on outside production.
    pub introspection: Option<bool>,
    /// `GRAPHIQL`: the playground on `GET /graphql`; defaults to on outside production.
    pub graphiql: Option<bool>,
}

/// Tokens, sessions and passwords.
#[derive(Clone)]
pub struct Auth {
    /// `JWT_SECRET`: HS256 key; generated and kept in the data folder outside production.
    pub jwt_secret: Option<SecretString>,
    /// `JWT_TTL_SECONDS`: lifetime of one access token.
    pub jwt_ttl_seconds: u64,
    /// `SESSION_TTL_SECONDS`: how long a login lasts when its tokens are refreshed.
    pub session_ttl_seconds: u64,
    /// `PASSWORD_MIN_LENGTH`, in characters.
    pub password_min_length: usize,
    /// `PASSWORD_MIN_SCORE`: the zxcvbn score (0–4) a new password needs; 0 turns the check off.
    pub password_min_score: u8,
    /// `HASH_CONCURRENCY`: argon2 runs at once; the core count when unset.
    pub hash_concurrency: Option<usize>,
    /// `HASH_NICE`: the hashing threads' nice value, 0–19.
    pub hash_nice: u8,
    /// `REQUIRE_EMAIL_VERIFICATION`: refuse login to unverified accounts.
    pub require_email_verification: bool,
    /// `REFRESH_TOKEN_COOKIE`: refresh tokens as an HttpOnly, Secure, SameSite=Strict cookie.
    pub refresh_token_cookie: bool,
}

/// Letters, and the work queue that delivers them.
#[derive(Clone)]
pub struct Mail {
    /// `SMTP_URL` (lettre's form); unset writes `.eml` files.
    pub smtp_url: Option<SecretString>,
    /// `MAIL_DIR`: where `.eml` files go without `SMTP_URL`; `DATA_DIR/mail` when unset.
    pub dir: Option<PathBuf>,
    /// `MAIL_FROM`: the sender mailbox.
    pub from: String,
    /// `SHOP_NAME`: named in every email.
    pub shop_name: String,
    /// `RESET_TOKEN_TTL_SECONDS`.
    pub reset_token_ttl_seconds: u64,
    /// `VERIFICATION_TOKEN_TTL_SECONDS`.
    pub verification_token_ttl_seconds: u64,
    /// `MAIL_RESEND_COOLDOWN_SECONDS`: at most one reset and one verification email per this.
    pub resend_cooldown_seconds: u64,
    /// `MAIL_POLL_INTERVAL_MS`: how often the work queue looks for due work when not woken.
    pub poll_interval_ms: u64,
    /// `MAIL_RETRY_BASE_MS`: the queue's first retry delay; doubles per attempt.
    pub retry_base_ms: u64,
    /// `MAIL_MAX_ATTEMPTS`: temporary failures before a letter may be given up on.
    pub max_attempts: i32,
    /// `MAIL_SEND_TIMEOUT_SECONDS`: the longest one delivery may take.
    pub send_timeout_seconds: u64,
    /// `MAIL_GIVE_UP_AFTER_SECONDS`: how long temporary failures are retried.
    pub give_up_after_seconds: u64,
}

/// Rate limits and the per-address lockout.
#[derive(Clone)]
pub struct RateLimits {
    /// `RATE_LIMIT_PER_MINUTE`: REST requests per client IP per window; 0 = off.
    pub rest_per_window: u32,
    /// `AUTH_RATE_LIMIT_PER_MINUTE`: credential operations per client IP per window; 0 = off.
    pub credentials_per_window: u32,
    /// `GRAPHQL_RATE_LIMIT_PER_MINUTE`: `/graphql` requests per client IP per window; 0 = off.
    pub graphql_per_window: u32,
    /// `RATE_LIMIT_WINDOW_SECONDS`: the window of the three limits above.
    pub window_seconds: u64,
    /// `LOGIN_FAILURES_PER_EMAIL`: failed password checks per address per window; 0 = off.
    pub login_failures_per_email: u32,
    /// `LOGIN_FAILURE_WINDOW_SECONDS`.
    pub login_failure_window_seconds: u64,
    /// `RATE_LIMIT_FAILURE_MODE`: the request limits while Redis cannot be reached.
    pub failure_mode: FailureMode,
    /// `AUTH_RATE_LIMIT_FAILURE_MODE`: the credential limit while Redis cannot be reached.
    pub auth_failure_mode: FailureMode,
}

/// The session cache.
#[derive(Clone)]
pub struct Cache {
    /// `SESSION_CACHE_TTL_SECONDS`: how long a session is trusted from memory; 0 = off.
    pub ttl_seconds: u64,
    /// `SESSION_CACHE_CAPACITY`: the most sessions kept in memory.
    pub capacity: u64,
}

/// Redis, shared by replicas.
#[derive(Clone)]
pub struct RedisSettings {
    /// `REDIS_URL`: rate-limit counters and change notices shared by every replica.
    pub url: Option<SecretString>,
    /// `REDIS_KEY_PREFIX`: starts every Redis key and channel name.
    pub key_prefix: String,
}

/// Choices about the legacy REST paths.
#[derive(Clone)]
pub struct Legacy {
    /// `LEGACY_REVEAL_UNKNOWN_EMAIL`: Bagisto's forgot-password says when an email is unknown.
    pub reveal_unknown_email: bool,
}

/// Delivering events to the shops' webhook endpoints.
#[derive(Clone)]
pub struct Webhooks {
    /// `WEBHOOK_TIMEOUT_SECONDS`: the longest one delivery may take.
    pub timeout_seconds: u64,
    /// `WEBHOOK_RETRY_FOR_SECONDS`: how long a failing delivery is retried.
    pub retry_for_seconds: u64,
    /// `WEBHOOK_ALLOW_PRIVATE_NETWORKS`: lift the production guard against private networks.
    pub allow_private_networks: bool,
}

impl TryFrom<Environment> for Settings {
    type Error = ConfigError;

    fn try_from(env: Environment) -> Result<Self, ConfigError> {
        let proxies = list(&env.trusted_proxies)
            .map(|p| p.parse().map_err(|_| refuse("TRUSTED_PROXIES", format!("`{p}` is not an IP address"))))
            .collect::<Result<_, _>>()?;
        let origins = list(&env.cors_allowed_origins).map(origin).collect::<Result<_, _>>()?;
        let headers = list(&env.cors_allowed_headers)
            .map(|h| {
                HeaderName::try_from(h)
                    .map_err(|_| refuse("CORS_ALLOWED_HEADERS", format!("`{h}` is not a header name")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self::assemble(env, proxies, origins, headers))
    }
}

impl Settings {
    /// `env` grouped by concern, with its lists as parsed.
    fn assemble(
        env: Environment,
        proxies: Vec<IpAddr>,
        origins: Vec<String>,
        headers: Vec<HeaderName>,
    ) -> Self {
        Self {
            app_env: env.app_env,
            server: Server {
                listen_addr: env.listen_addr,
                public_url: env.public_url,
                max_body_bytes: env.max_body_bytes,
                request_timeout_seconds: env.request_timeout_seconds,
                header_read_timeout_seconds: env.header_read_timeout_seconds,
                log_format: env.log_format,
                metrics: env.metrics,
                metrics_listen_addr: env.metrics_listen_addr,
                trusted_proxies: proxies,
                cors_allowed_origins: origins,
                cors_allowed_headers: headers,
            },
            database: Database {
                url: env.database_url,
                data_dir: env.data_dir,
                max_connections: env.db_max_connections,
                acquire_timeout_seconds: env.db_acquire_timeout_seconds,
                connect_retry_seconds: env.db_connect_retry_seconds,
            },
            graphql: Graphql {
                max_depth: env.graphql_max_depth,
                max_complexity: env.graphql_max_complexity,
                introspection: env.graphql_introspection,
                graphiql: env.graphiql,
            },
            auth: Auth {
                jwt_secret: env.jwt_secret,
                jwt_ttl_seconds: env.jwt_ttl_seconds,
                session_ttl_seconds: env.session_ttl_seconds,
                password_min_length: env.password_min_length,
                password_min_score: env.password_min_score,
                hash_concurrency: env.hash_concurrency,
                hash_nice: env.hash_nice,
                require_email_verification: env.require_email_verification,
                refresh_token_cookie: env.refresh_token_cookie,
            },
            mail: Mail {
                smtp_url: env.smtp_url,
                dir: env.mail_dir,
                from: env.mail_from,
                shop_name: env.shop_name,
                reset_token_ttl_seconds: env.reset_token_ttl_seconds,
                verification_token_ttl_seconds: env.verification_token_ttl_seconds,
                resend_cooldown_seconds: env.mail_resend_cooldown_seconds,
                poll_interval_ms: env.mail_poll_interval_ms,
                retry_base_ms: env.mail_retry_base_ms,
                max_attempts: env.mail_max_attempts,
                send_timeout_seconds: env.mail_send_timeout_seconds,
                give_up_after_seconds: env.mail_give_up_after_seconds,
            },
            limits: RateLimits {
                rest_per_window: env.rate_limit_per_minute,
                credentials_per_window: env.auth_rate_limit_per_minute,
                graphql_per_window: env.graphql_rate_limit_per_minute,
                window_seconds: env.rate_limit_window_seconds,
                login_failures_per_email: env.login_failures_per_email,
                login_failure_window_seconds: env.login_failure_window_seconds,
                failure_mode: env.rate_limit_failure_mode,
                auth_failure_mode: env.auth_rate_limit_failure_mode,
            },
            cache: Cache { ttl_seconds: env.session_cache_ttl_seconds, capacity: env.session_cache_capacity },
            redis: RedisSettings { url: env.redis_url, key_prefix: env.redis_key_prefix },
            legacy: Legacy { reveal_unknown_email: env.legacy_reveal_unknown_email },
            webhooks: Webhooks {
                timeout_seconds: env.webhook_timeout_seconds,
                retry_for_seconds: env.webhook_retry_for_seconds,
                allow_private_networks: env.webhook_allow_private_networks,
            },
        }
    }
}

/// The entries of a comma-separated list, trimmed, blanks dropped.
fn list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|entry| !entry.is_empty())
}

/// A storefront origin: an http(s) URL with no path or query, without its trailing slash.
fn origin(raw: &str) -> Result<String, ConfigError> {
    match Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.path() == "/" && url.query().is_none() => {
            Ok(raw.trim_end_matches('/').to_owned())
        }
        _ => {
            Err(refuse("CORS_ALLOWED_ORIGINS", format!("`{raw}` is not an origin like https://shop.example")))
        }
    }
}

impl Default for Settings {
    /// The settings with no variable set (whose lists are empty).
    fn default() -> Self {
        Self::assemble(Environment::default(), Vec::new(), Vec::new(), Vec::new())
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
        let env: Environment = Figment::from(Env::raw().only(&names)).extract().map_err(|err| {
            let variable = err.path.join("_").to_uppercase();
            refuse(if variable.is_empty() { "environment" } else { &variable }, err.kind.to_string())
        })?;
        Settings::try_from(env)?.validate()
    }

    /// Checks values that parse but cannot work; returns the settings unchanged when they can.
    pub fn validate(self) -> Result<Self, ConfigError> {
        if let Some(url) = &self.server.public_url {
            let parsed = Url::parse(url).map_err(|e| refuse("PUBLIC_URL", e.to_string()))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(refuse("PUBLIC_URL", "must be an http:// or https:// URL"));
            }
        }
        match &self.auth.jwt_secret {
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
            ("JWT_TTL_SECONDS", self.auth.jwt_ttl_seconds),
            ("SESSION_TTL_SECONDS", self.auth.session_ttl_seconds),
            ("REQUEST_TIMEOUT_SECONDS", self.server.request_timeout_seconds),
            ("HEADER_READ_TIMEOUT_SECONDS", self.server.header_read_timeout_seconds),
            ("GRAPHQL_MAX_DEPTH", self.graphql.max_depth as u64),
            ("GRAPHQL_MAX_COMPLEXITY", self.graphql.max_complexity as u64),
            ("DB_MAX_CONNECTIONS", u64::from(self.database.max_connections)),
            ("DB_ACQUIRE_TIMEOUT_SECONDS", self.database.acquire_timeout_seconds),
        ];
        for (variable, value) in positive {
            if value == 0 {
                return Err(refuse(variable, "must be greater than 0"));
            }
        }
        if !(1..=128).contains(&self.auth.password_min_length) {
            return Err(refuse("PASSWORD_MIN_LENGTH", "must be between 1 and 128"));
        }
        if self.auth.password_min_score > 4 {
            return Err(refuse("PASSWORD_MIN_SCORE", "must be between 0 and 4"));
        }
        if self.auth.hash_concurrency == Some(0) {
            return Err(refuse("HASH_CONCURRENCY", "must be greater than 0"));
        }
        if self.auth.hash_nice > 19 {
            return Err(refuse("HASH_NICE", "must be between 0 and 19"));
        }
        if let Some(url) = &self.mail.smtp_url {
            let parsed = Url::parse(url.expose_secret()).map_err(|e| refuse("SMTP_URL", e.to_string()))?;
            if !matches!(parsed.scheme(), "smtp" | "smtps") {
                return Err(refuse("SMTP_URL", "must be an smtp:// or smtps:// URL"));
            }
            // lettre's own reading, options and all (an unknown `tls=` is refused here, at start,
            // rather than when the first letter is due). It connects to nothing.
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url.expose_secret())
                .map_err(|e| refuse("SMTP_URL", redacted_url(&e.to_string())))?;
        }
        if let Err(err) = self.mail.from.parse::<lettre::message::Mailbox>() {
            return Err(refuse("MAIL_FROM", err.to_string()));
        }
        let positive_mail = [
            ("RESET_TOKEN_TTL_SECONDS", self.mail.reset_token_ttl_seconds),
            ("VERIFICATION_TOKEN_TTL_SECONDS", self.mail.verification_token_ttl_seconds),
            ("MAIL_POLL_INTERVAL_MS", self.mail.poll_interval_ms),
            ("MAIL_RETRY_BASE_MS", self.mail.retry_base_ms),
            ("MAIL_MAX_ATTEMPTS", u64::try_from(self.mail.max_attempts).unwrap_or(0)),
            ("MAIL_SEND_TIMEOUT_SECONDS", self.mail.send_timeout_seconds),
            ("WEBHOOK_TIMEOUT_SECONDS", self.webhooks.timeout_seconds),
        ];
        for (variable, value) in positive_mail {
            if value == 0 {
                return Err(refuse(variable, "must be greater than 0"));
            }
        }
        if self.limits.window_seconds == 0 {
            return Err(refuse("RATE_LIMIT_WINDOW_SECONDS", "must be greater than 0"));
        }
        if self.limits.login_failure_window_seconds == 0 {
            return Err(refuse("LOGIN_FAILURE_WINDOW_SECONDS", "must be greater than 0"));
        }
        let on_postgres = self.database.url.as_deref().is_some_and(|url| url.starts_with("postgres"));
        if on_postgres && self.redis.url.is_none() && self.database.max_connections < 2 {
            return Err(refuse(
                "DB_MAX_CONNECTIONS",
                "must be at least 2 on PostgreSQL without REDIS_URL: one connection listens for changes",
            ));
        }
        if self.cache.capacity == 0 {
            return Err(refuse("SESSION_CACHE_CAPACITY", "must be greater than 0"));
        }
        if let Some(url) = &self.redis.url {
            let parsed = Url::parse(url.expose_secret()).map_err(|e| refuse("REDIS_URL", e.to_string()))?;
            if parsed.scheme() != "redis" {
                return Err(refuse("REDIS_URL", "must be a redis:// URL"));
            }
            redis::Client::open(url.expose_secret()).map_err(|e| refuse("REDIS_URL", e.to_string()))?;
        }
        if self.server.max_body_bytes < 1024 {
            return Err(refuse("MAX_BODY_BYTES", "must be at least 1024"));
        }
        Ok(self)
    }

    /// The secrets in these settings (passwords in URLs, the JWT key): an error message that
    /// somehow quotes one has it replaced before it is printed.
    pub fn secrets(&self) -> Vec<String> {
        let password = |url: &str| url_password(url).map(str::to_owned);
        let mut secrets: Vec<String> = [
            self.database.url.as_deref().and_then(password),
            self.mail.smtp_url.as_ref().and_then(|url| password(url.expose_secret())),
            self.redis.url.as_ref().and_then(|url| password(url.expose_secret())),
            self.auth.jwt_secret.as_ref().map(|secret| secret.expose_secret().to_owned()),
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
        if self.database.url.is_some() { "DATABASE_URL" } else { "DATA_DIR" }
    }

    /// The database to use: `DATABASE_URL`, or a SQLite file in the data folder.
    pub fn database_url(&self) -> String {
        self.database.url.clone().unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", self.database.data_dir.join("customer-accounts.db").display())
        })
    }

    /// The base URL customers use to reach the service (no trailing slash).
    pub fn public_url(&self) -> String {
        match &self.server.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.server.listen_addr),
        }
    }

    /// Whether production's strict defaults apply.
    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }

    /// Whether GraphQL introspection answers.
    pub fn introspection_enabled(&self) -> bool {
        self.graphql.introspection.unwrap_or(!self.is_production())
    }

    /// Whether `GET /graphql` serves the GraphiQL playground.
    pub fn graphiql_enabled(&self) -> bool {
        self.graphql.graphiql.unwrap_or(!self.is_production())
    }

    /// How many argon2 computations may run at once.
    pub fn hash_concurrency(&self) -> usize {
        self.auth
            .hash_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map(usize::from).unwrap_or(2))
    }

    /// Whether `/metrics` is served: `METRICS`, else on outside production or with its own address.
    pub fn metrics_enabled(&self) -> bool {
        self.server
            .metrics
            .unwrap_or(self.app_env != AppEnv::Production || self.server.metrics_listen_addr.is_some())
    }

    /// Where `.eml` files are written without `SMTP_URL`.
    pub fn mail_dir(&self) -> PathBuf {
        self.mail.dir.clone().unwrap_or_else(|| self.database.data_dir.join("mail"))
    }

    /// Access-token lifetime.
    pub fn jwt_ttl(&self) -> Duration {
        Duration::from_secs(self.auth.jwt_ttl_seconds)
    }

    /// Session lifetime.
    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.auth.session_ttl_seconds)
    }

    /// How long a cached session is trusted at most; zero when the cache is off.
    pub fn session_cache_ttl(&self) -> Duration {
        Duration::from_secs(self.cache.ttl_seconds)
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
            let env: Environment = Figment::from(Env::raw().only(&names)).extract()?;
            let settings = Settings::try_from(env).map_err(|e| e.to_string())?;
            assert_eq!((settings.mail.send_timeout_seconds, settings.mail.shop_name.as_str()), (7, "Read"));
            Ok(())
        });
    }

    #[test]
    fn passwords_are_redacted_even_from_urls_that_do_not_parse() {
        assert_eq!(redacted_url("postgres://app:s3cret@db:5432/shop"), "postgres://app:***@db:5432/shop");
        assert_eq!(redacted_url("postgres://app:s3cret@db:port/shop"), "postgres://app:***@db:port/shop");
        assert_eq!(redacted_url("postgres://a:p@ss@db/shop"), "postgres://a:***@db/shop");
        assert_eq!(redacted_url("sqlite://data/x.db?mode=rwc"), "sqlite://data/x.db?mode=rwc");
        let mut settings = Settings::default();
        settings.database.url = Some("postgres://app:p%40ss@db/x".into());
        assert!(settings.secrets().contains(&"p%40ss".to_owned()));
        assert!(settings.secrets().contains(&"p@ss".to_owned()));
    }

    fn with_secret(secret: &str) -> Settings {
        let mut settings = Settings::default();
        settings.auth.jwt_secret = Some(SecretString::from(secret));
        settings
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

    /// The variable validation refuses in the default settings with `auth` changed by `change`.
    fn refused_with_auth(change: impl FnOnce(&mut Auth)) -> Option<String> {
        let mut settings = Settings::default();
        change(&mut settings.auth);
        settings.validate().err().map(|e| e.variable)
    }

    #[test]
    fn a_password_score_above_four_is_refused() {
        assert_eq!(
            refused_with_auth(|auth| auth.password_min_score = 5).as_deref(),
            Some("PASSWORD_MIN_SCORE")
        );
        assert_eq!(refused_with_auth(|auth| auth.password_min_score = 4), None);
    }

    #[test]
    fn a_hash_nice_value_above_19_is_refused() {
        assert_eq!(refused_with_auth(|auth| auth.hash_nice = 20).as_deref(), Some("HASH_NICE"));
        assert_eq!(refused_with_auth(|auth| auth.hash_nice = 19), None);
        assert_eq!(refused_with_auth(|auth| auth.hash_nice = 0), None);
    }

    #[test]
    fn one_database_connection_is_refused_when_it_would_be_held_by_the_change_listener() {
        let postgres = |max| {
            let mut settings = Settings::default();
            settings.database.url = Some("postgres://db/shop".into());
            settings.database.max_connections = max;
            settings
        };
        assert_eq!(postgres(1).validate().err().map(|e| e.variable).as_deref(), Some("DB_MAX_CONNECTIONS"));
        assert!(postgres(2).validate().is_ok());
        let mut with_redis = postgres(1);
        with_redis.redis.url = Some(SecretString::from("redis://127.0.0.1:6379"));
        assert!(with_redis.validate().is_ok(), "notices go through Redis");
    }

    #[test]
    fn a_public_url_that_is_not_http_is_refused() {
        let mut settings = Settings::default();
        settings.server.public_url = Some("ftp://shop".into());
        assert_eq!(settings.validate().err().map(|e| e.variable).as_deref(), Some("PUBLIC_URL"));
    }

    #[test]
    fn cors_origins_must_be_bare_http_origins() {
        let with = |origins: &str| {
            let env = Environment { cors_allowed_origins: origins.into(), ..Environment::default() };
            Settings::try_from(env).and_then(Settings::validate)
        };
        assert!(with("https://shop.example, http://localhost:3000").is_ok());
        for bad in ["shop.example", "https://shop.example/path", "*"] {
            let err = with(bad).err().map(|e| e.variable);
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
