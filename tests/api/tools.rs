//! What the tools storefront developers use send: graphql-js's standard introspection query,
//! Apollo's automatic persisted queries, and GraphQL-over-HTTP's newer media type.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::helpers::{TestApp, spawn, top_level_code};

/// graphql-js 16.15's `getIntrospectionQuery()` with every option GraphiQL turns on
/// (descriptions, specifiedByUrl, directiveIsRepeatable, schemaDescription, inputValueDeprecation).
const STANDARD_INTROSPECTION: &str = include_str!("fixtures/introspection.graphql");

async fn post(app: &TestApp, accept: &str, body: Value) -> (StatusCode, Option<String>, Value) {
    let response = app.graphql("").body(body).header("Accept", accept).response().await;
    let status = response.status();
    let content_type =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, content_type, response.json().await.unwrap())
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn the_standard_introspection_query_passes_the_default_limits() {
    let app = spawn().await;
    let (status, _, answer) =
        post(&app, "application/json", json!({ "query": STANDARD_INTROSPECTION })).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer.get("errors").is_none(), "{answer}");
    let types = answer["data"]["__schema"]["types"].as_array().unwrap();
    for name in ["Query", "Mutation", "Customer", "Date", "DateTime"] {
        assert!(types.iter().any(|t| t["name"] == name), "{name} is listed");
    }
}

#[tokio::test]
async fn apollo_persisted_queries_fall_back_then_run_from_the_hash() {
    let app = spawn().await;
    let query = "query Ping { __typename }";
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256(query) } });

    let (status, _, miss) = post(&app, "application/json", json!({ "extensions": persisted })).await;
    assert_eq!(status, StatusCode::OK, "Apollo expects the miss as a GraphQL error");
    assert_eq!(top_level_code(&miss), Some("PERSISTED_QUERY_NOT_FOUND"), "{miss}");

    let (_, _, registered) =
        post(&app, "application/json", json!({ "query": query, "extensions": persisted })).await;
    assert_eq!(registered["data"]["__typename"], "Query");
    let (_, _, by_hash) = post(&app, "application/json", json!({ "extensions": persisted })).await;
    assert_eq!(by_hash["data"]["__typename"], "Query", "{by_hash}");

    let extensions = persisted.to_string();
    let by_get = app
        .client
        .get(app.url("/graphql"))
        .query(&[("extensions", extensions.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(by_get.json::<Value>().await.unwrap()["data"]["__typename"], "Query");
}

#[tokio::test]
async fn a_persisted_hash_must_match_its_document_and_never_runs_a_mutation_by_get() {
    let app = spawn().await;
    let wrong = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256("something else") } });
    let (status, _, answer) =
        post(&app, "application/json", json!({ "query": "{ __typename }", "extensions": wrong })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(top_level_code(&answer), Some("PERSISTED_QUERY_HASH_MISMATCH"));

    let mutation = r#"mutation { forgotPassword(email: "jane@example.com") { message } }"#;
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256(mutation) } });
    post(&app, "application/json", json!({ "query": mutation, "extensions": persisted })).await;
    let extensions = persisted.to_string();
    let by_get = app
        .client
        .get(app.url("/graphql"))
        .query(&[("extensions", extensions.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(by_get.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_cached_document_is_held_to_the_cost_limits_for_the_operation_run() {
    let app = spawn().await;
    let aliases: String = (0..200).map(|i| format!("a{i}: __typename ")).collect();
    let document = format!("query Cheap {{ __typename }} query Costly {{ {aliases} }}");
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256(&document) } });
    let body = json!({ "query": document, "operationName": "Cheap", "extensions": persisted });
    let (_, _, cheap) = post(&app, "application/json", body).await;
    assert_eq!(cheap["data"]["__typename"], "Query", "{cheap}");
    let body = json!({ "operationName": "Costly", "extensions": persisted });
    let (_, _, costly) = post(&app, "application/json", body).await;
    assert_eq!(top_level_code(&costly), Some("QUERY_TOO_COMPLEX"), "{costly}");
}

#[tokio::test]
async fn with_the_newer_media_type_request_errors_are_400_without_data() {
    let app = spawn().await;
    let accept = "application/graphql-response+json";
    let cases = [
        json!({ "query": "{ me { " }),
        json!({ "query": "{ noSuchField }" }),
        json!({ "query": "query($e: String!) { forgotPasswordCheck: __typename }", "variables": {} }),
    ];
    for body in cases {
        let (status, content_type, answer) = post(&app, accept, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(answer.get("data").is_none(), "{answer}");
        assert!(answer["errors"].as_array().is_some_and(|e| !e.is_empty()));
        assert_eq!(content_type.as_deref(), Some(accept));
    }
    // With application/json the same request is a 200 with errors, as before.
    let (status, _, answer) = post(&app, "application/json", json!({ "query": "{ noSuchField }" })).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer["errors"].is_array());
}

#[tokio::test]
async fn a_page_of_an_allowed_origin_can_read_the_413_and_send_its_own_headers() {
    let app = crate::helpers::spawn_with(|s| {
        s.server.cors_allowed_origins = vec!["https://shop.example".into()];
        s.server.cors_allowed_headers = vec![reqwest::header::HeaderName::from_static("x-shop-locale")];
    })
    .await;
    let query = format!("{{ me {{ id }} }} # {}", "x".repeat(70 * 1024));
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(header::ORIGIN, "https://shop.example")
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://shop.example");
    let body: Value = response.json().await.unwrap();
    assert_eq!(top_level_code(&body), Some("PAYLOAD_TOO_LARGE"), "{body}");

    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header(header::ORIGIN, "https://shop.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "apollographql-client-name, x-request-id, x-shop-locale",
        )
        .send()
        .await
        .unwrap();
    let allowed = preflight.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap().to_lowercase();
    for name in ["apollographql-client-name", "x-request-id", "x-shop-locale"] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
}

#[tokio::test]
async fn schema_graphql_says_what_live_introspection_says_directives_included() {
    let app = spawn().await;
    let sdl = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    let (_, _, answer) = post(&app, "application/json", json!({ "query": STANDARD_INTROSPECTION })).await;
    let schema = &answer["data"]["__schema"];
    for kind in schema["types"].as_array().unwrap() {
        let name = kind["name"].as_str().unwrap();
        if name.starts_with("__") || ["String", "Boolean", "Int", "Float", "ID"].contains(&name) {
            continue;
        }
        let keyword = match kind["kind"].as_str().unwrap() {
            "OBJECT" => "type",
            "INPUT_OBJECT" => "input",
            "ENUM" => "enum",
            "SCALAR" => "scalar",
            other => panic!("unexpected kind {other}"),
        };
        let declared = sdl.lines().find(|l| l.starts_with(&format!("{keyword} {name}")));
        let declared = declared.unwrap_or_else(|| panic!("{keyword} {name} is missing from schema.graphql"));
        if let Some(url) = kind["specifiedByURL"].as_str() {
            assert!(declared.contains(&format!("@specifiedBy(url: \"{url}\")")), "{declared}");
        }
        for field in kind["fields"].as_array().into_iter().chain(kind["inputFields"].as_array()).flatten() {
            let field = field["name"].as_str().unwrap();
            assert!(sdl.contains(&format!("\t{field}")), "{name}.{field} is missing from schema.graphql");
        }
    }
    for directive in schema["directives"].as_array().unwrap() {
        let name = directive["name"].as_str().unwrap();
        // The spec's own directives need no declaration; graphql-js's printSchema omits them too.
        if !["skip", "include", "deprecated", "specifiedBy", "oneOf"].contains(&name) {
            assert!(sdl.contains(&format!("directive @{name}")), "@{name} is missing from schema.graphql");
        }
    }
    let date_time = schema["types"].as_array().unwrap().iter().find(|t| t["name"] == "DateTime").unwrap();
    assert!(date_time["description"].as_str().unwrap().contains("RFC 3339"), "a real description");
}

#[tokio::test]
async fn the_openapi_document_is_one_that_client_generators_accept() {
    let app = spawn().await;
    let document: Value =
        app.client.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(document["servers"][0]["url"], crate::helpers::PUBLIC_URL);
    let schemes = document["components"]["securitySchemes"].as_object().unwrap();
    for scheme in ["bearer", "cookie", "project_key"] {
        assert!(schemes.contains_key(scheme), "{scheme} is declared");
    }
    let mut operation_ids = Vec::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            operation_ids.push(operation["operationId"].as_str().unwrap().to_owned());
            // Login's 401 is for wrong credentials, not for a missing one.
            let answers_401 = operation["responses"].get("401").is_some() && path != "/api/customer/login";
            let declares_security =
                operation.get("security").is_some_and(|s| s.as_array().is_some_and(|s| !s.is_empty()));
            assert!(
                !answers_401 || declares_security,
                "{method} {path} answers 401 but declares no security"
            );
        }
    }
    let count = operation_ids.len();
    operation_ids.sort();
    operation_ids.dedup();
    assert_eq!(operation_ids.len(), count, "operationIds are unique");
    let token = &document["components"]["schemas"]["LoginToken"]["oneOf"];
    assert_eq!((token[0]["type"].as_str(), token[1]["type"].as_str()), (Some("string"), Some("boolean")));
    assert_nullable_enums_admit_null(&document, "#");
}

/// A schema whose type admits null but whose enum leaves null out refuses null after all, and
/// a generated client then fails on an answer that carries one (a customer with no gender).
fn assert_nullable_enums_admit_null(schema: &Value, at: &str) {
    match schema {
        Value::Object(object) => {
            let nullable = object
                .get("type")
                .and_then(Value::as_array)
                .is_some_and(|types| types.contains(&json!("null")));
            if let (true, Some(values)) = (nullable, object.get("enum").and_then(Value::as_array)) {
                assert!(values.contains(&Value::Null), "{at} admits null by type but not by enum");
            }
            for (key, value) in object {
                assert_nullable_enums_admit_null(value, &format!("{at}/{key}"));
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                assert_nullable_enums_admit_null(item, &format!("{at}/{index}"));
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn prometheus_metrics_cover_requests_operations_hashing_limits_outbox_and_pool() {
    let app = crate::helpers::spawn_with(|s| s.limits.rest_per_window = 1).await;
    let jane = app.register("jane@example.com").await;
    app.me(&jane.token).await;
    for _ in 0..2 {
        app.client.get(app.url("/api/customer/get")).send().await.unwrap();
    }
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for expected in [
        r#"http_requests_total{route="/graphql",method="POST",status="2xx"}"#,
        r#"http_request_duration_seconds_bucket{route="/api/customer/get",method="GET""#,
        r#"graphql_operations_total{operation="me",type="query",outcome="ok"}"#,
        r#"graphql_operations_total{operation="register",type="mutation",outcome="ok"}"#,
        "graphql_operation_duration_seconds_bucket",
        "password_hash_wait_seconds_bucket",
        "password_hash_queue_depth",
        r#"rate_limit_refusals_total{limit="rest"}"#,
        r#"outbox_messages{state="pending"}"#,
        r#"db_pool_connections{state="in_use"}"#,
    ] {
        assert!(text.contains(expected), "{expected} is missing from:\n{text}");
    }
}

#[tokio::test]
async fn clients_cannot_grow_the_metrics_with_invented_methods_or_field_combinations() {
    let app = crate::helpers::spawn().await;
    for n in 0..300 {
        let method = reqwest::Method::from_bytes(format!("XM{n:04}").as_bytes()).unwrap();
        app.client.request(method, app.url("/health")).send().await.unwrap();
    }
    let combinations =
        ["{ a: me { id } b: __typename }", "{ me { id } x: me { id } }", "{ __typename me { email } }"];
    for document in combinations {
        app.gql(document, serde_json::json!({})).await;
    }
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(!text.contains("XM0"), "an invented method became a label");
    assert!(text.contains(r#"method="other""#), "invented methods are counted as `other`");
    assert!(!text.contains(r#"operation="__typename,me""#), "combinations of fields are no labels");
    assert!(text.contains(r#"operation="multiple",type="query",outcome="ok""#), "{text}");
}

#[tokio::test]
async fn production_serves_no_metrics_on_the_public_listener() {
    let app = crate::helpers::spawn_with(|s| s.app_env = customer_accounts::config::AppEnv::Production).await;
    assert_eq!(app.client.get(app.url("/metrics")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn graphiql_is_served_from_the_service_itself_under_a_strict_policy() {
    let app = spawn().await;
    let page = app.client.get(app.url("/graphql")).header(header::ACCEPT, "text/html").send().await.unwrap();
    let policy = page.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(policy.contains("script-src 'self'") && policy.contains("default-src 'none'"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "no other origin: {html}");
    let assets: Vec<&str> = html.split('"').filter(|part| part.starts_with("/graphql/assets/")).collect();
    assert_eq!(assets.len(), 6, "{html}");
    for asset in assets {
        let response = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        let cache = response.headers()[header::CACHE_CONTROL].to_str().unwrap().to_owned();
        let versioned = asset.contains("3.8.3") || asset.contains("18.3.1");
        assert_eq!(cache.contains("immutable"), versioned, "{asset}: {cache}");
    }
    let missing = app.client.get(app.url("/graphql/assets/../Cargo.toml")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
