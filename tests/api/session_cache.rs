//! The session cache: `me` from memory, and every write a session depends on visible on the very
//! next request all the same.

use customer_accounts::{accounts, auth::one_time::Purpose, entity::customer};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, UPDATE_PROFILE, issue_link, spawn, spawn_with};

const ME: &str = "{ me { id firstName emailVerifiedAt } }";

async fn me(app: &TestApp, token: &str) -> Value {
    app.gql_as(Some(token), ME, json!({})).await["data"]["me"].clone()
}

/// Renames the customer in the database itself, behind the service's back.
async fn rename_behind_the_back(app: &TestApp, id: &str, name: &str) {
    customer::Entity::update_many()
        .col_expr(customer::Column::FirstName, Expr::value(name))
        .filter(customer::Column::Id.eq(id.parse::<i64>().unwrap()))
        .exec(&app.state.db)
        .await
        .unwrap();
}

async fn second_login(app: &TestApp, email: &str) -> String {
    let login = app.login(email, PASSWORD).await;
    login["token"].as_str().unwrap_or_else(|| panic!("{login}")).to_owned()
}

async fn mutate(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let answer = app.gql_as(Some(token), query, variables).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    answer
}

#[tokio::test]
async fn me_is_answered_from_memory_once_cached_and_a_profile_change_drops_it() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    assert_eq!(me(&app, &jane.token).await["firstName"], "Jane");
    rename_behind_the_back(&app, &jane.id, "Behind").await;
    assert_eq!(me(&app, &jane.token).await["firstName"], "Jane", "answered from memory, no query");
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("session_cache_lookups_total{result=\"hit\"}"), "hits are counted");

    let change = json!({ "input": { "firstName": "Janet" } });
    mutate(&app, &jane.token, UPDATE_PROFILE, change).await;
    assert_eq!(me(&app, &jane.token).await["firstName"], "Janet", "the write dropped the cached session");
}

#[tokio::test]
async fn with_the_cache_off_every_request_reads_the_database() {
    let app = spawn_with(|s| s.cache.ttl_seconds = 0).await;
    let jane = app.register("jane@example.com").await;
    assert_eq!(me(&app, &jane.token).await["firstName"], "Jane");
    rename_behind_the_back(&app, &jane.id, "Behind").await;
    assert_eq!(me(&app, &jane.token).await["firstName"], "Behind");
}

#[tokio::test]
async fn ended_sessions_are_refused_on_the_very_next_request_though_they_were_cached() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let (second, third, fourth) = (
        second_login(&app, "jane@example.com").await,
        second_login(&app, "jane@example.com").await,
        second_login(&app, "jane@example.com").await,
    );
    for token in [&jane.token, &second, &third, &fourth] {
        assert!(me(&app, token).await.is_object(), "cached now");
    }

    mutate(&app, &second, "mutation { logout { success } }", json!({})).await;
    assert!(me(&app, &second).await.is_null(), "logout");

    let sessions = app.gql_as(Some(&third), "{ me { sessions { id current } } }", json!({})).await;
    let third_id =
        sessions["data"]["me"]["sessions"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()
            ["id"]
            .clone();
    let revoke = "mutation($id: ID!) { revokeSession(id: $id) { errors { code } } }";
    mutate(&app, &jane.token, revoke, json!({ "id": third_id })).await;
    assert!(me(&app, &third).await.is_null(), "revokeSession");

    let everywhere = "mutation { logoutEverywhere(keepCurrent: true) { errors { code } } }";
    mutate(&app, &jane.token, everywhere, json!({})).await;
    assert!(me(&app, &fourth).await.is_null(), "logoutEverywhere");
    assert!(me(&app, &jane.token).await.is_object(), "keepCurrent kept the caller's");
}

#[tokio::test]
async fn a_password_change_or_reset_ends_cached_sessions_at_once() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let other = second_login(&app, "jane@example.com").await;
    assert!(me(&app, &other).await.is_object());
    let change = json!({ "input": { "currentPassword": PASSWORD,
        "newPassword": "another-password-1", "newPasswordConfirmation": "another-password-1" } });
    let answer = mutate(&app, &jane.token, UPDATE_PROFILE, change).await;
    assert_eq!(answer["data"]["updateProfile"]["errors"], json!([]));
    assert!(me(&app, &other).await.is_null(), "password change");
    assert!(me(&app, &jane.token).await.is_object(), "the session that changed it stays");

    let reset = issue_link(&app, &jane.id, Purpose::PasswordReset).await;
    let query = "mutation($t: String!) { resetPassword(token: $t, password: \"third-password-22\", passwordConfirmation: \"third-password-22\") { errors { code } } }";
    let answer = app.gql(query, json!({ "t": reset })).await;
    assert_eq!(answer["data"]["resetPassword"]["errors"], json!([]), "{answer}");
    assert!(me(&app, &jane.token).await.is_null(), "reset");
}

#[tokio::test]
async fn verification_suspension_and_deletion_show_on_the_very_next_request() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    assert!(me(&app, &jane.token).await["emailVerifiedAt"].is_null());
    let link = issue_link(&app, &jane.id, Purpose::EmailVerification).await;
    let answer = app
        .gql("mutation($t: String!) { verifyEmail(token: $t) { errors { code } } }", json!({ "t": link }))
        .await;
    assert_eq!(answer["data"]["verifyEmail"]["errors"], json!([]), "{answer}");
    assert!(me(&app, &jane.token).await["emailVerifiedAt"].is_string(), "verification");

    assert!(accounts::set_suspended(&app.state, 1, "JANE@example.com", true).await.unwrap());
    assert!(me(&app, &jane.token).await.is_null(), "suspension");
    assert_eq!(app.login("jane@example.com", PASSWORD).await["errors"][0]["code"], "INVALID_CREDENTIALS");
    assert!(accounts::set_suspended(&app.state, 1, "jane@example.com", false).await.unwrap());
    let token = second_login(&app, "jane@example.com").await;
    assert!(me(&app, &token).await.is_object(), "reactivated");

    let delete = "mutation($p: String!) { deleteAccount(currentPassword: $p) { errors { code } } }";
    mutate(&app, &token, delete, json!({ "p": PASSWORD })).await;
    assert!(me(&app, &token).await.is_null(), "deletion");
    assert!(!accounts::set_suspended(&app.state, 1, "jane@example.com", true).await.unwrap(), "gone");
}

#[tokio::test]
async fn the_command_line_suspends_and_reactivates_an_account() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let output = app.cli(&["customer", "suspend", "jane@example.com"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "jane@example.com suspended\n");
    assert!(me(&app, &jane.token).await.is_null(), "sessions ended by another process");
    assert!(app.cli(&["customer", "reactivate", "jane@example.com"]).await.status.success());
    assert!(app.login("jane@example.com", PASSWORD).await["token"].is_string());
    let unknown = app.cli(&["customer", "suspend", "nobody@example.com"]).await;
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no customer with that email"));
}

/// A write a cached session depends on, made on one replica and checked on another.
#[derive(Debug, Clone, Copy)]
enum Write {
    Logout,
    RevokeSession,
    LogoutEverywhere,
    RefreshTokenReplay,
    ProfileChange,
    EmailChange,
    PasswordChange,
    PasswordReset,
    EmailVerification,
    Suspension,
    Deletion,
}

impl Write {
    const ALL: [Write; 11] = [
        Write::Logout,
        Write::RevokeSession,
        Write::LogoutEverywhere,
        Write::RefreshTokenReplay,
        Write::ProfileChange,
        Write::EmailChange,
        Write::PasswordChange,
        Write::PasswordReset,
        Write::EmailVerification,
        Write::Suspension,
        Write::Deletion,
    ];

    /// Makes the write on `a` for Jane, whose session `watched` (cached by the other replica) it
    /// affects; `other` is a second session of hers. Returns what `me` must show for `watched`.
    async fn make(self, a: &TestApp, jane: &crate::helpers::Customer, watched: &str, other: &str) -> Value {
        match self {
            Write::Logout => {
                mutate(a, watched, "mutation { logout { success } }", json!({})).await;
                Value::Null
            }
            Write::RevokeSession => {
                let sessions = mutate(a, watched, "{ me { sessions { id current } } }", json!({})).await;
                let list = sessions["data"]["me"]["sessions"].as_array().unwrap();
                let own = list.iter().find(|s| s["current"] == true).unwrap()["id"].clone();
                let revoke = "mutation($id: ID!) { revokeSession(id: $id) { success } }";
                mutate(a, other, revoke, json!({ "id": own })).await;
                Value::Null
            }
            Write::LogoutEverywhere => {
                mutate(a, other, "mutation { logoutEverywhere { revoked } }", json!({})).await;
                Value::Null
            }
            Write::RefreshTokenReplay => Value::Null,
            Write::ProfileChange => {
                mutate(a, other, UPDATE_PROFILE, json!({ "input": { "firstName": "Janet" } })).await;
                json!("Janet")
            }
            Write::EmailChange => {
                let input = json!({ "input": { "email": "janet@example.com", "currentPassword": PASSWORD } });
                mutate(a, other, UPDATE_PROFILE, input).await;
                json!("janet@example.com")
            }
            Write::PasswordChange => {
                let new = "a-completely-new-passphrase-9";
                let input = json!({ "input": { "currentPassword": PASSWORD, "newPassword": new,
                    "newPasswordConfirmation": new } });
                mutate(a, other, UPDATE_PROFILE, input).await;
                Value::Null
            }
            Write::PasswordReset => {
                let link = issue_link(a, &jane.id, Purpose::PasswordReset).await;
                let reset = "mutation($t: String!, $p: String!) { resetPassword(token: $t, password: $p, passwordConfirmation: $p) { token } }";
                a.gql(reset, json!({ "t": link, "p": "a-completely-new-passphrase-9" })).await;
                Value::Null
            }
            Write::EmailVerification => {
                let link = issue_link(a, &jane.id, Purpose::EmailVerification).await;
                a.gql("mutation($t: String!) { verifyEmail(token: $t) { success } }", json!({ "t": link }))
                    .await;
                json!(true)
            }
            Write::Suspension => {
                assert!(accounts::set_suspended(&a.state, 1, "jane@example.com", true).await.unwrap());
                Value::Null
            }
            Write::Deletion => {
                let delete = "mutation($p: String!) { deleteAccount(currentPassword: $p) { success } }";
                mutate(a, other, delete, json!({ "p": PASSWORD })).await;
                Value::Null
            }
        }
    }

    /// What `me` shows of the watched session that this write changes.
    fn seen(self, me: &Value) -> Value {
        match self {
            Write::ProfileChange => me["firstName"].clone(),
            Write::EmailChange => me["email"].clone(),
            Write::EmailVerification => json!(me["emailVerifiedAt"].is_string()),
            _ => me.clone(),
        }
    }
}

#[tokio::test]
async fn every_write_a_cached_session_depends_on_is_seen_by_another_replica_at_once() {
    let test = "every_write_a_cached_session_depends_on_is_seen_by_another_replica_at_once";
    // Replicas hear each other through PostgreSQL's NOTIFY, or on SQLite through Redis.
    let redis = if crate::helpers::on_postgres() {
        None
    } else {
        let Some(redis) = crate::helpers::TestRedis::start(test) else { return };
        Some(redis)
    };
    const ME_ALL: &str = "{ me { id email firstName emailVerifiedAt } }";
    for write in Write::ALL {
        // A prefix of the case's own: one case's notices never reach another's replicas.
        let prefix = crate::helpers::unique_redis_prefix();
        let shared = |s: &mut customer_accounts::config::Settings| {
            // Ten minutes: without a notice, the other replica would answer from memory.
            s.cache.ttl_seconds = 600;
            if let Some(redis) = &redis {
                s.redis.url = Some(secrecy::SecretString::from(redis.url()));
                s.redis.key_prefix = prefix.clone();
            }
        };
        let a = spawn_with(shared).await;
        let b = crate::helpers::spawn_beside(&a, shared).await;
        let jane = a.register("jane@example.com").await;
        let login = a
            .gql(
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token refreshToken } }",
                json!({ "e": "jane@example.com", "p": PASSWORD }),
            )
            .await;
        let watched = login["data"]["login"]["token"].as_str().unwrap().to_owned();
        let refresh = login["data"]["login"]["refreshToken"].as_str().unwrap().to_owned();
        let seen_on_b = |token: String| {
            let b = &b;
            async move { b.gql_as(Some(&token), ME_ALL, json!({})).await["data"]["me"].clone() }
        };
        let before = seen_on_b(watched.clone()).await;
        assert!(before.is_object(), "{write:?}: {before}");
        assert_eq!(seen_on_b(watched.clone()).await, before, "{write:?}: cached on B");

        let expected = match write {
            Write::RefreshTokenReplay => {
                let refresh_query =
                    "mutation($r: String!) { refreshAccessToken(refreshToken: $r) { token } }";
                a.gql(refresh_query, json!({ "r": refresh })).await;
                a.gql(refresh_query, json!({ "r": refresh })).await;
                Value::Null
            }
            _ => write.make(&a, &jane, &watched, &jane.token).await,
        };
        let started = std::time::Instant::now();
        loop {
            let now = seen_on_b(watched.clone()).await;
            let shown = if expected.is_null() { now.clone() } else { write.seen(&now) };
            if shown == expected {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(3),
                "{write:?}: replica B still answers {now} from its cache"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
