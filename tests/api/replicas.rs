//! Several replicas of the service, each its own process, on one database: what one of them
//! changes, the others' session caches drop.

use std::time::{Duration, Instant};

use customer_accounts::entity::customer;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::{
    PASSWORD, REGISTER, Replica, TestDb, TestRedis, UPDATE_PROFILE, on_postgres, unique_redis_prefix,
};

const ME: &str = "{ me { id firstName } }";

async fn me(replica: &Replica, token: &str) -> Value {
    replica.gql(Some(token), ME, json!({})).await["data"]["me"].clone()
}

/// Asks `probe` until it holds, for at most five seconds (far below the cache's ten minutes, so
/// only a notice can have made it hold); how long that took.
async fn until<F: Future<Output = bool>>(what: &str, mut probe: impl FnMut() -> F) -> Duration {
    let started = Instant::now();
    while !probe().await {
        assert!(started.elapsed() < Duration::from_secs(5), "{what}: not seen within 5 s");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = started.elapsed();
    eprintln!("{what}: seen after {took:?}");
    took
}

async fn changes_reach_the_other_replica(bus: &[(&str, &str)]) {
    let db = TestDb::create().await;
    let env = [bus, &[("SESSION_CACHE_TTL_SECONDS", "600")]].concat();
    let a = Replica::start(&db.url, db.dir(), &env).await;
    let b = Replica::start(&db.url, db.dir(), &env).await;
    let input = json!({ "input": { "email": "jane@example.com", "firstName": "Jane", "lastName": "Doe",
        "password": PASSWORD, "passwordConfirmation": PASSWORD } });
    let registered = a.gql(None, REGISTER, input).await;
    let token = registered["data"]["register"]["token"].as_str().unwrap().to_owned();
    let id: i64 = registered["data"]["register"]["customer"]["id"].as_str().unwrap().parse().unwrap();

    // B caches the session: a change made behind both replicas' backs does not show on B.
    assert_eq!(me(&b, &token).await["firstName"], "Jane");
    let conn = sea_orm::Database::connect(&db.url).await.unwrap();
    customer::Entity::update_many()
        .col_expr(customer::Column::FirstName, Expr::value("Behind"))
        .filter(customer::Column::Id.eq(id))
        .exec(&conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert_eq!(me(&b, &token).await["firstName"], "Jane", "B answers from its cache");

    let change = json!({ "input": { "firstName": "Janet" } });
    assert_eq!(
        a.gql(Some(&token), UPDATE_PROFILE, change).await["data"]["updateProfile"]["errors"],
        json!([])
    );
    until("a profile change", || async { me(&b, &token).await["firstName"] == "Janet" }).await;

    let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
    let second = a.gql(None, login, json!({ "e": "jane@example.com", "p": PASSWORD })).await;
    let second = second["data"]["login"]["token"].as_str().unwrap().to_owned();
    assert!(me(&b, &second).await.is_object());
    a.gql(Some(&second), "mutation { logout { success } }", json!({})).await;
    until("a logout", || async { me(&b, &second).await.is_null() }).await;

    // A third process, the command line, suspends the account: both replicas refuse it.
    assert!(me(&a, &token).await.is_object() && me(&b, &token).await.is_object());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_customer-accounts"))
        .args(["customer", "suspend", "jane@example.com"])
        .env("APP_ENV", "test")
        .env("DATABASE_URL", &db.url)
        .env("DATA_DIR", db.dir())
        .envs(bus.iter().copied())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    until("a suspension", || async { me(&a, &token).await.is_null() && me(&b, &token).await.is_null() })
        .await;
}

#[tokio::test]
async fn changes_on_one_replica_reach_the_others_cache_through_postgres_notify() {
    if !on_postgres() {
        // NOTIFY is PostgreSQL's; on SQLite replicas share changes through Redis (below).
        return;
    }
    changes_reach_the_other_replica(&[]).await;
}

#[tokio::test]
async fn changes_on_one_replica_reach_the_others_cache_through_redis() {
    let Some(redis) = TestRedis::start("changes_on_one_replica_reach_the_others_cache_through_redis") else {
        return;
    };
    let (url, prefix) = (redis.url(), unique_redis_prefix());
    changes_reach_the_other_replica(&[("REDIS_URL", &url), ("REDIS_KEY_PREFIX", &prefix)]).await;
}

#[tokio::test]
async fn replicas_started_together_apply_the_migrations_once() {
    if !on_postgres() {
        // The advisory lock is PostgreSQL's; SQLite replicas share a file on one machine.
        return;
    }
    let db = TestDb::create().await;
    let starting = (0..3).map(|_| Replica::start(&db.url, db.dir(), &[]));
    let replicas = futures::future::join_all(starting).await;
    let conn = sea_orm::Database::connect(&db.url).await.unwrap();
    use sea_orm::{ConnectionTrait, Statement};
    let counts = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT count(*) AS n, count(DISTINCT version) AS d FROM seaql_migrations",
        ))
        .await
        .unwrap();
    let (rows, distinct): (i64, i64) =
        (counts[0].try_get("", "n").unwrap(), counts[0].try_get("", "d").unwrap());
    assert!(rows > 5 && rows == distinct, "each migration recorded once: {rows} rows, {distinct} distinct");
    conn.close().await.unwrap();
    assert_eq!(replicas.len(), 3, "all three started and answered ready");
}

#[tokio::test]
async fn a_login_lockout_counted_on_one_replica_holds_on_the_other() {
    let db = TestDb::create().await;
    let env = [("LOGIN_FAILURES_PER_EMAIL", "3")];
    let a = Replica::start(&db.url, db.dir(), &env).await;
    let b = Replica::start(&db.url, db.dir(), &env).await;
    let input = json!({ "input": { "email": "jane@example.com", "firstName": "Jane", "lastName": "Doe",
        "password": PASSWORD, "passwordConfirmation": PASSWORD } });
    assert!(a.gql(None, REGISTER, input).await["data"]["register"]["token"].is_string());
    let login = "mutation($p: String!) { login(email: \"jane@example.com\", password: $p) { token errors { code } } }";
    for _ in 0..3 {
        let answer = a.gql(None, login, json!({ "p": "wrong-password" })).await;
        assert_eq!(answer["data"]["login"]["errors"][0]["code"], "INVALID_CREDENTIALS", "{answer}");
    }
    let answer = b.gql(None, login, json!({ "p": PASSWORD })).await;
    assert_eq!(answer["errors"][0]["extensions"]["code"], "RATE_LIMITED", "locked on B too: {answer}");
}

/// The Message-IDs in `messages` (one per outbox row: `<outbox-ID@host>`).
fn message_ids(messages: &[String]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| {
            let start = m.find("Message-ID: <")? + "Message-ID: <".len();
            Some(m[start..].split('>').next()?.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn killing_a_replica_mid_burst_loses_and_duplicates_no_account_and_no_email() {
    use crate::helpers::outbox;

    let Some(redis) =
        TestRedis::start("killing_a_replica_mid_burst_loses_and_duplicates_no_account_and_no_email")
    else {
        return;
    };
    let smtp = crate::smtp::SmtpServer::start();
    let (smtp_url, redis, prefix) = (smtp.url(), redis.url(), unique_redis_prefix());
    let db = TestDb::create().await;
    let env = [
        ("SMTP_URL", smtp_url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        // A claim held by the killed replica lapses after this plus a 5 s margin.
        ("MAIL_SEND_TIMEOUT_SECONDS", "1"),
    ];
    let mut a = Replica::start(&db.url, db.dir(), &env).await;
    let b = Replica::start(&db.url, db.dir(), &env).await;
    let register = |replica: &Replica, email: String| {
        let input = json!({ "input": { "email": email, "firstName": "Burst", "lastName": "Test",
            "password": PASSWORD, "passwordConfirmation": PASSWORD } });
        let request = replica.graphql(REGISTER).variables(input);
        async move {
            let answer = request.try_send().await;
            (email, answer.is_some_and(|a| a["data"]["register"]["token"].is_string()))
        }
    };
    let forgot = |replica: &Replica, email: String| {
        let query = "mutation($e: String!) { forgotPassword(email: $e) { errors { code } } }";
        let request = replica.graphql(query).variables(json!({ "e": email }));
        async move {
            let answer = request.try_send().await;
            (email, answer.is_some_and(|a| a["data"]["forgotPassword"]["errors"] == json!([])))
        }
    };
    let before: Vec<String> = (0..6).map(|i| format!("before-{i}@example.com")).collect();
    for (i, email) in before.iter().enumerate() {
        let replica = if i % 2 == 0 { &a } else { &b };
        assert!(register(replica, email.clone()).await.1, "{email}");
    }

    // The burst: registrations and resets on both replicas at once; A dies in the middle of it.
    let mut burst = Vec::new();
    for i in 0..16 {
        let replica = if i % 2 == 0 { &a } else { &b };
        burst.push(tokio::spawn(register(replica, format!("burst-{i}@example.com"))));
    }
    let mut resets = Vec::new();
    for (i, email) in before.iter().enumerate() {
        let replica = if i % 2 == 0 { &b } else { &a };
        resets.push(tokio::spawn(forgot(replica, email.clone())));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    a.kill();
    let registered: Vec<(String, bool)> =
        futures::future::join_all(burst).await.into_iter().map(Result::unwrap).collect();
    let reset: Vec<(String, bool)> =
        futures::future::join_all(resets).await.into_iter().map(Result::unwrap).collect();
    assert!(registered.iter().any(|(_, ok)| !ok), "the kill cut some requests off: {registered:?}");
    assert!(registered.iter().any(|(_, ok)| *ok), "B answered: {registered:?}");

    // B delivers everything the outbox holds, A's lapsed claims included.
    let conn = sea_orm::Database::connect(&db.url).await.unwrap();
    let started = Instant::now();
    while outbox::counts(&conn).await.pending > 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "mail left undelivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = outbox::rows(&conn).await;
    let received = message_ids(&smtp.messages());
    let mut distinct = received.clone();
    distinct.sort();
    distinct.dedup();
    let mut expected: Vec<String> = rows.iter().map(|r| format!("{}@accounts.test", r.message_id)).collect();
    expected.sort();
    assert_eq!(distinct, expected, "every committed email arrived");
    // A's worker sends one message at a time. Killed after the SMTP server accepted one and
    // before it recorded that, that one message goes out again from B, under the same
    // Message-ID (receivers drop the repeat): SMTP offers no way to know. Nothing else repeats.
    assert!(received.len() - distinct.len() <= 1, "at most the one in flight is repeated: {received:?}");

    // Nothing acknowledged is lost: each answered registration is one account with its one
    // verification email; each answered reset mailed its link.
    for (email, acknowledged) in &registered {
        let accounts =
            customer::Entity::find().filter(customer::Column::EmailNormalized.eq(email)).count(&conn);
        let accounts = accounts.await.unwrap();
        let mails = rows.iter().filter(|r| &r.recipient == email).count();
        if *acknowledged {
            assert_eq!((accounts, mails), (1, 1), "{email}");
        } else {
            assert_eq!(accounts as usize, mails, "{email}: an account exists with its email, or neither");
        }
    }
    for (email, acknowledged) in &reset {
        let mails = rows.iter().filter(|r| &r.recipient == email).count();
        if *acknowledged {
            assert_eq!(mails, 2, "{email}: its verification and its reset link");
        }
    }
    conn.close().await.unwrap();

    // The killed replica comes back on the same database and serves.
    let again = Replica::start(&db.url, db.dir(), &env).await;
    let me = again.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(me["data"]["__typename"], "Query");
}

#[tokio::test]
async fn while_redis_is_away_the_cache_is_bypassed_and_both_come_back_on_their_own() {
    let test = "while_redis_is_away_the_cache_is_bypassed_and_both_come_back_on_their_own";
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let Some(mut redis) = TestRedis::own(test, port) else { return };
    let url = redis.url();
    let app = crate::helpers::spawn_with(|s| {
        s.redis.url = Some(secrecy::SecretString::from(url.clone()));
        s.cache.ttl_seconds = 600;
        s.limits.credentials_per_window = 100;
    })
    .await;
    assert!(app.state.sessions.trusted(), "subscribed");
    let jane = app.register("jane@example.com").await;
    let me = |token: String| {
        let app = &app;
        async move { app.gql_as(Some(&token), ME, json!({})).await["data"]["me"]["firstName"].clone() }
    };
    assert_eq!(me(jane.token.clone()).await, "Jane");
    customer::Entity::update_many()
        .col_expr(customer::Column::FirstName, Expr::value("Behind"))
        .filter(customer::Column::Id.eq(jane.id.parse::<i64>().unwrap()))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(me(jane.token.clone()).await, "Jane", "cached");

    redis.stop();
    until("the lost subscription", || async { !app.state.sessions.trusted() }).await;
    assert_eq!(me(jane.token.clone()).await, "Behind", "notices may be missed: read from the database");
    let login = app.login("jane@example.com", PASSWORD).await;
    assert!(login.is_null(), "credential checks fail closed without their shared counter: {login}");

    let _redis = TestRedis::own(test, port).unwrap();
    until("the subscription back", || async { app.state.sessions.trusted() }).await;
    let started = Instant::now();
    while app.login("jane@example.com", PASSWORD).await["token"].is_null() {
        assert!(started.elapsed() < Duration::from_secs(10), "limits never counted in Redis again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
