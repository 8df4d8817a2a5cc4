//! The Bagisto customer paths, as its document describes them.

use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn, spawn_with};

const JOHN: &str = "john@example.com";
const JOHN_PASSWORD: &str = "lantern-harbour-1234";

async fn register_john(app: &TestApp) {
    let body = json!({ "email": JOHN, "first_name": "John", "last_name": "Doe",
        "password": JOHN_PASSWORD, "password_confirmation": JOHN_PASSWORD });
    let (status, answer) =
        app.rest(&app.client, reqwest::Method::POST, "/api/v1/customer/register", Some(body)).await;
    assert_eq!(
        (status, answer),
        (StatusCode::OK, json!({ "message": "Your account has been created successfully." }))
    );
}

/// The customer JSON the document shows, for John, with the timestamps the server chose.
fn john(answer: &Value) -> Value {
    let data = &answer["data"];
    json!({
        "id": data["id"], "email": JOHN, "first_name": "John", "last_name": "Doe", "name": "John Doe",
        "gender": null, "date_of_birth": null, "phone": null, "status": 1,
        "group": { "id": 2, "name": "General", "created_at": null, "updated_at": null },
        "created_at": data["created_at"], "updated_at": data["updated_at"],
    })
}

fn is_laravel_timestamp(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.6fZ").is_ok() && s.len() == 27
    })
}

#[tokio::test]
async fn register_answers_as_documented_on_both_paths() {
    let app = spawn().await;
    register_john(&app).await;
    let body = json!({ "email": "other@example.com", "first_name": "O", "last_name": "T",
        "password": "copper-kettle-meadow", "password_confirmation": "copper-kettle-meadow" });
    let (status, answer) =
        app.rest(&app.client, reqwest::Method::POST, "/api/customer/register", Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["message"], "Your account has been created successfully.");
}

#[tokio::test]
async fn registering_a_taken_email_gives_the_documented_422() {
    let app = spawn().await;
    register_john(&app).await;
    let body = json!({ "email": "JOHN@example.com", "first_name": "John", "last_name": "Doe",
        "password": JOHN_PASSWORD, "password_confirmation": JOHN_PASSWORD });
    let (status, answer) =
        app.rest(&app.client, reqwest::Method::POST, "/api/v1/customer/register", Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer,
        json!({ "message": "The email has already been taken.", "errors": { "email": ["The email has already been taken."] } })
    );
}

#[tokio::test]
async fn validation_messages_are_laravel_style_under_legacy_field_names() {
    let app = spawn().await;
    let body = json!({ "email": "not-an-email", "first_name": "", "last_name": "Doe",
        "password": "short", "password_confirmation": "other" });
    let (status, answer) =
        app.rest(&app.client, reqwest::Method::POST, "/api/v1/customer/register", Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer,
        json!({
            "message": "The email must be a valid email address.",
            "errors": {
                "email": ["The email must be a valid email address."],
                "first_name": ["The first name field is required."],
                "password": ["The password must be at least 8 characters.", "The password confirmation does not match."],
            }
        })
    );
}

#[tokio::test]
async fn a_shop_importing_legacy_accounts_may_lower_the_minimum_to_six() {
    // Such a shop takes its customers' old passwords as they are, guessable or not.
    let app = spawn_with(|s| {
        s.auth.password_min_length = 6;
        s.auth.password_min_score = 0;
    })
    .await;
    let body = json!({ "email": JOHN, "first_name": "John", "last_name": "Doe",
        "password": "john12", "password_confirmation": "john12" });
    let (status, _) =
        app.rest(&app.client, reqwest::Method::POST, "/api/v1/customer/register", Some(body)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_jwt_guard_works_through_register_login_get_profile_logout_and_refusal() {
    let app = spawn().await;
    register_john(&app).await;
    let client = Client::new(); // no cookie jar: the JWT alone authenticates
    let credentials = json!({ "email": JOHN, "password": JOHN_PASSWORD });
    let (status, login) =
        app.rest(&client, reqwest::Method::POST, "/api/customer/login?token=true", Some(credentials)).await;
    assert_eq!(status, StatusCode::OK);
    let token = login["token"].as_str().unwrap().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    assert_eq!(login["message"], "Logged in successfully.");
    assert_eq!(login["data"], john(&login));
    assert!(is_laravel_timestamp(&login["data"]["created_at"]), "{}", login["data"]["created_at"]);

    let authed = |method: reqwest::Method, path: &str| {
        client.request(method, app.url(path)).bearer_auth(&token).header(header::ACCEPT, "application/json")
    };
    let get: Value =
        authed(reqwest::Method::GET, "/api/customer/get").send().await.unwrap().json().await.unwrap();
    assert_eq!(get, json!({ "data": john(&login) }));
    // The token also works in the query string, with or without `token=true` elsewhere.
    let by_query = client.get(app.url(&format!("/api/customer/get?token={token}"))).send().await.unwrap();
    assert_eq!(by_query.status(), StatusCode::OK);

    let profile = authed(reqwest::Method::PUT, "/api/customer/profile")
        .json(&json!({ "first_name": "Johnny", "last_name": "Doe", "name": "Johnny Doe", "email": JOHN,
            "gender": "Male", "date_of_birth": "1990-04-01", "phone": "+3120" }))
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), StatusCode::OK);
    let profile: Value = profile.json().await.unwrap();
    assert_eq!(profile["message"], "Your account has been updated successfully.");
    assert_eq!(
        (&profile["data"]["name"], &profile["data"]["gender"], &profile["data"]["date_of_birth"]),
        (&json!("Johnny Doe"), &json!("Male"), &json!("1990-04-01"))
    );

    let logout = authed(reqwest::Method::GET, "/api/customer/logout").send().await.unwrap();
    assert_eq!(logout.json::<Value>().await.unwrap(), json!({ "message": "Logged out successfully!" }));
    let refused = authed(reqwest::Method::GET, "/api/customer/get").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json::<Value>().await.unwrap(), json!({ "error": "Unauthenticated" }));
}

#[tokio::test]
async fn the_cookie_guard_works_through_login_get_profile_logout_and_refusal() {
    let app = spawn().await;
    register_john(&app).await;
    // Form fields, as many legacy clients send them.
    let response = app
        .client
        .post(app.url("/api/customer/login"))
        .header(header::ACCEPT, "application/json")
        .form(&[("email", JOHN), ("password", JOHN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("customer_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"),
        "{cookie}"
    );
    let login: Value = response.json().await.unwrap();
    assert_eq!(login["token"], true);
    assert_eq!(login["data"], john(&login));

    let (status, get) = app.rest(&app.client, reqwest::Method::GET, "/api/customer/get", None).await;
    assert_eq!((status, get), (StatusCode::OK, json!({ "data": john(&login) })));
    let (status, _) = app
        .rest(
            &app.client,
            reqwest::Method::PUT,
            "/api/customer/profile",
            Some(json!({ "first_name": "Jon", "last_name": "Doe" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, logout) = app.rest(&app.client, reqwest::Method::POST, "/api/customer/logout", None).await;
    assert_eq!((status, logout), (StatusCode::OK, json!({ "message": "Logged out successfully!" })));
    // Even a client that kept the old cookie value is refused: the session is revoked.
    let stale = Client::new()
        .get(app.url("/api/customer/get"))
        .header(header::COOKIE, cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_public_url_is_https() {
    let app = spawn_with(|s| s.server.public_url = Some("https://shop.test".into())).await;
    register_john(&app).await;
    let response = app
        .client
        .post(app.url("/api/customer/login"))
        .json(&json!({ "email": JOHN, "password": JOHN_PASSWORD }));
    let response = response.send().await.unwrap();
    assert!(response.headers()[header::SET_COOKIE].to_str().unwrap().contains("Secure"));
}

#[tokio::test]
async fn wrong_credentials_and_missing_fields_answer_as_documented() {
    let app = spawn().await;
    register_john(&app).await;
    let wrong = json!({ "email": JOHN, "password": "wrong-password" });
    let (status, answer) =
        app.rest(&app.client, reqwest::Method::POST, "/api/customer/login?token=true", Some(wrong)).await;
    assert_eq!((status, answer), (StatusCode::UNAUTHORIZED, json!({ "error": "Invalid Email or Password" })));
    let unknown = json!({ "email": "nobody@example.com", "password": "wrong-password" });
    let (status, answer) =
        app.rest(&app.client, reqwest::Method::POST, "/api/customer/login", Some(unknown)).await;
    assert_eq!((status, answer), (StatusCode::UNAUTHORIZED, json!({ "error": "Invalid Email or Password" })));
    let (status, answer) =
        app.rest(&app.client, reqwest::Method::POST, "/api/customer/login", Some(json!({}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["errors"]["email"], json!(["The email field is required."]));
    assert_eq!(answer["errors"]["password"], json!(["The password field is required."]));
}

#[tokio::test]
async fn customers_by_id_shows_only_ones_own_record() {
    let app = spawn().await;
    register_john(&app).await;
    let other = json!({ "email": "jane@example.com", "first_name": "Jane", "last_name": "Doe",
        "password": "violet-granite-sky", "password_confirmation": "violet-granite-sky" });
    app.rest(&app.client, reqwest::Method::POST, "/api/v1/customer/register", Some(other)).await;
    let (_, login) = app
        .rest(
            &app.client,
            reqwest::Method::POST,
            "/api/customer/login?token=true",
            Some(json!({ "email": JOHN, "password": JOHN_PASSWORD })),
        )
        .await;
    let token = login["token"].as_str().unwrap();
    let own_id = login["data"]["id"].as_i64().unwrap();
    let get = |path: String| Client::new().get(app.url(&path)).bearer_auth(token).send();
    let own = get(format!("/api/customers/{own_id}")).await.unwrap();
    assert_eq!(own.json::<Value>().await.unwrap(), json!({ "data": john(&login) }));
    for other_id in [own_id + 1, 999_999] {
        let response = get(format!("/api/customers/{other_id}")).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(response.json::<Value>().await.unwrap(), json!({ "message": "Invalid Request." }));
    }
    assert_eq!(get("/api/customers/abc".to_owned()).await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn changing_email_or_password_over_rest_needs_the_current_password() {
    let app = spawn().await;
    register_john(&app).await;
    app.rest(
        &app.client,
        reqwest::Method::POST,
        "/api/customer/login",
        Some(json!({ "email": JOHN, "password": JOHN_PASSWORD })),
    )
    .await;
    let change = json!({ "password": "brand-new-pass", "password_confirmation": "brand-new-pass" });
    let (status, answer) =
        app.rest(&app.client, reqwest::Method::PUT, "/api/customer/profile", Some(change)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["errors"]["current_password"], json!(["The current password field is required."]));
    let change = json!({ "password": "brand-new-pass", "password_confirmation": "brand-new-pass", "current_password": JOHN_PASSWORD });
    let (status, _) =
        app.rest(&app.client, reqwest::Method::PUT, "/api/customer/profile", Some(change)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.login(JOHN, "brand-new-pass").await["errors"], json!([]));
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_unknown_emails_by_default() {
    let app = spawn().await;
    register_john(&app).await;
    let expected = json!({ "message": "We have e-mailed your password reset link!" });
    let (status, known) = app
        .rest(
            &app.client,
            reqwest::Method::POST,
            "/api/customer/forgot-password",
            Some(json!({ "email": JOHN })),
        )
        .await;
    assert_eq!((status, known), (StatusCode::OK, expected.clone()));
    // The document's examples use GET with a query string.
    let (status, unknown) = app
        .rest(
            &app.client,
            reqwest::Method::GET,
            "/api/customer/forgot-password?email=peter@example.com",
            None,
        )
        .await;
    assert_eq!((status, unknown), (StatusCode::OK, expected));
}

#[tokio::test]
async fn legacy_reveal_unknown_email_restores_the_documented_error() {
    let app = spawn_with(|s| s.legacy.reveal_unknown_email = true).await;
    let (status, answer) = app
        .rest(
            &app.client,
            reqwest::Method::GET,
            "/api/customer/forgot-password?email=peter@example.com",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer, json!({ "error": "We can't find a user with that e-mail address." }));
}

#[tokio::test]
async fn a_malformed_body_is_a_400_with_a_clear_message_never_a_500() {
    let app = spawn().await;
    for body in ["{\"email\": ", "[1, 2]", "\u{0}"] {
        let response = app
            .client
            .post(app.url("/api/v1/customer/register"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body:?}");
        let answer: Value = response.json().await.unwrap();
        assert!(answer["message"].as_str().unwrap().starts_with("The request body"), "{answer}");
    }
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let app = spawn().await;
    let body = json!({ "email": JOHN, "first_name": "John", "last_name": "Doe", "password": JOHN_PASSWORD,
        "password_confirmation": JOHN_PASSWORD, "newsletter": true, "channel": "default" });
    let (status, _) =
        app.rest(&app.client, reqwest::Method::POST, "/api/v1/customer/register", Some(body)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_openapi_3_document_describes_every_legacy_path() {
    let app = spawn().await;
    let document: Value =
        app.client.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/customer/register", "post"),
        ("/api/customer/register", "post"),
        ("/api/customer/login", "post"),
        ("/api/customer/get", "get"),
        ("/api/customers/{id}", "get"),
        ("/api/customer/profile", "put"),
        ("/api/customer/logout", "get"),
        ("/api/customer/logout", "post"),
        ("/api/customer/forgot-password", "post"),
        ("/api/customer/forgot-password", "get"),
        ("/api/services/webshop/v1/customer/auth/register", "post"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} is missing");
    }
    let customer = &document["components"]["schemas"]["BagistoCustomer"]["properties"];
    assert!(customer["first_name"].is_object() && customer["group"].is_object(), "{customer}");
}
