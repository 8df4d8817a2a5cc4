//! One rate-limit mechanism for both doors: per client IP, and per email for failed logins.

use std::time::Duration;

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{LOGIN, PASSWORD, spawn_with};

#[tokio::test]
async fn rest_answers_carry_rate_limit_headers_and_429_with_retry_after_then_recover() {
    let app = spawn_with(|s| {
        s.limits.rest_per_window = 3;
        s.limits.window_seconds = 1;
    })
    .await;
    let get = || app.client.get(app.url("/api/customer/get")).send();
    let first = get().await.unwrap();
    assert_eq!(first.headers()["x-ratelimit-limit"], "3");
    assert_eq!(first.headers()["x-ratelimit-remaining"], "2");
    get().await.unwrap();
    get().await.unwrap();
    let limited = get().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
    let wait: u64 = limited.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=1).contains(&wait), "{wait}");
    assert_eq!(limited.json::<Value>().await.unwrap(), json!({ "error": "Too Many Attempts." }));

    let webshop = app
        .client
        .post(app.url("/api/services/webshop/v1/customer/auth/register"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(webshop.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        webshop.json::<Value>().await.unwrap(),
        json!({ "error": true, "message": "Too many requests." })
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get().await.unwrap().status(), StatusCode::UNAUTHORIZED, "allowed again after the window");
}

#[tokio::test]
async fn graphql_is_not_subject_to_the_rest_request_limit() {
    let app = spawn_with(|s| s.limits.rest_per_window = 1).await;
    for _ in 0..3 {
        assert_eq!(app.gql("{ me { id } }", json!({})).await, json!({ "data": { "me": null } }));
    }
}

#[tokio::test]
async fn aliased_graphql_logins_check_one_password_and_count_one_attempt_each() {
    let app = spawn_with(|s| s.limits.credentials_per_window = 3).await;
    let aliases: String = (0..3)
        .map(|i| format!(r#"a{i}: login(email: "x{i}@example.com", password: "guess") {{ token }} "#))
        .collect();
    let answer = app.gql(&format!("mutation {{ {aliases} }}"), json!({})).await;
    let limited = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["extensions"]["code"] == "RATE_LIMITED")
        .count();
    assert_eq!(limited, 2, "one password check per request: {answer}");
    // The limit is shared with REST: this IP has no credential attempts left.
    let rest = app
        .client
        .post(app.url("/api/customer/login"))
        .json(&json!({ "email": "a@b.co", "password": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(rest.headers().contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn repeated_failed_logins_lock_the_email_until_the_window_passes() {
    let app = spawn_with(|s| {
        s.limits.login_failures_per_email = 3;
        s.limits.login_failure_window_seconds = 2;
    })
    .await;
    app.register("jane@example.com").await;
    for _ in 0..3 {
        let payload = app.login("jane@example.com", "wrong-guess").await;
        assert_eq!(payload["errors"][0]["code"], "INVALID_CREDENTIALS");
    }
    // Even the right password is refused while locked: guessing gains nothing.
    let locked = app.gql(LOGIN, json!({ "email": "jane@example.com", "password": PASSWORD })).await;
    assert_eq!(locked["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    assert!(locked["errors"][0]["extensions"]["retryAfter"].as_u64().is_some());
    // Other emails are not affected.
    assert_eq!(
        app.login("john@example.com", "wrong-guess").await["errors"][0]["code"],
        "INVALID_CREDENTIALS"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(app.login("jane@example.com", PASSWORD).await["errors"], json!([]));
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
    let untrusted = spawn_with(|s| s.limits.rest_per_window = 1).await;
    let call = |app: &crate::helpers::TestApp, client_ip: &str| {
        app.client.get(app.url("/api/customer/get")).header("x-forwarded-for", client_ip.to_owned()).send()
    };
    assert_eq!(call(&untrusted, "203.0.113.1").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        call(&untrusted, "203.0.113.2").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS,
        "same socket IP"
    );

    let trusted = spawn_with(|s| {
        s.limits.rest_per_window = 1;
        s.server.trusted_proxies = vec![std::net::Ipv4Addr::LOCALHOST.into()];
    })
    .await;
    assert_eq!(call(&trusted, "203.0.113.1").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        call(&trusted, "203.0.113.2").await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "another client"
    );
    assert_eq!(call(&trusted, "203.0.113.1").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
}

// ---- Limits shared through Redis by every replica.

fn shared_limits(settings: &mut customer_accounts::config::Settings, redis_url: &str, prefix: &str) {
    use secrecy::SecretString;
    settings.redis.url = Some(SecretString::from(redis_url));
    settings.redis.key_prefix = prefix.to_owned();
    settings.limits.rest_per_window = 4;
    settings.limits.credentials_per_window = 2;
}

#[tokio::test]
async fn two_replicas_counting_in_redis_enforce_one_limit_between_them() {
    let test = "two_replicas_counting_in_redis_enforce_one_limit_between_them";
    let Some(redis) = crate::helpers::TestRedis::start(test) else { return };
    let prefix = crate::helpers::unique_redis_prefix();
    let first = spawn_with(|s| shared_limits(s, &redis.url(), &prefix)).await;
    let second = spawn_with(|s| shared_limits(s, &redis.url(), &prefix)).await;
    let get = |app: &crate::helpers::TestApp| app.client.get(app.url("/api/customer/get")).send();
    let mut remaining = Vec::new();
    for app in [&first, &second, &first, &second] {
        let answer = get(app).await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "within the limit");
        remaining.push(answer.headers()["x-ratelimit-remaining"].to_str().unwrap().to_owned());
    }
    assert_eq!(remaining, ["3", "2", "1", "0"], "one count for both replicas");
    for app in [&first, &second] {
        let refused = get(app).await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = refused.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((1..=15).contains(&wait), "{wait}");
    }

    // Credential operations: two on the first replica use up what the second may allow.
    for app in [&first, &first] {
        let answer = app.gql(LOGIN, json!({ "email": "x@example.com", "password": "guess-guess" })).await;
        assert_eq!(answer["data"]["login"]["errors"][0]["code"], "INVALID_CREDENTIALS", "{answer}");
    }
    let answer = second.gql(LOGIN, json!({ "email": "x@example.com", "password": "guess-guess" })).await;
    assert_eq!(crate::helpers::top_level_code(&answer), Some("RATE_LIMITED"), "{answer}");
}

#[tokio::test]
async fn without_redis_requests_fail_open_and_credential_checks_fail_closed_by_default() {
    let unreachable = |s: &mut customer_accounts::config::Settings| {
        // Nothing listens on port 1: every attempt is refused at once.
        shared_limits(s, "redis://127.0.0.1:1", "unused");
        // No change notices can be heard either; the cache would only wait for them.
        s.cache.ttl_seconds = 0;
    };
    let app = spawn_with(unreachable).await;
    for _ in 0..4 {
        let answer = app.client.get(app.url("/api/customer/get")).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "open: let through");
    }
    let counted_here = app.client.get(app.url("/api/customer/get")).send().await.unwrap();
    assert_eq!(counted_here.status(), StatusCode::TOO_MANY_REQUESTS, "counted in memory meanwhile");
    let login = app.gql(LOGIN, json!({ "email": "jane@example.com", "password": PASSWORD })).await;
    assert_eq!(crate::helpers::top_level_code(&login), Some("RATE_LIMITED"), "closed: {login}");
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for limit in ["rest", "credentials"] {
        let counted = format!("rate_limit_store_errors_total{{limit=\"{limit}\"}}");
        assert!(metrics.contains(&counted), "the outage is counted for {limit}");
    }

    let closed = spawn_with(|s| {
        unreachable(s);
        s.limits.failure_mode = customer_accounts::config::FailureMode::Closed;
        s.limits.auth_failure_mode = customer_accounts::config::FailureMode::Open;
    })
    .await;
    let refused = closed.client.get(closed.url("/api/customer/get")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()[header::RETRY_AFTER], "5");
    let login = closed.gql(LOGIN, json!({ "email": "jane@example.com", "password": PASSWORD })).await;
    assert_eq!(login["data"]["login"]["errors"][0]["code"], "INVALID_CREDENTIALS", "open: {login}");
}
