//! The webshop register path, its Sanctum-style token, and project API keys.

use customer_accounts::{
    accounts,
    entity::{address, customer, project},
};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::helpers::spawn;

const PATH: &str = "/api/services/webshop/v1/customer/auth/register";

/// The document's example body.
fn example() -> Value {
    json!({
        "project_id": 1, "email": "jane@example.com", "password": "correct-horse-battery-staple",
        "firstname": "Jane", "lastname": "Doe", "phone": "+31612345678", "account_type": "private",
        "company": "Acme B.V.", "tax_number": "NL123456789B01", "cart_reminder_consent": true,
        "default_billing": { "firstname": "Jane", "lastname": "Doe", "street": "Keizersgracht", "number": "123",
            "postcode": "1015 CJ", "city": "Amsterdam", "country": "NL", "phone": "+31612345678" }
    })
}

#[tokio::test]
async fn the_documented_example_creates_the_account_and_answers_in_both_documented_shapes() {
    let app = spawn().await;
    let (status, answer) = app.webshop_register(&example(), Some("YOUR_API_TOKEN")).await;
    assert_eq!(status, StatusCode::CREATED);
    let token = answer["token"].as_str().unwrap().to_owned();
    let customer = json!({ "id": answer["customer"]["id"], "email": "jane@example.com", "firstname": "Jane",
        "lastname": "Doe", "email_verified_at": null });
    assert_eq!(
        answer,
        json!({
            "error": false,
            "message": "Account created. Check your email to verify your address.",
            "data": { "customer": customer, "token": token },
            "customer": customer,
            "token": token,
        })
    );
    let (id, secret) = token.split_once('|').unwrap();
    assert!(!id.is_empty() && secret.len() >= 40, "Sanctum form <id>|<secret>: {token}");

    // Every field is stored.
    let id = answer["customer"]["id"].as_i64().unwrap();
    let row = customer::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
    assert_eq!(
        (
            row.phone.as_deref(),
            row.account_type.as_deref(),
            row.company.as_deref(),
            row.tax_number.as_deref()
        ),
        (Some("+31612345678"), Some("private"), Some("Acme B.V."), Some("NL123456789B01"))
    );
    assert_eq!(row.cart_reminder_consent, Some(true));
    let billing = address::Entity::find().one(&app.state.db).await.unwrap().unwrap();
    assert_eq!(
        (billing.customer_id, billing.default_billing, billing.default_shipping),
        (id, true, false),
        "the document's default billing address lands in the address book as such"
    );
    assert_eq!(
        (
            billing.street.as_deref(),
            billing.number.as_deref(),
            billing.postcode.as_deref(),
            billing.country.as_deref()
        ),
        (Some("Keizersgracht"), Some("123"), Some("1015 CJ"), Some("NL"))
    );
}

#[tokio::test]
async fn the_sanctum_token_works_on_graphql_and_bagisto_paths_until_logout() {
    let app = spawn().await;
    let (_, answer) = app.webshop_register(&example(), None).await;
    let token = answer["token"].as_str().unwrap();
    assert_eq!(app.me(token).await["email"], "jane@example.com");
    let get = || reqwest::Client::new().get(app.url("/api/customer/get")).bearer_auth(token).send();
    assert_eq!(get().await.unwrap().status(), StatusCode::OK);
    let logout = app.gql_as(Some(token), "mutation { logout { success } }", json!({})).await;
    assert_eq!(logout["data"]["logout"]["success"], true);
    assert_eq!(app.me(token).await, Value::Null);
    assert_eq!(get().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let (id, _) = token.split_once('|').unwrap();
    assert_eq!(app.me(&format!("{id}|not-the-secret-not-the-secret-not-the-secret")).await, Value::Null);
}

#[tokio::test]
async fn validation_failures_are_422_with_error_true() {
    let app = spawn().await;
    app.webshop_register(&example(), None).await;
    let (status, answer) = app.webshop_register(&example(), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer,
        json!({ "error": true, "message": "The email has already been taken.",
            "errors": { "email": ["The email has already been taken."] } })
    );
    let mut bad = example();
    bad["email"] = json!("jane2@example.com");
    bad["account_type"] = json!("government");
    bad["default_billing"]["country"] = json!("XX");
    bad["company"] = json!("c".repeat(192));
    let (status, answer) = app.webshop_register(&bad, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["errors"]["account_type"], json!(["The selected account type is invalid."]));
    assert_eq!(answer["errors"]["company"], json!(["The company must not be greater than 191 characters."]));
    assert_eq!(answer["errors"]["default_billing.country"], json!(["The selected country is invalid."]));
}

#[tokio::test]
async fn names_are_optional_but_project_id_is_required_and_must_exist() {
    let app = spawn().await;
    let minimal = json!({ "project_id": 1, "email": "min@example.com", "password": "correct-horse" });
    assert_eq!(app.webshop_register(&minimal, None).await.0, StatusCode::CREATED);
    let (status, answer) =
        app.webshop_register(&json!({ "email": "x@example.com", "password": "correct-horse" }), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["errors"]["project_id"], json!(["The project id field is required."]));
    let (status, answer) = app
        .webshop_register(
            &json!({ "project_id": 99, "email": "x@example.com", "password": "correct-horse" }),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["errors"]["project_id"], json!(["The selected project id is invalid."]));
}

#[tokio::test]
async fn one_person_may_have_accounts_in_two_shops() {
    let app = spawn().await;
    project::ActiveModel {
        id: Set(2),
        name: Set("Second shop".into()),
        created_at: Set(chrono::Utc::now()),
        requires_api_key: Set(false),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    assert_eq!(app.webshop_register(&example(), None).await.0, StatusCode::CREATED);
    let mut second = example();
    second["project_id"] = json!(2);
    assert_eq!(app.webshop_register(&second, None).await.0, StatusCode::CREATED);
    assert_eq!(app.webshop_register(&second, None).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_project_with_api_keys_requires_one_of_them() {
    let app = spawn().await;
    // Without keys the call works without one (the default set-up).
    assert_eq!(
        app.webshop_register(
            &json!({ "project_id": 1, "email": "a@example.com", "password": "correct-horse" }),
            None
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let key = accounts::create_api_key(&app.state, 1, "storefront").await.unwrap();
    let body = json!({ "project_id": 1, "email": "b@example.com", "password": "correct-horse" });
    for presented in [None, Some("1|wrong-secret"), Some("garbage")] {
        let (status, answer) = app.webshop_register(&body, presented).await;
        assert_eq!(
            (status, answer),
            (StatusCode::UNAUTHORIZED, json!({ "error": true, "message": "Unauthenticated." }))
        );
    }
    assert_eq!(app.webshop_register(&body, Some(&key.key)).await.0, StatusCode::CREATED);
    accounts::revoke_api_key(&app.state, key.record.id).await.unwrap();
    let body = json!({ "project_id": 1, "email": "c@example.com", "password": "correct-horse" });
    assert_eq!(
        app.webshop_register(&body, Some(&key.key)).await.0,
        StatusCode::UNAUTHORIZED,
        "a revoked key"
    );
    assert_eq!(
        app.webshop_register(&body, None).await.0,
        StatusCode::UNAUTHORIZED,
        "revoking the last key reopens nothing"
    );

    // Only an operator reopens the project; a revoked key stays refused even then.
    assert!(accounts::require_api_key(&app.state, 1, false).await.unwrap());
    assert_eq!(
        app.webshop_register(&body, Some(&key.key)).await.0,
        StatusCode::UNAUTHORIZED,
        "still revoked"
    );
    assert_eq!(app.webshop_register(&body, None).await.0, StatusCode::CREATED, "reopened by the operator");
}

#[tokio::test]
async fn form_encoded_bodies_with_bracketed_billing_fields_work() {
    let app = spawn().await;
    let response = reqwest::Client::new()
        .post(app.url(PATH))
        .form(&[
            ("project_id", "1"),
            ("email", "form@example.com"),
            ("password", "correct-horse"),
            ("cart_reminder_consent", "1"),
            ("default_billing[city]", "Utrecht"),
            ("default_billing[country]", "nl"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let billing = address::Entity::find().one(&app.state.db).await.unwrap().unwrap();
    assert_eq!((billing.city.as_deref(), billing.country.as_deref()), (Some("Utrecht"), Some("NL")));
}

#[tokio::test]
async fn every_mistake_is_reported_at_once_the_project_and_consent_among_them() {
    let app = spawn().await;
    let body = json!({ "email": "not-an-email", "password": "short", "project_id": "abc", "cart_reminder_consent": "maybe" });
    let (status, answer) = app.webshop_register(&body, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut named: Vec<&str> = answer["errors"].as_object().unwrap().keys().map(String::as_str).collect();
    named.sort_unstable();
    assert_eq!(named, ["cart_reminder_consent", "email", "password", "project_id"], "{answer}");
    let (_, answer) =
        app.webshop_register(&json!({ "email": "not-an-email", "password": "correct-horse" }), None).await;
    assert_eq!(answer["errors"]["project_id"], json!(["The project id field is required."]));
    assert_eq!(answer["errors"]["email"], json!(["The email must be a valid email address."]));
}
