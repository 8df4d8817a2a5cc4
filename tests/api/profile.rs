use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, UPDATE_PROFILE, error_codes, spawn, top_level_code};

async fn update(app: &TestApp, token: &str, input: Value) -> Value {
    let answer = app.gql_as(Some(token), UPDATE_PROFILE, json!({ "input": input })).await;
    answer["data"]["updateProfile"].clone()
}

#[tokio::test]
async fn update_profile_changes_only_the_fields_given() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let payload = update(&app, &jane.token, json!({ "firstName": "Janet", "phone": "+3120" })).await;
    assert_eq!(payload["errors"], json!([]));
    let customer = &payload["customer"];
    assert_eq!((customer["firstName"].as_str(), customer["lastName"].as_str()), (Some("Janet"), Some("Doe")));
    assert_eq!(customer["phone"], "+3120");
    assert_eq!(customer["email"], "jane@example.com");

    let again = update(&app, &jane.token, json!({ "gender": "OTHER", "dateOfBirth": "1980-02-29" })).await;
    assert_eq!(again["customer"]["firstName"], "Janet");
    assert_eq!(again["customer"]["phone"], "+3120");
    assert_eq!(again["customer"]["gender"], "OTHER");
    assert_eq!(again["customer"]["dateOfBirth"], "1980-02-29");
}

#[tokio::test]
async fn null_clears_an_optional_field() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    update(&app, &jane.token, json!({ "phone": "+3120", "gender": "FEMALE" })).await;
    let payload = update(&app, &jane.token, json!({ "phone": null, "gender": null })).await;
    assert_eq!(payload["customer"]["phone"], Value::Null);
    assert_eq!(payload["customer"]["gender"], Value::Null);
}

#[tokio::test]
async fn update_profile_validates_each_given_field() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let payload = update(&app, &jane.token, json!({ "firstName": " ", "lastName": "x".repeat(192) })).await;
    assert_eq!(
        error_codes(&payload),
        vec![(json!(["firstName"]), "REQUIRED".to_owned()), (json!(["lastName"]), "TOO_LONG".to_owned())]
    );
    assert_eq!(app.me(&jane.token).await["email"], "jane@example.com");
}

#[tokio::test]
async fn update_profile_without_logging_in_is_unauthenticated() {
    let app = spawn().await;
    let answer = app.gql(UPDATE_PROFILE, json!({ "input": { "firstName": "Eve" } })).await;
    assert_eq!(top_level_code(&answer), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn changing_the_email_needs_the_correct_current_password() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let without = update(&app, &jane.token, json!({ "email": "new@example.com" })).await;
    assert_eq!(error_codes(&without), vec![(json!(["currentPassword"]), "REQUIRED".to_owned())]);
    let wrong =
        update(&app, &jane.token, json!({ "email": "new@example.com", "currentPassword": "nope-nope" }))
            .await;
    assert_eq!(error_codes(&wrong), vec![(json!(["currentPassword"]), "INVALID_CREDENTIALS".to_owned())]);
    assert_eq!(app.me(&jane.token).await["email"], "jane@example.com");

    let right =
        update(&app, &jane.token, json!({ "email": "new@example.com", "currentPassword": PASSWORD })).await;
    assert_eq!(right["errors"], json!([]));
    assert_eq!(right["customer"]["email"], "new@example.com");
    assert_eq!(app.login("new@example.com", PASSWORD).await["errors"], json!([]));
}

#[tokio::test]
async fn changing_the_email_to_one_already_registered_is_email_taken() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    app.register("john@example.com").await;
    let payload =
        update(&app, &jane.token, json!({ "email": "JOHN@example.com", "currentPassword": PASSWORD })).await;
    assert_eq!(error_codes(&payload), vec![(json!(["email"]), "EMAIL_TAKEN".to_owned())]);
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_and_keeps_this_one() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let other = app.login("jane@example.com", PASSWORD).await["token"].as_str().unwrap().to_owned();
    let payload = update(
        &app,
        &jane.token,
        json!({ "currentPassword": PASSWORD, "newPassword": "brand-new-secret", "newPasswordConfirmation": "brand-new-secret" }),
    )
    .await;
    assert_eq!(payload["errors"], json!([]));
    assert_eq!(app.me(&other).await, Value::Null, "other sessions end");
    assert_eq!(app.me(&jane.token).await["email"], "jane@example.com", "this session stays");
    assert_eq!(error_codes(&app.login("jane@example.com", PASSWORD).await)[0].1, "INVALID_CREDENTIALS");
    assert_eq!(app.login("jane@example.com", "brand-new-secret").await["errors"], json!([]));
}

#[tokio::test]
async fn a_new_password_must_be_confirmed_and_follow_the_rules() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let payload = update(
        &app,
        &jane.token,
        json!({ "currentPassword": PASSWORD, "newPassword": "short", "newPasswordConfirmation": "other" }),
    )
    .await;
    assert_eq!(
        error_codes(&payload),
        vec![
            (json!(["newPassword"]), "TOO_SHORT".to_owned()),
            (json!(["newPasswordConfirmation"]), "PASSWORD_MISMATCH".to_owned()),
        ]
    );
    assert_eq!(app.login("jane@example.com", PASSWORD).await["errors"], json!([]));
}
