//! The /graphql door's protections, and the health probes.

use customer_accounts::config::AppEnv;
use reqwest::{StatusCode, header};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn, spawn_with, top_level_code};

async fn post_raw(app: &TestApp, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    app.client
        .post(app.url("/graphql"))
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_body_over_max_body_bytes_gets_413() {
    let app = spawn().await;
    let query = format!("{{ me {{ id }} }} # {}", "x".repeat(70 * 1024));
    let body = json!({ "query": query }).to_string();
    assert_eq!(post_raw(&app, "application/json", body).await.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn text_plain_and_form_posts_are_refused_with_415() {
    let app = spawn().await;
    let body = json!({ "query": "mutation { logout { success } }" }).to_string();
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
    {
        let response = post_raw(&app, content_type, body.clone()).await;
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}");
    }
    let charset =
        post_raw(&app, "application/json; charset=utf-8", json!({"query": "{ me { id } }"}).to_string());
    assert_eq!(charset.await.status(), StatusCode::OK);
}

#[tokio::test]
async fn get_executes_queries_but_never_mutations() {
    let app = spawn().await;
    let query =
        app.client.get(app.url("/graphql")).query(&[("query", "{ me { id } }")]).send().await.unwrap();
    assert_eq!(query.status(), StatusCode::OK);
    assert_eq!(query.json::<Value>().await.unwrap(), json!({ "data": { "me": null } }));

    let register = r#"mutation { register(input: {email: "get@example.com", firstName: "G", lastName: "G", password: "password123", passwordConfirmation: "password123"}) { token } }"#;
    let mutation = app.client.get(app.url("/graphql")).query(&[("query", register)]).send().await.unwrap();
    assert_eq!(mutation.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(mutation.headers()[header::ALLOW], "POST");
    let login = app.login("get@example.com", "password123").await;
    assert_eq!(login["errors"][0]["code"], "INVALID_CREDENTIALS", "the GET registered nobody");
}

#[tokio::test]
async fn a_batch_array_is_refused() {
    let app = spawn().await;
    let batch = json!([{ "query": "{ me { id } }" }, { "query": "{ me { id } }" }]).to_string();
    let response = post_raw(&app, "application/json", batch).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(top_level_code(&body), Some("BATCH_NOT_SUPPORTED"));
}

#[tokio::test]
async fn malformed_json_is_a_400_with_a_clear_message() {
    let app = spawn().await;
    let response = post_raw(&app, "application/json", "{\"query\": ").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"][0]["message"].as_str().unwrap().starts_with("The body is not a GraphQL request"));
}

#[tokio::test]
async fn an_over_deep_query_is_refused() {
    let app = spawn().await;
    let mut nested = "name".to_owned();
    for _ in 0..20 {
        nested = format!("name ofType {{ {nested} }}");
    }
    let query = format!(r#"{{ __type(name: "Customer") {{ fields {{ type {{ {nested} }} }} }} }}"#);
    let answer = app.gql(&query, json!({})).await;
    assert_eq!(answer["errors"][0]["message"], "Query is nested too deep.");
    assert_eq!(answer["data"], Value::Null);
}

#[tokio::test]
async fn aliases_count_toward_the_complexity_limit() {
    let app = spawn().await;
    let aliases: String = (0..200).map(|i| format!("a{i}: me {{ id }} ")).collect();
    let answer = app.gql(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(answer["errors"][0]["message"], "Query is too complex.");
}

#[tokio::test]
async fn graphiql_and_introspection_are_on_in_development() {
    let app = spawn().await;
    let page = app.client.get(app.url("/graphql")).header(header::ACCEPT, "text/html").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().to_lowercase().contains("graphiql"));
    let answer = app.gql("{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(answer["data"]["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn graphiql_and_introspection_are_off_in_production_unless_switched_on() {
    let app = spawn_with(|s| s.app_env = AppEnv::Production).await;
    let page = app.client.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    let answer = app.gql("{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(answer["data"]["__schema"], Value::Null, "{answer}");

    let switched_on = spawn_with(|s| {
        s.app_env = AppEnv::Production;
        s.graphql.introspection = Some(true);
        s.graphql.graphiql = Some(true);
    })
    .await;
    assert_eq!(
        switched_on.client.get(switched_on.url("/graphql")).send().await.unwrap().status(),
        StatusCode::OK
    );
    let answer = switched_on.gql("{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(answer["data"]["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn answers_use_graphql_response_json_when_the_client_accepts_it() {
    let app = spawn().await;
    let me = || app.graphql("{ me { id } }");
    let modern =
        me().header("Accept", "application/graphql-response+json, application/json;q=0.9").response().await;
    assert_eq!(modern.headers()[header::CONTENT_TYPE], "application/graphql-response+json");
    let legacy = me().response().await;
    assert_eq!(legacy.headers()[header::CONTENT_TYPE], "application/json");
}

#[tokio::test]
async fn internal_failures_show_only_internal_and_a_request_id() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    app.state.db.execute_unprepared("DROP TABLE refresh_tokens").await.unwrap();
    app.state.db.execute_unprepared("DROP TABLE sessions").await.unwrap();
    let response = app.graphql("{ me { id } }").token(Some(&jane.token)).response().await;
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(top_level_code(&answer), Some("INTERNAL"));
    assert_eq!(answer["errors"][0]["message"], "Internal server error.");
    assert_eq!(answer["errors"][0]["extensions"]["requestId"], request_id.as_str());
    let text = answer.to_string().to_lowercase();
    assert!(!text.contains("sessions") && !text.contains("sql") && !text.contains("table"), "{text}");
}

#[tokio::test]
async fn health_answers_while_ready_follows_the_database() {
    let app = spawn().await;
    assert_eq!(app.client.get(app.url("/health")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.client.get(app.url("/ready")).send().await.unwrap().status(), StatusCode::OK);
    app.state.db.clone().close().await.unwrap();
    assert_eq!(
        app.client.get(app.url("/ready")).send().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(app.client.get(app.url("/health")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn configured_storefront_origins_may_call_graphql_from_a_browser_and_others_may_not() {
    let app = spawn_with(|s| s.server.cors_allowed_origins = vec!["https://shop.example".into()]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization, content-type")
            .send()
    };
    let allowed = preflight("https://shop.example").await.unwrap();
    assert_eq!(allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://shop.example");
    let allowed_headers =
        allowed.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap().to_lowercase();
    assert!(allowed_headers.contains("authorization") && allowed_headers.contains("content-type"));
    let other = preflight("https://evil.example").await.unwrap();
    assert!(!other.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    let without = spawn().await;
    let response =
        without.client.post(without.url("/graphql")).header(header::ORIGIN, "https://shop.example");
    let response = response.json(&json!({ "query": "{ me { id } }" })).send().await.unwrap();
    assert!(!response.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN), "none by default");
}
