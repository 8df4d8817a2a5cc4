//! Several replicas of the service, each its own process, on one database: what one of them
//! changes, the others' session caches drop.

use std::time::{Duration, Instant};

use customer_accounts::entity::customer;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::{
    PASSWORD, REGISTER, Replica, TestDb, UPDATE_PROFILE, on_postgres, test_redis_url, unique_redis_prefix,
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
        assert!(started.elapsed() < Duration::from_secs(5), "{what}: not seen by the other replica");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = started.elapsed();
    eprintln!("{what}: seen by the other replica after {took:?}");
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
    let (url, prefix) = (test_redis_url(), unique_redis_prefix());
    changes_reach_the_other_replica(&[("REDIS_URL", &url), ("REDIS_KEY_PREFIX", &prefix)]).await;
}
