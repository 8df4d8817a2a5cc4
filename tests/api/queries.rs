use serde_json::{Value, json};

use crate::helpers::{spawn, top_level_code};

const CUSTOMER: &str = "query($id: ID!) { customer(id: $id) { id email } }";

#[tokio::test]
async fn me_is_null_without_a_token_or_with_a_bad_one() {
    let app = spawn().await;
    let answer = app.gql("{ me { id } }", json!({})).await;
    assert_eq!(answer, json!({ "data": { "me": null } }));
    assert_eq!(app.me("not-a-token").await, Value::Null);
}

#[tokio::test]
async fn me_returns_the_caller() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    assert_eq!(app.me(&jane.token).await, json!({ "id": jane.id, "email": "jane@example.com" }));
}

#[tokio::test]
async fn customer_by_ones_own_id_returns_the_record() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let answer = app.gql_as(Some(&jane.token), CUSTOMER, json!({ "id": jane.id })).await;
    assert_eq!(answer["data"]["customer"]["email"], "jane@example.com");
}

#[tokio::test]
async fn customer_by_another_id_is_forbidden_without_revealing_whether_it_exists() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let john = app.register("john@example.com").await;
    let existing = app.gql_as(Some(&jane.token), CUSTOMER, json!({ "id": john.id })).await;
    let missing = app.gql_as(Some(&jane.token), CUSTOMER, json!({ "id": "999999" })).await;
    assert_eq!(top_level_code(&existing), Some("FORBIDDEN"));
    assert_eq!(existing["data"]["customer"], Value::Null);
    assert_eq!(existing, missing);
    assert!(!existing.to_string().contains("john@example.com"));
}

#[tokio::test]
async fn customer_without_logging_in_is_unauthenticated() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let answer = app.gql(CUSTOMER, json!({ "id": jane.id })).await;
    assert_eq!(top_level_code(&answer), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn no_password_hash_or_secret_is_reachable_from_the_schema() {
    let app = spawn().await;
    let answer = app.gql(r#"{ __type(name: "Customer") { fields { name } } }"#, json!({})).await;
    let fields: Vec<String> = answer["data"]["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(fields.contains(&"email".to_owned()));
    assert!(fields.iter().all(|f| !f.contains("password") && !f.contains("hash") && !f.contains("secret")));
}

#[tokio::test]
async fn customer_groups_are_answered_from_memory_once_loaded() {
    use customer_accounts::entity::customer_group;
    use sea_orm::{EntityTrait, sea_query::Expr};
    let app = crate::helpers::spawn().await;
    let jane = app.register("jane@example.com").await;
    let query = "{ me { group { code name } } }";
    let first = app.gql_as(Some(&jane.token), query, serde_json::json!({})).await;
    assert_eq!(first["data"]["me"]["group"]["code"], "general");
    // Renamed behind the service's back: the loaded groups stand until GROUPS_TTL passes, which
    // is what saves every customer answer a query.
    customer_group::Entity::update_many()
        .col_expr(customer_group::Column::Name, Expr::value("Renamed"))
        .exec(&app.state.db)
        .await
        .unwrap();
    let again = app.gql_as(Some(&jane.token), query, serde_json::json!({})).await;
    assert_eq!(again["data"]["me"]["group"], first["data"]["me"]["group"]);
    let (status, rest) = app
        .rest(&app.client, reqwest::Method::GET, &format!("/api/customer/get?token={}", jane.token), None)
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(rest["data"]["group"]["name"], first["data"]["me"]["group"]["name"]);
}

#[tokio::test]
async fn a_repeated_document_is_parsed_once_yet_answers_each_request_with_its_own_variables() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let john = app.register("john@example.com").await;
    let query = "query Who($id: ID!) { customer(id: $id) { email } }";
    for (customer, email) in [(&jane, "jane@example.com"), (&john, "john@example.com")] {
        let answer = app.gql_as(Some(&customer.token), query, json!({ "id": customer.id })).await;
        assert_eq!(answer["data"]["customer"]["email"], email, "{answer}");
    }
    // The same text for another operation of it: the guard and validation still judge each request.
    let two = "query A { me { id } } query B { me { id email } }";
    let body = json!({ "query": two, "operationName": "B" });
    let answer = app.graphql(two).body(body).token(Some(&jane.token)).send().await;
    assert_eq!(answer["data"]["me"]["email"], "jane@example.com", "{answer}");
    let unnamed = app.graphql(two).send().await;
    assert!(unnamed["errors"][0]["message"].is_string(), "an operation must be named: {unnamed}");
    let aliases: String = (0..200).map(|i| format!("a{i}: __typename ")).collect();
    let heavy = format!("{{ {aliases} }}");
    for _ in 0..2 {
        assert_eq!(top_level_code(&app.gql(&heavy, json!({})).await), Some("QUERY_TOO_COMPLEX"));
    }
}
