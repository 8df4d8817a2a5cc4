//! One rate-limit mechanism for both doors: per client IP, and per email for failed logins.

use std::time::Duration;

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{LOGIN, PASSWORD, spawn_with};

#[tokio::test]
async fn rest_answers_carry_rate_limit_headers_and_429_with_retry_after_then_recover() {
    let app = spawn_with(|s| {
        s.rate_limit_per_minute = 3;
        s.rate_limit_window_seconds = 1;
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
    let app = spawn_with(|s| s.rate_limit_per_minute = 1).await;
    for _ in 0..3 {
        assert_eq!(app.gql("{ me { id } }", json!({})).await, json!({ "data": { "me": null } }));
    }
}

#[tokio::test]
async fn aliased_graphql_logins_check_one_password_and_count_one_attempt_each() {
    let app = spawn_with(|s| s.auth_rate_limit_per_minute = 3).await;
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
        s.login_failures_per_email = 3;
        s.login_failure_window_seconds = 2;
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
    let untrusted = spawn_with(|s| s.rate_limit_per_minute = 1).await;
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
        s.rate_limit_per_minute = 1;
        s.trusted_proxies = "127.0.0.1".into();
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
