//! Faults injected for real: an SMTP server that hangs, refuses or goes away. Each test says what
//! survives the fault.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use customer_accounts::{
    entity::outbox_email,
    mail::{outbox, worker},
};
use sea_orm::{EntityTrait, sea_query::Expr};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

use crate::helpers::{TestApp, spawn_with};

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
        s.smtp_url = Some(url.into());
        s.mail_send_timeout_seconds = 1;
        configure(s);
    })
    .await
}

/// Polls the outbox until `done` holds for its rows (up to `within`), and returns them.
async fn outbox_until(
    app: &TestApp,
    within: Duration,
    done: impl Fn(&[outbox_email::Model]) -> bool,
) -> Vec<outbox_email::Model> {
    let started = Instant::now();
    loop {
        let rows = outbox_email::Entity::find().all(&app.state.db).await.unwrap();
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
    let app = app_with(&smtp, |s| s.mail_retry_base_ms = 60_000).await;
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
    assert_eq!(outbox::counts(&app.state.db).await.unwrap().failed, 1);
}

#[tokio::test]
async fn temporary_refusals_are_retried_past_max_attempts_until_the_give_up_time() {
    let smtp = ScriptedSmtp::start(Fault::ReplyToMailFrom("451 4.3.0 try again later"), usize::MAX).await;
    let app = app_with(&smtp, |s| {
        s.mail_max_attempts = 2;
        s.mail_retry_base_ms = 10;
    })
    .await;
    app.register("jane@example.com").await;
    let rows = outbox_until(&app, Duration::from_secs(10), |rows| rows.iter().all(|r| r.attempts >= 5)).await;
    assert!(rows[0].attempts >= 5, "still trying after MAIL_MAX_ATTEMPTS: {rows:?}");
    assert!(rows[0].failed_at.is_none(), "three days have not passed: {rows:?}");

    let smtp = ScriptedSmtp::start(Fault::ReplyToMailFrom("451 4.3.0 try again later"), usize::MAX).await;
    let impatient = app_with(&smtp, |s| {
        s.mail_max_attempts = 2;
        s.mail_retry_base_ms = 10;
        s.mail_give_up_after_seconds = 0;
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

    let cli = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_customer-accounts"))
            .args(args)
            .env("DATABASE_URL", app.state.settings.database_url())
            .env("APP_ENV", "test")
            .env("DATA_DIR", &app.state.settings.data_dir)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let status = cli(&["mail", "status"]);
    assert!(status.contains("failed  1"), "{status}");
    assert!(status.contains("(550): mailbox unavailable"), "the last error is listed: {status}");
    assert!(cli(&["mail", "retry", "--failed"]).contains("1 emails queued again"));
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
    };
    let now = chrono::Utc::now();
    outbox::enqueue(&app.state.db, letter, now).await.unwrap();
    // What a worker killed mid-send leaves: a claim as long as one send may take, plus the margin.
    let claim = chrono::Duration::from_std(app.state.mail.send_timeout() + worker::CLAIM_MARGIN).unwrap();
    outbox_email::Entity::update_many()
        .col_expr(outbox_email::Column::LockedUntil, Expr::value(now + claim))
        .exec(&app.state.db)
        .await
        .unwrap();
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
    // The links are queued just after the answers; give them a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows = outbox_email::Entity::find().all(&app.state.db).await.unwrap();
    let resets = rows.iter().filter(|r| r.text_body.contains("reset-password")).count();
    assert_eq!(resets, 1, "the cooldown is decided by the database");
}
