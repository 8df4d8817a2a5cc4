//! Faults injected for real: an SMTP server that hangs, refuses or goes away. Each test says what
//! survives the fault.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use customer_accounts::{mail, queue};
use sea_orm::EntityTrait;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

use crate::helpers::{TestApp, outbox, spawn_with};

/// Where a scripted SMTP server stops behaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Accepts the connection and never says hello.
    HangAtGreeting,
    /// Never answers `MAIL FROM`.
    HangAtMailFrom,
    /// Takes the whole message and never says whether it was accepted.
    HangAfterData,
    /// Answers `MAIL FROM` with this reply.
    ReplyToMailFrom(&'static str),
    /// Behaves.
    None,
}

/// A real SMTP listener that misbehaves on its first `faulty` connections, then behaves.
struct ScriptedSmtp {
    port: u16,
    delivered: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
}

impl ScriptedSmtp {
    async fn start(fault: Fault, faulty: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (delivered, connections) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (counted, accepted) = (delivered.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let fault =
                    if accepted.fetch_add(1, Ordering::SeqCst) < faulty { fault } else { Fault::None };
                tokio::spawn(converse(stream, fault, counted.clone()));
            }
        });
        Self { port, delivered, connections }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }
}

/// Speaks just enough SMTP for lettre, misbehaving as `fault` says.
async fn converse(stream: tokio::net::TcpStream, fault: Fault, delivered: Arc<AtomicUsize>) {
    let hang = || tokio::time::sleep(Duration::from_secs(3600));
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    if fault == Fault::HangAtGreeting {
        return hang().await;
    }
    let _ = write.write_all(b"220 smtp.test ESMTP\r\n").await;
    let mut in_data = false;
    while let Ok(Some(line)) = lines.next_line().await {
        if in_data {
            if line == "." {
                in_data = false;
                if fault == Fault::HangAfterData {
                    return hang().await;
                }
                delivered.fetch_add(1, Ordering::SeqCst);
                let _ = write.write_all(b"250 queued\r\n").await;
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply: &str = match (verb.as_str(), fault) {
            ("MAIL", Fault::HangAtMailFrom) => return hang().await,
            ("MAIL", Fault::ReplyToMailFrom(reply)) => reply,
            ("EHLO" | "HELO", _) => "250 smtp.test",
            ("DATA", _) => {
                in_data = true;
                "354 go ahead"
            }
            ("QUIT", _) => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => "250 ok",
        };
        let _ = write.write_all(format!("{reply}\r\n").as_bytes()).await;
    }
}

/// The app sending through `smtp`, with a one-second send timeout and quick retries.
async fn app_with(
    smtp: &ScriptedSmtp,
    configure: impl FnOnce(&mut customer_accounts::config::Settings),
) -> TestApp {
    let url = smtp.url();
    spawn_with(|s| {
        s.mail.smtp_url = Some(url.into());
        s.mail.send_timeout_seconds = 1;
        configure(s);
    })
    .await
}

/// Polls the outbox until `done` holds for its rows (up to `within`), and returns them.
async fn outbox_until(
    app: &TestApp,
    within: Duration,
    done: impl Fn(&[outbox::Row]) -> bool,
) -> Vec<outbox::Row> {
    let started = Instant::now();
    loop {
        let rows = outbox::rows(&app.state.db).await;
        if done(&rows) || started.elapsed() > within {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_server_that_hangs_at_any_stage_costs_one_send_timeout_and_the_mail_is_retried() {
    for fault in [Fault::HangAtGreeting, Fault::HangAtMailFrom, Fault::HangAfterData] {
        let smtp = ScriptedSmtp::start(fault, 1).await;
        let app = app_with(&smtp, |_| {}).await;
        app.register("jane@example.com").await;
        let rows = outbox_until(&app, Duration::from_secs(10), |rows| {
            rows.iter().all(|r| r.sent_at.is_some() && r.attempts == 2)
        })
        .await;
        let row = &rows[0];
        assert!(row.sent_at.is_some(), "{fault:?}: delivered on the retry: {row:?}");
        assert_eq!(row.attempts, 2, "{fault:?}: the hung attempt counted once");
        assert!(row.failed_at.is_none());
        assert_eq!(smtp.delivered.load(Ordering::SeqCst), 1, "{fault:?}: accepted once");
    }
}

#[tokio::test]
async fn a_message_stuck_on_a_hung_connection_does_not_hold_back_the_rest() {
    let smtp = ScriptedSmtp::start(Fault::HangAtMailFrom, 1).await;
    let app = app_with(&smtp, |s| s.mail.retry_base_ms = 60_000).await;
    for address in ["a@example.com", "b@example.com", "c@example.com"] {
        app.register(address).await;
    }
    // The first message hangs and waits a minute for its retry; the others go out meanwhile.
    let rows = outbox_until(&app, Duration::from_secs(10), |rows| {
        rows.len() == 3 && rows.iter().filter(|r| r.sent_at.is_some()).count() == 2
    })
    .await;
    assert_eq!(rows.iter().filter(|r| r.sent_at.is_some()).count(), 2, "{rows:?}");
    let stuck: Vec<_> = rows.iter().filter(|r| r.sent_at.is_none()).collect();
    assert_eq!(stuck.len(), 1);
    assert!(stuck[0].failed_at.is_none(), "a timeout is temporary");
    assert!(stuck[0].last_error.as_deref().unwrap_or_default().contains("no answer within"), "{stuck:?}");
}

#[tokio::test]
async fn a_permanent_refusal_fails_the_message_at_once_with_the_reason() {
    let smtp = ScriptedSmtp::start(Fault::ReplyToMailFrom("550 5.7.1 sender rejected"), usize::MAX).await;
    let app = app_with(&smtp, |_| {}).await;
    app.register("jane@example.com").await;
    let rows =
        outbox_until(&app, Duration::from_secs(5), |rows| rows.iter().all(|r| r.failed_at.is_some())).await;
    assert!(rows[0].failed_at.is_some(), "{rows:?}");
    assert_eq!(rows[0].attempts, 1, "a 5xx is not retried");
    assert!(rows[0].last_error.as_deref().unwrap_or_default().contains("sender rejected"), "{rows:?}");
    assert_eq!(outbox::counts(&app.state.db).await.failed, 1);
}

#[tokio::test]
async fn temporary_refusals_are_retried_past_max_attempts_until_the_give_up_time() {
    let smtp = ScriptedSmtp::start(Fault::ReplyToMailFrom("451 4.3.0 try again later"), usize::MAX).await;
    let app = app_with(&smtp, |s| {
        s.mail.max_attempts = 2;
        s.mail.retry_base_ms = 10;
    })
    .await;
    app.register("jane@example.com").await;
    let rows = outbox_until(&app, Duration::from_secs(10), |rows| rows.iter().all(|r| r.attempts >= 5)).await;
    assert!(rows[0].attempts >= 5, "still trying after MAIL_MAX_ATTEMPTS: {rows:?}");
    assert!(rows[0].failed_at.is_none(), "three days have not passed: {rows:?}");

    let smtp = ScriptedSmtp::start(Fault::ReplyToMailFrom("451 4.3.0 try again later"), usize::MAX).await;
    let impatient = app_with(&smtp, |s| {
        s.mail.max_attempts = 2;
        s.mail.retry_base_ms = 10;
        s.mail.give_up_after_seconds = 0;
    })
    .await;
    impatient.register("jane@example.com").await;
    let rows =
        outbox_until(&impatient, Duration::from_secs(10), |rows| rows.iter().all(|r| r.failed_at.is_some()))
            .await;
    assert!(rows[0].failed_at.is_some(), "{rows:?}");
    assert_eq!(rows[0].attempts, 2);
}

#[tokio::test]
async fn failed_mail_is_listed_and_queued_again_by_the_mail_commands() {
    let smtp = ScriptedSmtp::start(Fault::ReplyToMailFrom("550 mailbox unavailable"), 1).await;
    let app = app_with(&smtp, |_| {}).await;
    app.register("jane@example.com").await;
    outbox_until(&app, Duration::from_secs(5), |rows| rows.iter().any(|r| r.failed_at.is_some())).await;

    let cli = |args: &'static [&'static str]| {
        let app = &app;
        async move {
            let output = app.cli(args).await;
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            String::from_utf8(output.stdout).unwrap()
        }
    };
    let status = cli(&["mail", "status"]).await;
    assert!(status.contains("failed  1"), "{status}");
    assert!(status.contains("(550): mailbox unavailable"), "the last error is listed: {status}");
    assert!(cli(&["mail", "retry", "--failed"]).await.contains("1 emails queued again"));
    // The listener behaves from its second connection on: the re-queued message goes out.
    let rows =
        outbox_until(&app, Duration::from_secs(5), |rows| rows.iter().all(|r| r.sent_at.is_some())).await;
    assert!(rows.iter().all(|r| r.sent_at.is_some() && r.failed_at.is_none()), "{rows:?}");
    assert!(smtp.connections.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn a_claim_left_by_a_crashed_worker_lapses_after_the_send_timeout_and_a_margin() {
    let smtp = ScriptedSmtp::start(Fault::None, 0).await;
    let app = app_with(&smtp, |_| {}).await;
    let letter = customer_accounts::mail::Composed {
        recipient: "jane@example.com".into(),
        subject: "Hello".into(),
        text: "Hello".into(),
        html: "<p>Hello</p>".into(),
        message_id: "mail-crashed".into(),
    };
    let now = chrono::Utc::now();
    // What a worker killed mid-send leaves: a claim as long as one send may take, plus the margin.
    // Written together, so that no live worker takes the letter in between.
    let claim =
        chrono::Duration::from_std(app.state.mail.send_timeout() + mail::delivery::CLAIM_MARGIN).unwrap();
    let txn = sea_orm::TransactionTrait::begin(&app.state.db).await.unwrap();
    let id = queue::enqueue(&txn, mail::KIND, mail::KIND, None, &letter.payload(), now).await.unwrap();
    outbox::claim(&txn, id, now + claim).await;
    txn.commit().await.unwrap();
    let started = Instant::now();
    let rows =
        outbox_until(&app, Duration::from_secs(15), |rows| rows.iter().all(|r| r.sent_at.is_some())).await;
    assert!(rows[0].sent_at.is_some(), "{rows:?}");
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
    assert_eq!(smtp.delivered.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn twenty_concurrent_reset_requests_for_one_account_queue_one_email() {
    let smtp = ScriptedSmtp::start(Fault::None, 0).await;
    let app = app_with(&smtp, |_| {}).await;
    app.register("jane@example.com").await;
    let query = "mutation { forgotPassword(email: \"jane@example.com\") { message } }";
    futures::future::join_all((0..20).map(|_| app.gql(query, serde_json::json!({})))).await;
    let rows = outbox::rows(&app.state.db).await;
    let resets = rows.iter().filter(|r| r.text_body.contains("reset-password")).count();
    assert_eq!(resets, 1, "the cooldown is decided by the database");
}

// ---- Start-up: one line naming the variable, no secret, exit code 2 for a setting at fault.

/// Runs the service binary with `env` on top of a clean slate, up to `within`; returns its exit
/// code, standard error and standard output.
fn start_binary(env: &[(&str, &str)], within: Duration) -> (Option<i32>, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_customer-accounts"));
    for variable in customer_accounts::config::variables() {
        command.env_remove(variable);
    }
    // A port of its own unless the case is about the port: the listener is bound before anything
    // else, so two binaries on the default port would refuse each other.
    command.env("LISTEN_ADDR", "127.0.0.1:0").envs(env.iter().copied()).env("LOG_FORMAT", "json");
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > within {
            child.kill().unwrap();
            panic!("still running after {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (output.status.code(), text(output.stderr), text(output.stdout))
}

#[test]
fn start_up_errors_are_one_line_naming_the_variable_without_the_password() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let unreachable = "postgres://app:hunter2-secret@127.0.0.1:1/shop";
    let malformed = "postgres://app:hunter2-secret@127.0.0.1:port/shop";
    let occupied = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let occupied = occupied.local_addr().unwrap().to_string();
    let a_file = data.path().join("a-file");
    std::fs::write(&a_file, "not a folder").unwrap();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("DATABASE_URL", unreachable), ("DB_CONNECT_RETRY_SECONDS", "1")], "DATABASE_URL: "),
        (&[("DATABASE_URL", malformed)], "DATABASE_URL: "),
        (&[("DATA_DIR", data_dir), ("LISTEN_ADDR", &occupied)], "LISTEN_ADDR: "),
        (&[("DATA_DIR", a_file.to_str().unwrap())], "DATA_DIR: "),
    ];
    for (env, names) in cases {
        let (code, stderr, stdout) = start_binary(env, Duration::from_secs(20));
        assert_eq!(code, Some(2), "{env:?}: {stderr}");
        // Logs share stderr (one JSON object a line); the refusal is one plain line, the last.
        let plain: Vec<_> = stderr.lines().filter(|l| !l.starts_with('{')).collect();
        assert_eq!(plain.len(), 1, "one line: {stderr}");
        assert_eq!(stderr.trim_end().lines().last(), Some(plain[0]));
        assert!(plain[0].starts_with(&format!("customer-accounts: refusing to start: {names}")), "{stderr}");
        assert!(!stderr.contains("hunter2") && !stdout.contains("hunter2"), "{stderr}{stdout}");
    }
}

#[test]
fn a_mistyped_setting_is_refused_before_anything_is_created_and_before_any_log() {
    let occupied = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let occupied = occupied.local_addr().unwrap().to_string();
    let cases: [(&str, &str, &str); 3] = [
        ("SMTP_URL", "smtp://mail.example:587?tls=sometimes", "SMTP_URL: "),
        ("LISTEN_ADDR", &occupied, "LISTEN_ADDR: "),
        ("REDIS_URL", "redis://127.0.0.1:6379/not-a-db", "REDIS_URL: "),
    ];
    for (variable, value, names) in cases {
        let data = tempfile::tempdir().unwrap();
        let data_dir = data.path().join("data");
        let env = [("DATA_DIR", data_dir.to_str().unwrap()), (variable, value)];
        let (code, stderr, stdout) = start_binary(&env, Duration::from_secs(20));
        assert_eq!(code, Some(2), "{variable}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line and nothing logged before it: {stderr}");
        assert!(lines[0].starts_with(&format!("customer-accounts: refusing to start: {names}")), "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(!data_dir.exists(), "{variable}: a refused start created {}", data_dir.display());
    }
}

#[test]
fn start_up_retries_an_unreachable_database_logging_each_attempt_then_gives_up() {
    let env = [
        ("DATABASE_URL", "postgres://app:hunter2-secret@127.0.0.1:1/shop"),
        ("DB_CONNECT_RETRY_SECONDS", "6"),
        ("DB_ACQUIRE_TIMEOUT_SECONDS", "1"),
    ];
    let started = Instant::now();
    let (code, stderr, stdout) = start_binary(&env, Duration::from_secs(20));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(started.elapsed() >= Duration::from_secs(2), "it waited for the database");
    let attempts = stderr.lines().filter(|l| l.contains("the database is unreachable; retrying")).count();
    assert!(attempts >= 2, "each attempt is logged: {stderr}");
    assert!(!stdout.contains("hunter2") && !stderr.contains("hunter2"), "{stderr}");
}

// ---- A database that goes away: fast, honest refusals, and recovery on its own.

/// A TCP proxy in front of the database that the test can cut (every connection dropped, new
/// ones accepted and never answered, as behind a dead network path) and restore.
struct Proxy {
    port: u16,
    cut: Arc<std::sync::atomic::AtomicBool>,
    live: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    /// Starts forwarding to `target` (call within the runtime).
    fn start(target: String) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let listener = TcpListener::from_std(listener).unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let live = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (is_cut, tasks) = (cut.clone(), live.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let (is_cut, target) = (is_cut.clone(), target.clone());
                let task = tokio::spawn(async move {
                    if is_cut.load(Ordering::SeqCst) {
                        // Holds the socket without a word until restored (this task is aborted).
                        return tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    if let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
                tasks.lock().unwrap().push(task.abort_handle());
            }
        });
        Self { port, cut, live }
    }

    fn drop_connections(&self) {
        for task in self.live.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.drop_connections();
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
        self.drop_connections();
    }
}

#[tokio::test]
async fn an_unreachable_database_gets_quick_503s_and_service_unavailable_then_recovers() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        eprintln!("skipped: needs TEST_DATABASE_URL (a PostgreSQL server to put a proxy in front of)");
        return;
    }
    let mut proxy = None;
    let app = spawn_with(|s| {
        let mut url = url::Url::parse(s.database.url.as_deref().unwrap()).unwrap();
        let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
        let started = Proxy::start(target);
        url.set_port(Some(started.port)).unwrap();
        s.database.url = Some(url.to_string());
        proxy = Some(started);
    })
    .await;
    let proxy = proxy.unwrap();
    let jane = app.register("jane@example.com").await;

    proxy.cut();
    let started = Instant::now();
    let me = app.gql_as(Some(&jane.token), "{ me { id } }", serde_json::json!({})).await;
    assert_eq!(crate::helpers::top_level_code(&me), Some("SERVICE_UNAVAILABLE"), "{me}");
    assert!(started.elapsed() < Duration::from_secs(4), "GraphQL took {:?}", started.elapsed());

    let started = Instant::now();
    let rest = app.client.get(app.url("/api/customer/get")).bearer_auth(&jane.token).send().await.unwrap();
    assert_eq!(rest.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert!(rest.headers().contains_key(reqwest::header::RETRY_AFTER));
    assert!(started.elapsed() < Duration::from_secs(4), "REST took {:?}", started.elapsed());

    let started = Instant::now();
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_millis(1500), "/ready took {:?}", started.elapsed());

    proxy.restore();
    let mut recovered = false;
    for _ in 0..100 {
        if app.client.get(app.url("/ready")).send().await.unwrap().status().is_success() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "ready again once the database is back");
    assert_eq!(app.me(&jane.token).await["email"], "jane@example.com");
}

// ---- A full disk under SQLite: clean refusals while full, nothing acknowledged is lost.

/// A small tmpfs of our own, unmounted when dropped; `None` where mounting is not allowed.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then_some(Self { dir })
    }

    /// Fills what is left with a file; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write as _;
        let path = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 4096];
        while file.write_all(&block).and_then(|()| file.sync_all()).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily: the service's pool may still hold the database open.
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Registers `email` over REST; the status code.
async fn register_status(app: &TestApp, email: &str) -> reqwest::StatusCode {
    let body = serde_json::json!({ "email": email, "first_name": "A", "last_name": "B",
        "password": crate::helpers::PASSWORD, "password_confirmation": crate::helpers::PASSWORD });
    app.client.post(app.url("/api/v1/customer/register")).json(&body).send().await.unwrap().status()
}

#[tokio::test]
async fn a_full_disk_refuses_writes_cleanly_and_loses_nothing_it_acknowledged() {
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        eprintln!("skipped: the full-disk case is SQLite's (PostgreSQL's disk is not the test's)");
        return;
    }
    let Some(disk) = SmallDisk::mount("8m") else {
        crate::helpers::skip(
            "a_full_disk_refuses_writes_cleanly_and_loses_nothing_it_acknowledged",
            "root, to mount a small tmpfs",
        );
        return;
    };
    let data_dir = disk.dir.path().join("data");
    let app = spawn_with(|s| {
        s.database.url = None;
        s.database.data_dir = data_dir.clone();
    })
    .await;
    assert_eq!(register_status(&app, "before@example.com").await, reqwest::StatusCode::OK);

    let filler = disk.fill();
    for i in 0..5 {
        let status = register_status(&app, &format!("full{i}@example.com")).await;
        assert_eq!(status, reqwest::StatusCode::SERVICE_UNAVAILABLE, "a clean, retryable refusal");
    }
    let ready = app.client.get(app.url("/ready")).send().await.unwrap().status();
    assert_eq!(ready, reqwest::StatusCode::SERVICE_UNAVAILABLE, "not ready while writes fail");

    std::fs::remove_file(filler).unwrap();
    let mut acknowledged = vec!["before@example.com".to_owned()];
    for i in 0..30 {
        let email = format!("after{i}@example.com");
        if register_status(&app, &email).await == reqwest::StatusCode::OK {
            acknowledged.push(email);
        }
    }
    assert_eq!(acknowledged.len(), 31, "the service recovers by itself once space is back");
    let ready = app.client.get(app.url("/ready")).send().await.unwrap().status();
    assert_eq!(ready, reqwest::StatusCode::OK);

    // What a restart would find: a fresh connection sees only what was really committed.
    let url = app.state.settings.database_url();
    let fresh = sea_orm::Database::connect(url).await.unwrap();
    let stored: Vec<String> = customer_accounts::entity::customer::Entity::find()
        .all(&fresh)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.email)
        .collect();
    for email in &acknowledged {
        assert!(stored.contains(email), "{email} was acknowledged and must be stored: {stored:?}");
    }
    assert!(!stored.iter().any(|e| e.starts_with("full")), "refused writes left nothing behind");
}
