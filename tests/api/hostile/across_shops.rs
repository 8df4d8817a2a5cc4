//! Hostile requests across shops: nothing one shop's key, token or customer does reaches another
//! shop's accounts, on any door. Two shops share an email address throughout.

use customer_accounts::accounts;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{PASSWORD, REGISTER, TestApp, spawn, top_level_code},
    shops::{gql_in_shop, second_shop},
};

const LOGIN: &str = "mutation L($e: String!, $p: String!) { login(email: $e, password: $p) { token refreshToken customer { id } errors { code } } }";
const REFRESH: &str = "mutation R($t: String!) { refreshAccessToken(refreshToken: $t) { token refreshToken errors { field code } } }";

fn registration(email: &str) -> Value {
    json!({ "input": { "email": email, "firstName": "Jane", "lastName": "Doe",
        "password": PASSWORD, "passwordConfirmation": PASSWORD } })
}

/// Logs `email` in through GraphQL in the shop of `key`; the login payload.
async fn login_in(app: &TestApp, key: Option<&str>, email: &str) -> Value {
    let answer = gql_in_shop(app, key, None, LOGIN, json!({ "e": email, "p": PASSWORD })).await;
    answer["data"]["login"].clone()
}

/// A Bagisto call with an optional `X-Project-Key`.
async fn bagisto(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&body);
    if let Some(key) = key {
        request = request.header("X-Project-Key", key);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

fn bagisto_registration(email: &str) -> Value {
    json!({ "email": email, "first_name": "Jane", "last_name": "Doe",
        "password": PASSWORD, "password_confirmation": PASSWORD })
}

#[tokio::test]
async fn a_refresh_token_works_only_in_its_own_shop_and_a_wrong_key_is_unauthenticated() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    app.register("jane@example.com").await;
    let first = login_in(&app, None, "jane@example.com").await;
    let refresh = first["refreshToken"].as_str().unwrap().to_owned();

    let in_other_shop = gql_in_shop(&app, Some(&key), None, REFRESH, json!({ "t": refresh })).await;
    let payload = &in_other_shop["data"]["refreshAccessToken"];
    assert_eq!(payload["errors"][0]["code"], "INVALID_TOKEN", "{in_other_shop}");
    assert!(payload["token"].is_null());

    let (id, _) = key.split_once('|').unwrap();
    for wrong in [format!("{id}|not-the-secret"), "999|whatever".to_owned(), "junk".to_owned()] {
        let answer = gql_in_shop(&app, Some(&wrong), None, REFRESH, json!({ "t": refresh })).await;
        assert_eq!(top_level_code(&answer), Some("UNAUTHENTICATED"), "{wrong}: {answer}");
    }
    accounts::revoke_api_key(&app.state, id.parse().unwrap()).await.unwrap();
    let revoked = gql_in_shop(&app, Some(&key), None, REFRESH, json!({ "t": refresh })).await;
    assert_eq!(top_level_code(&revoked), Some("UNAUTHENTICATED"), "{revoked}");

    // None of that spent the token or counted as its reuse: in its own shop it still works once.
    let own = app.gql(REFRESH, json!({ "t": refresh })).await;
    assert_eq!(own["data"]["refreshAccessToken"]["errors"], json!([]), "{own}");
    assert!(app.me(own["data"]["refreshAccessToken"]["token"].as_str().unwrap()).await.is_object());
}

#[tokio::test]
async fn a_second_shops_refresh_token_renews_its_session_only_with_that_shops_key() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    let registered = gql_in_shop(&app, Some(&key), None, REGISTER, registration("jane@example.com")).await;
    assert_eq!(registered["data"]["register"]["errors"], json!([]), "{registered}");
    let login = login_in(&app, Some(&key), "jane@example.com").await;
    let refresh = login["refreshToken"].as_str().unwrap().to_owned();
    let without_key = app.gql(REFRESH, json!({ "t": refresh })).await;
    assert_eq!(without_key["data"]["refreshAccessToken"]["errors"][0]["code"], "INVALID_TOKEN");
    let with_key = gql_in_shop(&app, Some(&key), None, REFRESH, json!({ "t": refresh })).await;
    assert_eq!(with_key["data"]["refreshAccessToken"]["errors"], json!([]), "{with_key}");
}

#[tokio::test]
async fn the_bagisto_paths_register_log_in_and_reset_in_the_shop_their_key_names() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    app.register("jane@example.com").await;

    let (status, body) = bagisto(
        &app,
        reqwest::Method::POST,
        "/api/v1/customer/register",
        Some(&key),
        bagisto_registration("jane@example.com"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the address is free in the second shop: {body}");
    let (status, body) = bagisto(
        &app,
        reqwest::Method::POST,
        "/api/customer/register",
        Some(&key),
        bagisto_registration("jane@example.com"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "but taken there now: {body}");

    let (status, body) = bagisto(
        &app,
        reqwest::Method::POST,
        "/api/customer/login?token=true",
        Some(&key),
        json!({ "email": "jane@example.com", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap();
    let second_id = body["data"]["id"].as_i64().unwrap();
    let me = gql_in_shop(&app, Some(&key), Some(token), "{ me { id } }", json!({})).await;
    assert_eq!(me["data"]["me"]["id"], second_id.to_string(), "the token is the second shop's");
    assert!(app.me(token).await.is_null(), "and works nowhere else");

    let (status, _) = bagisto(
        &app,
        reqwest::Method::POST,
        "/api/customer/forgot-password",
        Some("999|not-a-key"),
        json!({ "email": "jane@example.com" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a wrong key is refused, not served the default shop");
}

#[tokio::test]
async fn once_the_default_shop_requires_a_key_the_bagisto_paths_require_it_too() {
    let app = spawn().await;
    app.register("jane@example.com").await;
    let key = accounts::create_api_key(&app.state, 1, "storefront").await.unwrap().key;
    let refused = json!({ "error": "Unauthenticated" });
    let credentials = json!({ "email": "jane@example.com", "password": PASSWORD });
    for (path, body) in [
        ("/api/v1/customer/register", bagisto_registration("ann@example.com")),
        ("/api/customer/register", bagisto_registration("ann@example.com")),
        ("/api/customer/login?token=true", credentials.clone()),
        ("/api/customer/login", credentials.clone()),
        ("/api/customer/forgot-password", json!({ "email": "jane@example.com" })),
    ] {
        let answer = bagisto(&app, reqwest::Method::POST, path, None, body).await;
        assert_eq!(answer, (StatusCode::UNAUTHORIZED, refused.clone()), "{path}");
    }
    let (status, _) =
        bagisto(&app, reqwest::Method::POST, "/api/customer/login?token=true", Some(&key), credentials).await;
    assert_eq!(status, StatusCode::OK, "with the key, the legacy client is served");
    let bearer = reqwest::Client::new()
        .post(app.url("/api/customer/forgot-password"))
        .bearer_auth(&key)
        .json(&json!({ "email": "jane@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::OK, "the key works as the bearer of a call without a customer");
}

#[tokio::test]
async fn a_missing_shop_key_says_that_the_key_is_required_not_that_a_login_is() {
    let app = spawn().await;
    accounts::create_api_key(&app.state, 1, "storefront").await.unwrap();
    let answer = app.gql(REGISTER, registration("jane@example.com")).await;
    assert_eq!(top_level_code(&answer), Some("API_KEY_REQUIRED"), "{answer}");
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("API key") && message.contains("X-Project-Key"), "{message}");
    let wrong = gql_in_shop(&app, Some("1|wrong"), None, REGISTER, registration("jane@example.com")).await;
    assert_eq!(top_level_code(&wrong), Some("UNAUTHENTICATED"), "a wrong key stays a wrong key");
}

#[tokio::test]
async fn deleting_an_account_deletes_its_own_mail_and_not_another_shops_customer_with_the_same_address() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    let first = app.register("jane@example.com").await;
    let registered = gql_in_shop(&app, Some(&key), None, REGISTER, registration("jane@example.com")).await;
    let second_id: i64 = registered["data"]["register"]["customer"]["id"].as_str().unwrap().parse().unwrap();
    let forgot = "mutation F($e: String!) { forgotPassword(email: $e) { errors { code } } }";
    gql_in_shop(&app, Some(&key), None, forgot, json!({ "e": "jane@example.com" })).await;
    let db = &app.state.db;
    let letters_of = |id: i64| async move {
        crate::helpers::outbox::rows(db).await.iter().filter(|r| r.customer_id == Some(id)).count()
    };
    let before = letters_of(second_id).await;
    assert_eq!(before, 2, "the second shop's customer has a verification and a reset letter");

    let delete = "mutation D($p: String!) { deleteAccount(currentPassword: $p) { success errors { code } } }";
    let answer = app.gql_as(Some(&first.token), delete, json!({ "p": PASSWORD })).await;
    assert_eq!(answer["data"]["deleteAccount"]["success"], true, "{answer}");
    assert_eq!(letters_of(second_id).await, before, "the other shop's letters are untouched");
    let first_id: i64 = first.id.parse().unwrap();
    assert_eq!(letters_of(first_id).await, 1, "the deleted account keeps only its confirmation");
    let login = login_in(&app, Some(&key), "jane@example.com").await;
    assert!(login["token"].is_string(), "the other shop's account is untouched: {login}");
}
