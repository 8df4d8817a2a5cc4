use serde_json::{Value, json};

use crate::helpers::{PASSWORD, error_codes, spawn};

#[tokio::test]
async fn login_returns_a_jwt_its_expiry_and_the_customer() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let payload = app.login("jane@example.com", PASSWORD).await;
    assert_eq!(payload["errors"], json!([]));
    assert_eq!(payload["customer"]["id"], jane.id.as_str());
    let token = payload["token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "a compact JWT");
    let expires_at = chrono::DateTime::parse_from_rfc3339(payload["expiresAt"].as_str().unwrap()).unwrap();
    let lifetime = expires_at.signed_duration_since(chrono::Utc::now()).num_seconds();
    assert!((3590..=3600).contains(&lifetime), "default JWT_TTL_SECONDS is 3600, got {lifetime}");
    assert_eq!(app.me(token).await["id"], jane.id.as_str());
}

#[tokio::test]
async fn login_with_wrong_password_is_rejected_without_revealing_which_field() {
    let app = spawn().await;
    app.register("jane@example.com").await;
    let wrong_password = app.login("jane@example.com", "not-the-password").await;
    let unknown_email = app.login("nobody@example.com", PASSWORD).await;
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password["token"], Value::Null);
    assert_eq!(error_codes(&wrong_password), vec![(Value::Null, "INVALID_CREDENTIALS".to_owned())]);
}

#[tokio::test]
async fn login_ignores_letter_case_and_surrounding_spaces_in_the_email() {
    let app = spawn().await;
    app.register("Jane@Example.com").await;
    let payload = app.login("  jane@EXAMPLE.com ", PASSWORD).await;
    assert_eq!(payload["errors"], json!([]));
    assert_eq!(payload["customer"]["email"], "Jane@Example.com");
}

#[tokio::test]
async fn login_with_blank_fields_names_each_missing_field() {
    let app = spawn().await;
    let payload = app.login(" ", "").await;
    assert_eq!(
        error_codes(&payload),
        vec![(json!(["email"]), "REQUIRED".to_owned()), (json!(["password"]), "REQUIRED".to_owned())]
    );
}

#[tokio::test]
async fn each_login_is_its_own_session_and_logging_out_one_keeps_the_other() {
    let app = spawn().await;
    app.register("jane@example.com").await;
    let phone = app.login("jane@example.com", PASSWORD).await["token"].as_str().unwrap().to_owned();
    let laptop = app.login("jane@example.com", PASSWORD).await["token"].as_str().unwrap().to_owned();
    let answer = app.gql_as(Some(&phone), "mutation { logout { success } }", json!({})).await;
    assert_eq!(answer["data"]["logout"]["success"], true);
    assert_eq!(app.me(&phone).await, Value::Null);
    assert_eq!(app.me(&laptop).await["email"], "jane@example.com");
}
