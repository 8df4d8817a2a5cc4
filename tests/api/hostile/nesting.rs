//! Nesting: values nested thousands deep used to overflow the stack and abort the process.

use super::*;

#[tokio::test]
async fn deeply_nested_argument_values_are_refused_with_400_and_the_service_keeps_answering() {
    let app = spawn().await;
    for depth in [1_600, 3_000, 20_000] {
        let list = format!("{{ customer(id: {}) {{ id }} }}", nested_list(depth));
        assert_too_deep(&graphql(&app, None, &list, json!({})).await);
    }
    // `{a:` is three bytes a level: 20 000 levels would not fit under MAX_BODY_BYTES.
    for depth in [1_600, 3_000, 12_000] {
        let object = format!("{{ customer(id: {}) {{ id }} }}", nested_object(depth));
        assert_too_deep(&graphql(&app, None, &object, json!({})).await);
    }
    still_answers(&app).await;
}

#[tokio::test]
async fn deeply_nested_variable_defaults_and_directive_arguments_are_refused() {
    let app = spawn().await;
    let default = format!("query($v: ID = {}) {{ me {{ id }} }}", nested_list(1_600));
    assert_too_deep(&graphql(&app, None, &default, json!({})).await);
    let directive = format!("{{ me @include(if: {}) {{ id }} }}", nested_object(3_000));
    assert_too_deep(&graphql(&app, None, &directive, json!({})).await);
    still_answers(&app).await;
}

#[tokio::test]
async fn deeply_nested_variables_json_is_refused_by_post_and_by_get() {
    let app = spawn().await;
    let variables = "[".repeat(20_000);
    let body = format!(r#"{{"query":"query($v: ID) {{ me {{ id }} }}","variables":{{"v":{variables}}}}}"#);
    assert_too_deep(&raw_post(&app, "/graphql", body).await);
    let get =
        app.client.get(app.url("/graphql")).query(&[("query", "{ me { id } }"), ("variables", &variables)]);
    assert_too_deep(&send(get).await);
    still_answers(&app).await;
}

#[tokio::test]
async fn deeply_nested_documents_are_refused_by_get_and_in_production() {
    let app = spawn_with(|s| s.app_env = AppEnv::Production).await;
    let query = format!("{{ customer(id: {}) {{ id }} }}", nested_list(1_600));
    assert_too_deep(&send(app.client.get(app.url("/graphql")).query(&[("query", query.as_str())])).await);
    assert_too_deep(&graphql(&app, None, &query, json!({})).await);
    still_answers(&app).await;
}

#[tokio::test]
async fn nesting_up_to_the_bound_is_not_refused() {
    let app = spawn().await;
    let answer =
        graphql(&app, None, "query($v: ID) { customer(id: $v) { id } }", json!({ "v": json!([[[[1]]]]) }))
            .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_ne!(top_level_code(&answer.body), Some("INPUT_TOO_DEEP"));
}

#[tokio::test]
async fn deeply_nested_rest_bodies_are_a_400_in_each_apis_shape() {
    let app = spawn().await;
    let nested = format!(r#"{{"email":{}}}"#, "[".repeat(20_000));
    let bagisto = raw_post(&app, "/api/customer/login", nested.clone()).await;
    assert_eq!(bagisto.status, StatusCode::BAD_REQUEST);
    assert!(bagisto.body["message"].as_str().unwrap().contains("deeper than 64"), "{}", bagisto.body);
    let webshop = raw_post(&app, "/api/services/webshop/v1/customer/auth/register", nested).await;
    assert_eq!(webshop.status, StatusCode::BAD_REQUEST);
    assert_eq!(webshop.body["error"], true);
    still_answers(&app).await;
}
