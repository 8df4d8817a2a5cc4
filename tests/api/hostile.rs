//! Requests an attacker would send. None may crash the service, get a 5xx, or take over a second;
//! each family below names what it proves. Runs on SQLite and PostgreSQL alike.

use std::time::{Duration, Instant};

use customer_accounts::{accounts, config::AppEnv, entity::event_window};
use reqwest::{Method, StatusCode, header};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{
    PASSWORD, TestApp, UPDATE_PROFILE, error_codes, issue_link, spawn, spawn_with, top_level_code,
};

/// The longest any hostile request may take.
const PROMPT: Duration = Duration::from_secs(1);

/// An answer: status, JSON body (null when not JSON) and how long it took.
struct Answer {
    status: StatusCode,
    body: Value,
    took: Duration,
}

/// Sends `request`, and holds the answer to the promise every case shares.
async fn send(request: reqwest::RequestBuilder) -> Answer {
    let started = Instant::now();
    let response = request.send().await.expect("the service answers");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    let took = started.elapsed();
    assert!(!status.is_server_error(), "{status}: {body}");
    assert!(took < PROMPT, "took {took:?}: {body}");
    Answer { status, body, took }
}

async fn graphql(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> Answer {
    let mut request =
        app.client.post(app.url("/graphql")).json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    send(request).await
}

async fn raw_post(app: &TestApp, path: &str, body: String) -> Answer {
    send(app.client.post(app.url(path)).header(header::CONTENT_TYPE, "application/json").body(body)).await
}

async fn still_answers(app: &TestApp) {
    assert_eq!(send(app.client.get(app.url("/health"))).await.status, StatusCode::OK);
}

fn nested_list(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

fn nested_object(depth: usize) -> String {
    format!("{}1{}", "{a:".repeat(depth), "}".repeat(depth))
}

fn assert_too_deep(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(top_level_code(&answer.body), Some("INPUT_TOO_DEEP"), "{}", answer.body);
}

// ---- Nesting: values nested thousands deep used to overflow the stack and abort the process.

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

// ---- Cost: fragments are costed once each, so a kilobyte cannot buy minutes of CPU.

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

// ---- Password checks: one per request, counted per IP and per email, decided by the database.

#[tokio::test]
async fn aliased_current_password_guesses_check_one_password_per_request() {
    let app = spawn_with(|s| s.limits.login_failures_per_email = 100).await;
    let jane = app.register("jane@example.com").await;
    let guesses: String = (0..31)
        .map(|i| format!(r#"g{i}: updateProfile(input: {{ currentPassword: "guess-{i}", newPassword: "new-password-{i}", newPasswordConfirmation: "new-password-{i}" }}) {{ errors {{ code }} }} "#))
        .collect();
    let answer = graphql(&app, Some(&jane.token), &format!("mutation {{ {guesses} }}"), json!({})).await;
    let limited = answer.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["extensions"]["code"] == "RATE_LIMITED")
        .count();
    assert_eq!(limited, 30, "{}", answer.body);
    assert_eq!(
        event_window::Entity::find()
            .filter(event_window::Column::Kind.eq(accounts::windows::Window::LoginFailures.kind()))
            .count(&app.state.db)
            .await
            .unwrap(),
        1,
        "one password was checked"
    );
}

#[tokio::test]
async fn aliased_registrations_create_one_account() {
    let app = spawn().await;
    let aliases: String = (0..5)
        .map(|i| format!(r#"r{i}: register(input: {{ email: "r{i}@example.com", firstName: "R", lastName: "R", password: "{PASSWORD}", passwordConfirmation: "{PASSWORD}" }}) {{ token }} "#))
        .collect();
    graphql(&app, None, &format!("mutation {{ {aliases} }}"), json!({})).await;
    assert_eq!(customer_accounts::entity::customer::Entity::find().count(&app.state.db).await.unwrap(), 1);
}

#[tokio::test]
async fn wrong_current_passwords_lock_the_email_like_failed_logins() {
    let app = spawn_with(|s| s.limits.login_failures_per_email = 3).await;
    let jane = app.register("jane@example.com").await;
    let change = json!({ "input": { "email": "new@example.com", "currentPassword": "wrong-guess" } });
    for _ in 0..3 {
        let answer = graphql(&app, Some(&jane.token), UPDATE_PROFILE, change.clone()).await;
        assert_eq!(answer.body["data"]["updateProfile"]["errors"][0]["code"], "INVALID_CREDENTIALS");
    }
    let locked = graphql(&app, Some(&jane.token), UPDATE_PROFILE, change).await;
    assert_eq!(top_level_code(&locked.body), Some("RATE_LIMITED"), "{}", locked.body);
    let login = graphql(
        &app,
        None,
        crate::helpers::LOGIN,
        json!({ "email": "jane@example.com", "password": PASSWORD }),
    )
    .await;
    assert_eq!(top_level_code(&login.body), Some("RATE_LIMITED"), "the lock is the email's, whichever door");
}

#[tokio::test]
async fn wrong_current_passwords_count_against_the_per_ip_credential_limit() {
    let app = spawn_with(|s| s.limits.credentials_per_window = 2).await;
    let jane = app.register("jane@example.com").await; // the first credential operation
    let change = json!({ "input": { "email": "new@example.com", "currentPassword": "wrong-guess" } });
    assert_eq!(
        graphql(&app, Some(&jane.token), UPDATE_PROFILE, change.clone()).await.body["data"]["updateProfile"]
            ["errors"][0]["code"],
        "INVALID_CREDENTIALS"
    );
    let over = graphql(&app, Some(&jane.token), UPDATE_PROFILE, change).await;
    assert_eq!(top_level_code(&over.body), Some("RATE_LIMITED"));
    let rest = send(
        app.client
            .put(app.url("/api/customer/profile"))
            .bearer_auth(&jane.token)
            .json(&json!({ "current_password": "x", "email": "n@example.com" })),
    )
    .await;
    assert_eq!(rest.status, StatusCode::TOO_MANY_REQUESTS, "REST current_password shares the limit");
}

#[tokio::test]
async fn twenty_simultaneous_wrong_passwords_check_at_most_the_lockout_limit() {
    let app = spawn_with(|s| s.limits.login_failures_per_email = 5).await;
    app.register("jane@example.com").await;
    let attempts = (0..20).map(|i| {
        let variables = json!({ "email": "jane@example.com", "password": format!("wrong-{i}") });
        app.gql(crate::helpers::LOGIN, variables)
    });
    let answers = futures::future::join_all(attempts).await;
    let checked =
        answers.iter().filter(|a| a["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS").count();
    let locked = answers.iter().filter(|a| top_level_code(a) == Some("RATE_LIMITED")).count();
    assert_eq!((checked, locked), (5, 15));
}

// ---- Links mailed before a change of email or password die with it.

const RESET: &str = "mutation($t: String!) { resetPassword(token: $t, password: \"another-password-1\", passwordConfirmation: \"another-password-1\") { token errors { field code } } }";
const VERIFY: &str = "mutation($t: String!) { verifyEmail(token: $t) { errors { field code } } }";

#[tokio::test]
async fn a_reset_link_mailed_to_the_old_address_dies_with_an_email_change() {
    use customer_accounts::auth::one_time::Purpose;
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let reset = issue_link(&app, &jane.id, Purpose::PasswordReset).await;
    let change = json!({ "input": { "email": "jane.new@example.com", "currentPassword": PASSWORD } });
    assert_eq!(
        app.gql_as(Some(&jane.token), UPDATE_PROFILE, change).await["data"]["updateProfile"]["errors"],
        json!([])
    );
    let answer = graphql(&app, None, RESET, json!({ "t": reset })).await;
    assert_eq!(
        error_codes(&answer.body["data"]["resetPassword"]),
        vec![(json!(["token"]), "INVALID_TOKEN".to_owned())]
    );
}

#[tokio::test]
async fn reset_and_verification_links_die_with_a_password_change() {
    use customer_accounts::auth::one_time::Purpose;
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let reset = issue_link(&app, &jane.id, Purpose::PasswordReset).await;
    let verify = issue_link(&app, &jane.id, Purpose::EmailVerification).await;
    let change = json!({ "input": { "currentPassword": PASSWORD, "newPassword": "changed-password-1", "newPasswordConfirmation": "changed-password-1" } });
    assert_eq!(
        app.gql_as(Some(&jane.token), UPDATE_PROFILE, change).await["data"]["updateProfile"]["errors"],
        json!([])
    );
    let answer = graphql(&app, None, RESET, json!({ "t": reset })).await;
    assert_eq!(answer.body["data"]["resetPassword"]["errors"][0]["code"], "INVALID_TOKEN");
    let answer = graphql(&app, None, VERIFY, json!({ "t": verify })).await;
    assert_eq!(answer.body["data"]["verifyEmail"]["errors"][0]["code"], "INVALID_TOKEN");
}

#[tokio::test]
async fn a_successful_reset_voids_every_other_outstanding_link() {
    use customer_accounts::auth::one_time::Purpose;
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let verify = issue_link(&app, &jane.id, Purpose::EmailVerification).await;
    let reset = issue_link(&app, &jane.id, Purpose::PasswordReset).await;
    assert_eq!(
        graphql(&app, None, RESET, json!({ "t": reset })).await.body["data"]["resetPassword"]["errors"],
        json!([])
    );
    let answer = graphql(&app, None, VERIFY, json!({ "t": verify })).await;
    assert_eq!(answer.body["data"]["verifyEmail"]["errors"][0]["code"], "INVALID_TOKEN");
}

// ---- REQUIRE_EMAIL_VERIFICATION holds on every door, not only at login.

#[tokio::test]
async fn an_unverified_session_may_only_verify_resend_and_log_out() {
    let app = spawn_with(|s| s.auth.require_email_verification = true).await;
    let jane = app.register("jane@example.com").await;
    for query in [
        "{ me { id } }",
        &format!("{{ customer(id: {}) {{ id }} }}", jane.id),
        "mutation { refreshToken { token } }",
    ] {
        let answer = graphql(&app, Some(&jane.token), query, json!({})).await;
        assert_eq!(top_level_code(&answer.body), Some("EMAIL_NOT_VERIFIED"), "{query}: {}", answer.body);
    }
    let update =
        graphql(&app, Some(&jane.token), UPDATE_PROFILE, json!({ "input": { "firstName": "J" } })).await;
    assert_eq!(top_level_code(&update.body), Some("EMAIL_NOT_VERIFIED"));
    let rest = send(app.client.get(app.url("/api/customer/get")).bearer_auth(&jane.token)).await;
    assert_eq!(
        (rest.status, rest.body),
        (StatusCode::FORBIDDEN, json!({ "error": "Please verify your email address before logging in." }))
    );
    let resend = graphql(
        &app,
        Some(&jane.token),
        "mutation { resendVerificationEmail { errors { code } } }",
        json!({}),
    )
    .await;
    assert_eq!(resend.body["data"]["resendVerificationEmail"]["errors"], json!([]));
    let logout = graphql(&app, Some(&jane.token), "mutation { logout { success } }", json!({})).await;
    assert_eq!(logout.body["data"]["logout"]["success"], true);
}

#[tokio::test]
async fn the_webshop_token_of_an_unverified_customer_is_held_to_the_flag_too() {
    let app = spawn_with(|s| s.auth.require_email_verification = true).await;
    let body = json!({ "project_id": 1, "email": "shop@example.com", "password": PASSWORD });
    let created =
        send(app.client.post(app.url("/api/services/webshop/v1/customer/auth/register")).json(&body)).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let token = created.body["token"].as_str().unwrap();
    assert_eq!(
        send(app.client.get(app.url("/api/customer/get")).bearer_auth(token)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        top_level_code(&graphql(&app, Some(token), "{ me { id } }", json!({})).await.body),
        Some("EMAIL_NOT_VERIFIED")
    );
}

// ---- Input that PostgreSQL's column limits or NUL bytes once turned into a 500.

#[tokio::test]
async fn login_with_an_overlong_or_nul_email_is_a_field_error() {
    let app = spawn_with(|s| s.limits.login_failures_per_email = 5).await;
    for (email, code) in [
        (format!("{}@example.com", "a".repeat(300)), "TOO_LONG"),
        ("jane\u{0}@example.com".to_owned(), "INVALID"),
        (format!("{}@example.com", "İ".repeat(100)), "TOO_LONG"),
    ] {
        let answer =
            graphql(&app, None, crate::helpers::LOGIN, json!({ "email": email, "password": "whatever" }))
                .await;
        assert_eq!(
            error_codes(&answer.body["data"]["login"]),
            vec![(json!(["email"]), code.to_owned())],
            "{email:?}"
        );
        let rest = send(
            app.client
                .post(app.url("/api/customer/login"))
                .json(&json!({ "email": email, "password": "whatever" })),
        )
        .await;
        assert_eq!(rest.status, StatusCode::UNPROCESSABLE_ENTITY, "{email:?}");
    }
}

#[tokio::test]
async fn registration_refuses_what_the_database_or_the_mailer_could_not_take() {
    let app = spawn().await;
    let cases = [
        // 187 characters as typed, 207 once lower-cased: the key would overflow its column.
        (
            format!("{}@{}.{}.{}.com", "İ".repeat(20), "a".repeat(60), "b".repeat(60), "c".repeat(40)),
            "email",
            "TOO_LONG",
        ),
        ("jane\u{0}@example.com".to_owned(), "email", "INVALID"),
        ("Security Team <victim@example.com>".to_owned(), "email", "INVALID"),
        ("\"very.unusual\"@example.com".to_owned(), "email", "INVALID"),
        ("jane@[192.168.0.1]".to_owned(), "email", "INVALID"),
        ("jane@localhost".to_owned(), "email", "INVALID"),
        ("' OR 1=1 --@example.com".to_owned(), "email", "INVALID"),
    ];
    for (email, field, code) in cases {
        let input = json!({ "email": email, "firstName": "J", "lastName": "D", "password": PASSWORD, "passwordConfirmation": PASSWORD });
        let answer = graphql(&app, None, crate::helpers::REGISTER, json!({ "input": input })).await;
        assert_eq!(
            error_codes(&answer.body["data"]["register"]),
            vec![(json!([field]), code.to_owned())],
            "{email:?}"
        );
    }
}

#[tokio::test]
async fn every_text_field_refuses_nul_and_overlong_values() {
    let app = spawn().await;
    let long = "x".repeat(10_000);
    let cases = [
        ("firstName", "J\u{0}", "INVALID"),
        ("lastName", long.as_str(), "TOO_LONG"),
        ("phone", "+31\u{0}6", "INVALID"),
        ("gender", long.as_str(), "INVALID"),
        ("dateOfBirth", "0000-00-00", "INVALID"),
        ("password", long.as_str(), "TOO_LONG"),
    ];
    for (field, value, code) in cases {
        let mut input = json!({ "email": "j@example.com", "firstName": "J", "lastName": "D", "password": PASSWORD, "passwordConfirmation": PASSWORD });
        input[field] = json!(value);
        if field == "password" {
            input["passwordConfirmation"] = json!(value);
        }
        let answer =
            send(app.client.post(app.url("/api/v1/customer/register")).json(&rest_names(&input))).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", answer.body);
        if field != "gender" {
            let graphql = graphql(&app, None, crate::helpers::REGISTER, json!({ "input": input })).await;
            let codes = error_codes(&graphql.body["data"]["register"]);
            assert!(codes.iter().any(|(f, c)| f == &json!([field]) && c == code), "{field}: {codes:?}");
        }
    }
}

fn rest_names(input: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (key, value) in input.as_object().unwrap() {
        let key = match key.as_str() {
            "firstName" => "first_name",
            "lastName" => "last_name",
            "passwordConfirmation" => "password_confirmation",
            "dateOfBirth" => "date_of_birth",
            other => other,
        };
        out.insert(key.to_owned(), value.clone());
    }
    Value::Object(out)
}

#[tokio::test]
async fn odd_webshop_project_ids_and_bodies_are_clean_refusals() {
    let app = spawn().await;
    let path = "/api/services/webshop/v1/customer/auth/register";
    for project_id in [
        json!(99_999_999_999_i64),
        json!(-1),
        json!("1; DROP TABLE customers"),
        json!([1]),
        json!({ "id": 1 }),
    ] {
        let body = json!({ "project_id": project_id, "email": "w@example.com", "password": PASSWORD });
        let answer = send(app.client.post(app.url(path)).json(&body)).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{project_id}: {}", answer.body);
    }
    for body in ["[1, 2]", "\"text\"", "{\"email\": \"unterminated"] {
        assert_eq!(raw_post(&app, path, body.to_owned()).await.status, StatusCode::BAD_REQUEST, "{body}");
    }
    let invalid_utf8 = app
        .client
        .post(app.url(path))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0xff]);
    assert_eq!(send(invalid_utf8).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn nul_and_huge_tokens_and_ids_are_refused_not_failed() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    for token in [
        "abc\u{0}def".to_owned(),
        "x".repeat(20_000),
        format!("{}|secret", "not-a-uuid"),
        "00000000-0000-0000-0000-000000000000|\u{0}".to_owned(),
    ] {
        let answer =
            send(app.client.get(app.url("/api/customer/get")).query(&[("token", token.as_str())])).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{:?}", &token[..token.len().min(40)]);
        let reset = graphql(&app, None, RESET, json!({ "t": token })).await;
        assert_eq!(reset.body["data"]["resetPassword"]["errors"][0]["code"], "INVALID_TOKEN");
    }
    for id in ["99999999999999999999999", "-1", "1%00", "..%2F..%2Fetc%2Fpasswd"] {
        let answer =
            send(app.client.get(app.url(&format!("/api/customers/{id}"))).bearer_auth(&jane.token)).await;
        assert!(
            matches!(answer.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{id}: {}",
            answer.status
        );
    }
    let forgot = send(
        app.client
            .post(app.url("/api/customer/forgot-password"))
            .json(&json!({ "email": "a\u{0}@example.com" })),
    )
    .await;
    assert_eq!(forgot.status, StatusCode::UNPROCESSABLE_ENTITY);
}

// ---- Authorization: nobody reads another's account, and a revoked shop key stays revoked.

#[tokio::test]
async fn another_customers_id_is_forbidden_on_both_doors() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let john = app.register("john@example.com").await;
    let answer =
        graphql(&app, Some(&jane.token), &format!("{{ customer(id: {}) {{ email }} }}", john.id), json!({}))
            .await;
    assert_eq!(top_level_code(&answer.body), Some("FORBIDDEN"));
    let rest =
        send(app.client.get(app.url(&format!("/api/customers/{}", john.id))).bearer_auth(&jane.token)).await;
    assert_eq!(rest.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn revoking_the_last_project_key_does_not_reopen_the_webshop_path() {
    let app = spawn().await;
    let key = accounts::create_api_key(&app.state, 1, "storefront").await.unwrap();
    accounts::revoke_api_key(&app.state, key.record.id).await.unwrap();
    let body = json!({ "project_id": 1, "email": "w@example.com", "password": PASSWORD });
    let path = app.url("/api/services/webshop/v1/customer/auth/register");
    assert_eq!(send(app.client.post(&path).json(&body)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(app.client.post(&path).bearer_auth(&key.key).json(&body)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

// ---- Enumeration: answers and timing do not tell which emails have accounts.

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Interleaves `rounds` timings of `known` and `unknown` and returns the ratio of their medians.
/// The other tests load the same two cores meanwhile, so a series that lands outside 0.8-1.25 is
/// measured again, up to three times: a real difference shows in every series, noise does not.
async fn timing_ratio<F, Fut>(rounds: usize, mut call: F) -> f64
where
    F: FnMut(bool) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let mut ratio = f64::NAN;
    for _series in 0..3 {
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate which goes first, so neither always runs on a warmer cache.
            for is_known in if round % 2 == 0 { [true, false] } else { [false, true] } {
                let started = Instant::now();
                call(is_known).await;
                if is_known { known.push(started.elapsed()) } else { unknown.push(started.elapsed()) }
            }
        }
        ratio = median(unknown).as_secs_f64() / median(known).as_secs_f64();
        eprintln!("unknown/known median ratio: {ratio:.3}");
        if (0.8..=1.25).contains(&ratio) {
            break;
        }
    }
    ratio
}

#[tokio::test]
async fn failed_logins_take_the_same_time_for_known_and_unknown_emails() {
    let app = spawn_with(|s| s.limits.login_failures_per_email = 1_000).await;
    app.register("jane@example.com").await;
    let ratio = timing_ratio(15, |known| {
        let email = if known { "jane@example.com" } else { "nobody@example.com" };
        app.gql(crate::helpers::LOGIN, json!({ "email": email, "password": "wrong-password" }))
    })
    .await;
    assert!((0.8..=1.25).contains(&ratio), "unknown/known = {ratio:.2}");
}

#[tokio::test]
async fn forgot_password_takes_the_same_time_for_known_and_unknown_emails() {
    let app = spawn().await;
    app.register("jane@example.com").await;
    let query = "mutation($e: String!) { forgotPassword(email: $e) { message } }";
    let ratio = timing_ratio(41, |known| {
        let email = if known { "jane@example.com" } else { "nobody@example.com" };
        app.gql(query, json!({ "e": email }))
    })
    .await;
    assert!((0.8..=1.25).contains(&ratio), "unknown/known = {ratio:.2}");
}

// ---- Rate limits and HTTP hardening.

#[tokio::test]
async fn graphql_requests_are_limited_per_ip_with_retry_after() {
    let app = spawn_with(|s| s.limits.graphql_per_window = 3).await;
    for _ in 0..3 {
        assert_eq!(graphql(&app, None, "{ me { id } }", json!({})).await.status, StatusCode::OK);
    }
    let response =
        app.client.post(app.url("/graphql")).json(&json!({ "query": "{ me { id } }" })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    let body: Value = response.json().await.unwrap();
    assert_eq!(top_level_code(&body), Some("RATE_LIMITED"));
}

async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a 408 may come first
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn connections_that_send_half_a_request_nothing_or_idle_are_closed() {
    let app = spawn_with(|s| s.server.header_read_timeout_seconds = 1).await;
    let mut silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let mut half = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let mut idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut first = [0u8; 256];
    assert!(idle.read(&mut first).await.unwrap() > 0, "the first request is answered");
    let (silent, half, idle) = tokio::join!(
        closed_within(&mut silent, Duration::from_secs(3)),
        closed_within(&mut half, Duration::from_secs(3)),
        closed_within(&mut idle, Duration::from_secs(3)),
    );
    assert!(silent && half && idle, "silent {silent}, half {half}, idle {idle}");
}

#[tokio::test]
async fn answers_with_tokens_are_not_cached_and_none_are_sniffed() {
    let app = spawn().await;
    let register = app.client.post(app.url("/graphql")).json(&json!({ "query": crate::helpers::REGISTER, "variables": { "input": { "email": "c@example.com", "firstName": "C", "lastName": "C", "password": PASSWORD, "passwordConfirmation": PASSWORD } } }));
    let response = register.send().await.unwrap();
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    for path in ["/health", "/no-such-path", "/api/customer/get"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
    }
    let big = app
        .client
        .post(app.url("/graphql"))
        .header(header::CONTENT_TYPE, "application/json")
        .body("x".repeat(100_000));
    let response = big.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

#[tokio::test]
async fn the_cookie_guard_refuses_writes_from_pages_of_foreign_origins() {
    let app = spawn_with(|s| s.server.cors_allowed_origins = vec!["https://shop.example".into()]).await;
    app.register("jane@example.com").await;
    let login = |origin: Option<&'static str>| {
        let mut request = reqwest::Client::new()
            .post(app.url("/api/customer/login"))
            .form(&[("email", "jane@example.com"), ("password", PASSWORD)]);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        send(request)
    };
    assert_eq!(login(Some("https://evil.example")).await.status, StatusCode::FORBIDDEN, "login CSRF");
    assert_eq!(login(Some("null")).await.status, StatusCode::FORBIDDEN, "sandboxed pages");
    assert_eq!(login(Some("https://shop.example")).await.status, StatusCode::OK);
    assert_eq!(login(Some(crate::helpers::PUBLIC_URL)).await.status, StatusCode::OK);
    assert_eq!(login(None).await.status, StatusCode::OK, "server-side clients send no Origin");
    let profile = app
        .client
        .put(app.url("/api/customer/profile"))
        .header(header::ORIGIN, "https://evil.example")
        .json(&json!({ "first_name": "Mallory" }));
    assert_eq!(send(profile).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn odd_methods_paths_and_headers_get_4xx() {
    let app = spawn().await;
    assert_eq!(
        send(app.client.request(Method::DELETE, app.url("/graphql"))).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        send(app.client.request(Method::PATCH, app.url("/api/customer/login"))).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        send(app.client.get(app.url("/api/../graphql/../../etc/passwd"))).await.status,
        StatusCode::NOT_FOUND
    );
    let many = (0..200).fold(app.client.get(app.url("/health")), |r, i| r.header(format!("x-h{i}"), "v"));
    let answer = many.send().await.unwrap();
    assert!(answer.status().is_client_error() || answer.status().is_success(), "{}", answer.status());
    let bad_bearer =
        send(app.client.get(app.url("/api/customer/get")).header(header::AUTHORIZATION, "Bearer")).await;
    assert_eq!(bad_bearer.status, StatusCode::UNAUTHORIZED);
    still_answers(&app).await;
}
