//! Spawns the real app on 127.0.0.1:0 against a fresh database, and calls it over HTTP.

use std::net::SocketAddr;

use customer_accounts::{config::Settings, state::AppState};
use sea_orm::{ConnectionTrait, Database, EntityTrait};
use secrecy::SecretString;
use serde_json::{Value, json};

/// The secret tests sign with; tests forge tokens with it too.
pub const JWT_SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";
/// The issuer tests configure.
pub const PUBLIC_URL: &str = "http://accounts.test";
/// A password that passes every rule.
pub const PASSWORD: &str = "correct-horse-battery";

/// A fresh database: a temporary SQLite file, or a new PostgreSQL database dropped at the end.
pub struct TestDb {
    pub url: String,
    dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// The folder the database's service keeps its files in (and the SQLite file lives in).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// A new, empty database (migrated by whichever service opens it first).
    pub async fn create() -> Self {
        let dir = tempfile::tempdir().unwrap();
        match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(base) => {
                let name = format!("ca_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&base).await.unwrap();
                admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
                admin.close().await.unwrap();
                let mut url = url::Url::parse(&base).unwrap();
                url.set_path(&name);
                Self { url: url.to_string(), dir, postgres: Some((base, name)) }
            }
            None => {
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                Self { url, dir, postgres: None }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((base, name)) = self.postgres.take() else { return };
        // Drop runs outside async; a short-lived runtime on its own thread does the cleanup.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(&base).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// A running service and a client for it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    /// Kept alive for the test: dropping it deletes the database (`None` for an app beside
    /// another, whose database that one owns).
    _db: Option<TestDb>,
}

/// Settings every test starts from.
pub fn test_settings(db: &TestDb) -> Settings {
    let mut settings = Settings { app_env: customer_accounts::config::AppEnv::Test, ..Settings::default() };
    settings.database.url = Some(db.url.clone());
    settings.database.data_dir = db.dir.path().to_path_buf();
    settings.server.public_url = Some(PUBLIC_URL.into());
    settings.auth.jwt_secret = Some(SecretString::from(JWT_SECRET));
    settings.auth.hash_concurrency = Some(2);
    settings.database.max_connections = 8;
    settings.mail.poll_interval_ms = 50;
    settings.mail.retry_base_ms = 50;
    // Tests that are about limits switch them on; the rest make many calls from one IP.
    settings.limits.rest_per_window = 0;
    settings.limits.credentials_per_window = 0;
    settings.limits.graphql_per_window = 0;
    settings.limits.login_failures_per_email = 0;
    settings
}

/// The app with default test settings.
pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

/// The app with settings adjusted by `configure`.
pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::create().await;
    let mut settings = test_settings(&db);
    configure(&mut settings);
    start(settings, Some(db)).await
}

/// A second app (a replica) on `first`'s database, with settings adjusted by `configure`.
pub async fn spawn_beside(first: &TestApp, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = first.state.settings.clone();
    configure(&mut settings);
    start(settings, None).await
}

async fn start(settings: Settings, db: Option<TestDb>) -> TestApp {
    let settings = settings.validate().unwrap();
    let state = AppState::build(settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(customer_accounts::serve(listener, state.clone()));
    // On PostgreSQL the session cache is used once the service listens for changes; tests that
    // count on it start then.
    for _ in 0..500 {
        if state.sessions.trusted() || !state.sessions.enabled() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    TestApp { addr, client, state, _db: db }
}

/// A registered customer.
pub struct Customer {
    pub id: String,
    pub token: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A REST call as a legacy client sends it (`Accept: application/json`, a JSON body), with
    /// `client`'s cookies and headers: the status and the JSON answer (null when there is none).
    pub async fn rest(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (reqwest::StatusCode, Value) {
        let mut request =
            client.request(method, self.url(path)).header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The webshop register path with `body`, presenting `key` as the project API key.
    pub async fn webshop_register(&self, body: &Value, key: Option<&str>) -> (reqwest::StatusCode, Value) {
        let client = match key {
            Some(key) => {
                let mut headers = reqwest::header::HeaderMap::new();
                let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")).unwrap();
                headers.insert(reqwest::header::AUTHORIZATION, value);
                reqwest::Client::builder().default_headers(headers).build().unwrap()
            }
            None => reqwest::Client::new(),
        };
        let path = "/api/services/webshop/v1/customer/auth/register";
        self.rest(&client, reqwest::Method::POST, path, Some(body.clone())).await
    }

    /// A GraphQL request to this app, to build and post.
    pub fn graphql(&self, query: &str) -> Graphql {
        Graphql::new(&self.client, &self.url("/graphql"), query)
    }

    /// POSTs a GraphQL request, optionally as a logged-in customer; returns the whole JSON answer.
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.graphql(query).variables(variables).token(token).send().await
    }

    /// Runs the service's command line on this app's database and data folder; its output.
    /// Waited for off the runtime: the app serves from the test's own thread, and a write it has
    /// under way must be able to finish while the command waits for the database.
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_customer-accounts"));
        command
            .args(args)
            .env("DATABASE_URL", self.state.settings.database_url())
            .env("APP_ENV", "test")
            .env("DATA_DIR", &self.state.settings.database.data_dir);
        tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
    }

    /// POSTs a GraphQL request without credentials.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_as(None, query, variables).await
    }

    /// Registers `email` with [`PASSWORD`] and returns the new customer's id and token.
    pub async fn register(&self, email: &str) -> Customer {
        let answer = self
            .gql(
                REGISTER,
                json!({ "input": {
                    "email": email, "firstName": "Jane", "lastName": "Doe",
                    "password": PASSWORD, "passwordConfirmation": PASSWORD,
                }}),
            )
            .await;
        let payload = &answer["data"]["register"];
        assert_eq!(payload["errors"], json!([]), "{answer}");
        Customer {
            id: payload["customer"]["id"].as_str().unwrap().to_owned(),
            token: payload["token"].as_str().unwrap().to_owned(),
        }
    }

    /// Logs in and returns the `login` payload.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let answer = self.gql(LOGIN, json!({ "email": email, "password": password })).await;
        answer["data"]["login"].clone()
    }

    /// Delivers every message that is due and returns once none is left waiting (another worker
    /// may hold one for a moment), so a test can assert on what was and was not sent.
    pub async fn dispatch_pending_mail(&self) {
        for _ in 0..500 {
            customer_accounts::jobs::run_due(&self.state).await.unwrap();
            let now = chrono::Utc::now();
            let waiting = outbox::rows(&self.state.db)
                .await
                .iter()
                .filter(|r| r.is_waiting() && r.next_attempt_at <= now)
                .count();
            if waiting == 0 {
                return;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("mail stayed pending");
    }

    /// `me` for `token`: the customer object or null.
    pub async fn me(&self, token: &str) -> Value {
        let answer = self.gql_as(Some(token), "{ me { id email } }", json!({})).await;
        answer["data"]["me"].clone()
    }
}

/// The mail in the work queue, as the tests look at it: one row a letter.
pub mod outbox {
    use customer_accounts::entity::job;
    use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

    /// A queued letter and how its delivery went.
    #[derive(Debug, Clone)]
    pub struct Row {
        pub id: i64,
        pub customer_id: Option<i64>,
        pub recipient: String,
        pub text_body: String,
        pub message_id: String,
        pub attempts: i32,
        pub last_error: Option<String>,
        pub next_attempt_at: chrono::DateTime<chrono::Utc>,
        pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
        pub failed_at: Option<chrono::DateTime<chrono::Utc>>,
    }

    impl Row {
        /// Neither sent nor given up on.
        pub fn is_waiting(&self) -> bool {
            self.sent_at.is_none() && self.failed_at.is_none()
        }
    }

    /// Every letter, oldest first.
    pub async fn rows<C: ConnectionTrait>(conn: &C) -> Vec<Row> {
        let jobs = job::Entity::find()
            .filter(job::Column::Kind.eq(customer_accounts::mail::KIND))
            .order_by_asc(job::Column::Id)
            .all(conn)
            .await
            .unwrap();
        jobs.into_iter()
            .map(|job| {
                let letter: customer_accounts::mail::Composed = serde_json::from_str(&job.payload).unwrap();
                Row {
                    id: job.id,
                    customer_id: job.customer_id,
                    recipient: letter.recipient,
                    text_body: letter.text,
                    message_id: letter.message_id,
                    attempts: job.attempts,
                    last_error: job.last_error,
                    next_attempt_at: job.next_attempt_at,
                    sent_at: job.done_at,
                    failed_at: job.failed_at,
                }
            })
            .collect()
    }

    /// How many letters wait, were given up on, and were sent.
    pub struct Counts {
        pub pending: u64,
        pub failed: u64,
        pub sent: u64,
    }

    /// The mail's counts.
    pub async fn counts<C: ConnectionTrait>(conn: &C) -> Counts {
        let counts =
            customer_accounts::queue::counts(conn, Some(customer_accounts::mail::KIND)).await.unwrap();
        Counts { pending: counts.pending, failed: counts.failed, sent: counts.done }
    }

    /// Holds letter `id` as a runner that took it until `until` would (a crashed one, say).
    pub async fn claim<C: ConnectionTrait>(conn: &C, id: i64, until: chrono::DateTime<chrono::Utc>) {
        job::Entity::update_many()
            .col_expr(job::Column::LockedUntil, sea_orm::sea_query::Expr::value(until))
            .filter(job::Column::Id.eq(id))
            .exec(conn)
            .await
            .unwrap();
    }
}

/// A GraphQL request being built, then posted: the one way the tests post GraphQL. Start one
/// with [`TestApp::graphql`] (or [`Replica::graphql`]).
pub struct Graphql {
    request: reqwest::RequestBuilder,
    body: Value,
}

impl Graphql {
    /// A request for `query` to the `/graphql` at `url`, sent by `client`.
    pub fn new(client: &reqwest::Client, url: &str, query: &str) -> Self {
        Self { request: client.post(url), body: json!({ "query": query }) }
    }

    /// With these variables.
    pub fn variables(mut self, variables: Value) -> Self {
        self.body["variables"] = variables;
        self
    }

    /// With this whole body instead (`operationName`, `extensions` …).
    pub fn body(mut self, body: Value) -> Self {
        self.body = body;
        self
    }

    /// As the customer whose access token this is, if any.
    pub fn token(mut self, token: Option<&str>) -> Self {
        if let Some(token) = token {
            self.request = self.request.bearer_auth(token);
        }
        self
    }

    /// For the shop whose project API key this is (`X-Project-Key`), if any.
    pub fn shop_key(self, key: Option<&str>) -> Self {
        match key {
            Some(key) => self.header("X-Project-Key", key),
            None => self,
        }
    }

    /// With one more header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    /// Posts it; the answer as it came.
    pub async fn response(self) -> reqwest::Response {
        self.request.json(&self.body).send().await.unwrap()
    }

    /// Posts it; the whole JSON answer, which GraphQL over HTTP sends with 200.
    pub async fn send(self) -> Value {
        let response = self.response().await;
        assert_eq!(response.status(), 200, "GraphQL over HTTP answers 200");
        response.json().await.unwrap()
    }

    /// Posts it; the JSON answer, or `None` when there was none (a server killed mid-request).
    pub async fn try_send(self) -> Option<Value> {
        self.request.json(&self.body).send().await.ok()?.json().await.ok()
    }
}

/// A reset or verification link for `customer_id`, issued as the service issues one (tests that
/// are not about mail skip the mailbox).
pub async fn issue_link(
    app: &TestApp,
    customer_id: &str,
    purpose: customer_accounts::auth::one_time::Purpose,
) -> String {
    let customer_id: i64 = customer_id.parse().unwrap();
    let customer = customer_accounts::entity::customer::Entity::find_by_id(customer_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    customer_accounts::auth::one_time::issue(
        &app.state.db,
        customer_id,
        purpose,
        &customer.email_normalized,
        std::time::Duration::from_secs(3600),
        chrono::Utc::now(),
    )
    .await
    .unwrap()
}

pub const REGISTER: &str = r#"
mutation Register($input: RegisterInput!) {
  register(input: $input) {
    token expiresAt
    customer { id email firstName lastName name gender dateOfBirth phone status emailVerifiedAt createdAt updatedAt group { id code name } }
    errors { field code message }
  }
}"#;

pub const LOGIN: &str = r#"
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    token expiresAt
    customer { id email }
    errors { field code message }
  }
}"#;

pub const UPDATE_PROFILE: &str = r#"
mutation Update($input: UpdateProfileInput!) {
  updateProfile(input: $input) {
    customer { id email firstName lastName gender dateOfBirth phone emailVerifiedAt }
    errors { field code message }
  }
}"#;

/// The `code`s of a payload's errors, with their fields.
pub fn error_codes(payload: &Value) -> Vec<(Value, String)> {
    payload["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].clone(), e["code"].as_str().unwrap().to_owned()))
        .collect()
}

/// The first top-level error's `extensions.code`.
pub fn top_level_code(answer: &Value) -> Option<&str> {
    answer["errors"][0]["extensions"]["code"].as_str()
}

/// The service binary running as its own process (a replica), on a database it shares.
pub struct Replica {
    child: std::process::Child,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
}

impl Replica {
    /// Starts the binary on `database_url` with test settings plus `env`, and waits until it is
    /// ready.
    pub async fn start(database_url: &str, data_dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_customer-accounts"));
        for variable in customer_accounts::config::variables() {
            command.env_remove(variable);
        }
        command
            .env("APP_ENV", "test")
            .env("DATABASE_URL", database_url)
            .env("DATA_DIR", data_dir)
            .env("MAIL_DIR", data_dir.join("mail"))
            .env("JWT_SECRET", JWT_SECRET)
            .env("PUBLIC_URL", PUBLIC_URL)
            .env("LISTEN_ADDR", addr.to_string())
            .env("HASH_CONCURRENCY", "1")
            .env("DB_MAX_CONNECTIONS", "4")
            .env("RATE_LIMIT_PER_MINUTE", "0")
            .env("AUTH_RATE_LIMIT_PER_MINUTE", "0")
            .env("GRAPHQL_RATE_LIMIT_PER_MINUTE", "0")
            .env("LOGIN_FAILURES_PER_EMAIL", "0")
            .env("MAIL_POLL_INTERVAL_MS", "50")
            .env("MAIL_RETRY_BASE_MS", "50")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null());
        let child = command.spawn().unwrap();
        let replica = Self { child, addr, client: reqwest::Client::new() };
        for _ in 0..300 {
            if let Ok(ready) = replica.client.get(replica.url("/ready")).send().await
                && ready.status() == 200
                && replica.listening_for_changes().await
            {
                return replica;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("replica on {addr} did not become ready");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A GraphQL request to this replica, to build and post.
    pub fn graphql(&self, query: &str) -> Graphql {
        Graphql::new(&self.client, &self.url("/graphql"), query)
    }

    /// POSTs a GraphQL request, optionally as a logged-in customer; the whole JSON answer.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.graphql(query).variables(variables).token(token).send().await
    }

    /// Whether the replica hears the others' changes (so its session cache is in use), as its
    /// metrics say.
    async fn listening_for_changes(&self) -> bool {
        let Ok(response) = self.client.get(self.url("/metrics")).send().await else { return false };
        let metrics = response.text().await.unwrap_or_default();
        metrics.contains("session_cache_trusted 1")
    }

    /// Ends the process at once, as a crash or `kill -9` would: nothing is flushed or finished.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Says, past the test harness's capture, that a test did not run and what would let it run;
/// with `CI=true` a missing part fails the test instead, so CI never skips silently.
pub fn skip(test: &str, needs: &str) {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{test} needs {needs}, and CI=true: CI must run it");
    }
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "skipped: {test}: needs {needs}");
}

/// What a Redis test needs of the machine, for its skip line.
const NEEDS_REDIS: &str =
    "Redis: install redis-server (Debian: apt install redis-server), or point TEST_REDIS_URL at a server";

/// A Redis server for one test: the one `TEST_REDIS_URL` names when it answers, else a private
/// `redis-server` of the test's own on a free port, stopped when dropped.
pub struct TestRedis {
    url: String,
    child: Option<std::process::Child>,
}

impl TestRedis {
    /// Redis for `test`; `None` (after one line saying what to install) where the machine has
    /// none. With `CI=true` a missing Redis fails the test.
    pub fn start(test: &str) -> Option<Self> {
        if let Some(url) = std::env::var("TEST_REDIS_URL").ok().filter(|u| !u.is_empty())
            && let Ok(parsed) = url::Url::parse(&url)
            && let Some(port) = parsed.port()
            && answers(port)
        {
            return Some(Self { url, child: None });
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Self::own(test, port)
    }

    /// A private `redis-server` on `port`, which the test may stop and start again; `None` (after
    /// one line saying what to install) without the binary.
    pub fn own(test: &str, port: u16) -> Option<Self> {
        let spawned = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                skip(test, NEEDS_REDIS);
                return None;
            }
            Err(err) => panic!("redis-server could not start: {err}"),
        };
        let redis = Self { url: format!("redis://127.0.0.1:{port}"), child: Some(child) };
        for _ in 0..250 {
            if answers(port) {
                return Some(redis);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("redis-server did not start on {port}");
    }

    /// Its URL.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Stops a private server at once, as a crash would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether something accepts connections on 127.0.0.1:`port`.
fn answers(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200)).is_ok()
}

/// A Redis key prefix no other test uses.
pub fn unique_redis_prefix() -> String {
    format!("ca-test-{}", uuid::Uuid::new_v4().simple())
}

/// Whether the tests run on PostgreSQL (`TEST_DATABASE_URL`).
pub fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}
