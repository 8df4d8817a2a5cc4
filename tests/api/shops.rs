//! Shops (projects) on GraphQL: a storefront names its shop with its API key; an email is unique
//! per shop; a customer's token never works in another shop.

use customer_accounts::{accounts, entity::project};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, REGISTER, TestApp, spawn, top_level_code};

/// Creates project 2 and an API key for it; returns the key.
pub async fn second_shop(app: &TestApp) -> String {
    project::ActiveModel {
        id: Set(2),
        name: Set("Second shop".into()),
        created_at: Set(chrono::Utc::now()),
        requires_api_key: Set(false),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    accounts::create_api_key(&app.state, 2, "storefront").await.unwrap().key
}

/// A GraphQL request with optional `X-Project-Key` and bearer.
pub async fn gql_in_shop(
    app: &TestApp,
    key: Option<&str>,
    bearer: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    app.graphql(query).variables(variables).shop_key(key).token(bearer).send().await
}

fn registration(email: &str) -> Value {
    json!({ "input": { "email": email, "firstName": "Jane", "lastName": "Doe",
        "password": PASSWORD, "passwordConfirmation": PASSWORD } })
}

const ME: &str = "{ me { id email } }";
const LOGIN: &str = "mutation L($e: String!, $p: String!) { login(email: $e, password: $p) { token customer { id } errors { code } } }";

#[tokio::test]
async fn one_email_has_an_account_in_each_shop_and_each_token_works_only_in_its_own() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    let first = app.register("jane@example.com").await;
    let second = gql_in_shop(&app, Some(&key), None, REGISTER, registration("jane@example.com")).await;
    let payload = &second["data"]["register"];
    assert_eq!(payload["errors"], json!([]), "the same email registers in the second shop: {second}");
    let second_id = payload["customer"]["id"].as_str().unwrap().to_owned();
    assert_ne!(second_id, first.id);
    let again = gql_in_shop(&app, Some(&key), None, REGISTER, registration("JANE@example.com")).await;
    assert_eq!(again["data"]["register"]["errors"][0]["code"], "EMAIL_TAKEN", "but once per shop");

    let login =
        gql_in_shop(&app, Some(&key), None, LOGIN, json!({ "e": "jane@example.com", "p": PASSWORD })).await;
    assert_eq!(
        login["data"]["login"]["customer"]["id"],
        second_id.as_str(),
        "login finds the shop's account"
    );
    let token = login["data"]["login"]["token"].as_str().unwrap().to_owned();

    let me = gql_in_shop(&app, Some(&key), Some(&token), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["id"], second_id.as_str());
    // The second shop's token, without its key, is asked in the default shop: nobody there.
    assert!(gql_in_shop(&app, None, Some(&token), ME, json!({})).await["data"]["me"].is_null());
    // The first shop's token presented with the second shop's key: nobody either.
    assert!(gql_in_shop(&app, Some(&key), Some(&first.token), ME, json!({})).await["data"]["me"].is_null());
    assert_eq!(
        app.me(&first.token).await["id"],
        first.id.as_str(),
        "the default shop keeps working without a key"
    );

    // The legacy paths hold to the same rule.
    let get = |bearer: &str, shop_key: Option<&str>| {
        let mut request = reqwest::Client::new().get(app.url("/api/customer/get")).bearer_auth(bearer);
        if let Some(k) = shop_key {
            request = request.header("X-Project-Key", k);
        }
        request.send()
    };
    assert_eq!(get(&token, None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get(&token, Some(&key)).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn an_api_key_as_the_bearer_names_the_shop_of_a_call_without_a_customer_token() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    let answer = gql_in_shop(&app, None, Some(&key), REGISTER, registration("ann@example.com")).await;
    assert_eq!(answer["data"]["register"]["errors"], json!([]), "{answer}");
    let in_default = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(in_default["errors"][0]["code"], "INVALID_CREDENTIALS", "the account is the second shop's");
    let in_second =
        gql_in_shop(&app, None, Some(&key), LOGIN, json!({ "e": "ann@example.com", "p": PASSWORD })).await;
    assert!(in_second["data"]["login"]["token"].is_string());
}

#[tokio::test]
async fn a_wrong_or_revoked_key_is_refused_rather_than_served_another_shop() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    let (id, _) = key.split_once('|').unwrap();
    for wrong in [
        format!("{id}|not-the-secret"),
        "999|whatever".to_owned(),
        "junk".to_owned(),
        format!("{id}|{}", "x".repeat(5000)),
    ] {
        let answer = gql_in_shop(&app, Some(&wrong), None, REGISTER, registration("x@example.com")).await;
        assert_eq!(top_level_code(&answer), Some("UNAUTHENTICATED"), "{wrong}: {answer}");
    }
    accounts::revoke_api_key(&app.state, id.parse().unwrap()).await.unwrap();
    let answer = gql_in_shop(&app, Some(&key), None, REGISTER, registration("x@example.com")).await;
    assert_eq!(top_level_code(&answer), Some("UNAUTHENTICATED"));
    let jane = app.register("jane@example.com").await;
    let answer = gql_in_shop(&app, Some(&key), Some(&jane.token), ME, json!({})).await;
    assert_eq!(top_level_code(&answer), Some("UNAUTHENTICATED"), "a revoked key is said so, even to `me`");
}

#[tokio::test]
async fn a_default_shop_that_requires_a_key_requires_it_on_graphql_too() {
    let app = spawn().await;
    let key = accounts::create_api_key(&app.state, 1, "storefront").await.unwrap().key;
    let answer = app.gql(REGISTER, registration("jane@example.com")).await;
    assert_eq!(top_level_code(&answer), Some("API_KEY_REQUIRED"), "{answer}");
    let answer = gql_in_shop(&app, Some(&key), None, REGISTER, registration("jane@example.com")).await;
    assert_eq!(answer["data"]["register"]["errors"], json!([]));
    let token = answer["data"]["register"]["token"].as_str().unwrap();
    assert!(app.me(token).await.is_object(), "a customer's own token needs no key in the default shop");
}
