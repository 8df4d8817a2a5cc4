//! Cost: fragments are costed once each, so a kilobyte cannot buy minutes of CPU.

use super::*;

fn doubling_fragments(levels: usize) -> String {
    let mut query = String::from("query { ...F0 }\n");
    for level in 0..levels {
        query.push_str(&format!("fragment F{level} on Query {{ ...F{n} ...F{n} }}\n", n = level + 1));
    }
    query.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
    query
}

#[tokio::test]
async fn fragments_that_double_at_each_level_are_refused_in_milliseconds() {
    let app = spawn().await;
    for levels in [22, 31] {
        let query = doubling_fragments(levels);
        assert!(query.len() < 1_500, "under 1.5 KB");
        let answer = graphql(&app, None, &query, json!({})).await;
        assert_eq!(top_level_code(&answer.body), Some("QUERY_TOO_COMPLEX"), "{}", answer.body);
        assert!(answer.took < Duration::from_millis(250), "{levels} levels took {:?}", answer.took);
    }
}

#[tokio::test]
async fn health_stays_fast_while_fragment_bombs_arrive_at_once() {
    let app = spawn().await;
    let query = doubling_fragments(31);
    let bombs = (0..8).map(|_| graphql(&app, None, &query, json!({})));
    let (bombs, health) =
        tokio::join!(futures::future::join_all(bombs), send(app.client.get(app.url("/health"))));
    assert_eq!(health.status, StatusCode::OK);
    assert!(health.took < Duration::from_millis(250), "health took {:?}", health.took);
    assert!(bombs.iter().all(|b| top_level_code(&b.body) == Some("QUERY_TOO_COMPLEX")));
}

#[tokio::test]
async fn fragment_cycles_too_many_selections_and_too_deep_documents_are_refused_with_codes() {
    let app = spawn().await;
    let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
    assert_eq!(
        top_level_code(&graphql(&app, None, cycle, json!({})).await.body),
        Some("GRAPHQL_VALIDATION_FAILED")
    );
    let many: String = (0..1_001).map(|i| format!("f{i}: __typename ")).collect();
    assert_eq!(
        top_level_code(&graphql(&app, None, &format!("{{ {many} }}"), json!({})).await.body),
        Some("QUERY_TOO_LARGE")
    );
    let deep = format!("{{ {} kind {} }}", "__schema { types { ofType { ".repeat(6), "} } } ".repeat(6));
    assert_eq!(top_level_code(&graphql(&app, None, &deep, json!({})).await.body), Some("QUERY_TOO_DEEP"));
    let aliases: String = (0..151).map(|i| format!("a{i}: me {{ id }} ")).collect();
    let answer = graphql(&app, None, &format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(top_level_code(&answer.body), Some("QUERY_TOO_COMPLEX"));
}

#[tokio::test]
async fn with_the_newer_media_type_a_refused_document_is_a_400_without_data() {
    let app = spawn().await;
    let request = app
        .client
        .post(app.url("/graphql"))
        .header(header::ACCEPT, "application/graphql-response+json")
        .json(&json!({ "query": doubling_fragments(22) }));
    let answer = send(request).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.body.get("data").is_none(), "{}", answer.body);
}

#[tokio::test]
async fn repeated_directives_huge_strings_and_unknown_operations_are_plain_errors() {
    let app = spawn().await;
    let directives = format!("{{ me {} {{ id }} }}", "@skip(if: false) ".repeat(40));
    assert!(graphql(&app, None, &directives, json!({})).await.body["errors"].is_array());
    let huge = format!(r#"{{ customer(id: "{}") {{ id }} }}"#, "x".repeat(60_000));
    assert!(graphql(&app, None, &huge, json!({})).await.body["errors"].is_array());
    let request = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": "query A { me { id } }", "operationName": "B" }));
    assert!(send(request).await.body["errors"].is_array());
}

#[tokio::test]
async fn production_does_not_suggest_field_names_of_the_hidden_schema() {
    let app = spawn_with(|s| s.app_env = AppEnv::Production).await;
    let typo = "{ customr(id: 1) { id } }";
    let answer = graphql(&app, None, typo, json!({})).await;
    let message = answer.body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");
    let development = spawn().await;
    let answer = graphql(&development, None, typo, json!({})).await;
    let message = answer.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("Did you mean \"customer\""), "{message}");
}
