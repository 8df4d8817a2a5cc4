use customer_accounts::entity::customer;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, REGISTER, TestApp, error_codes, spawn, spawn_with};

fn input(email: &str) -> Value {
    json!({
        "email": email, "firstName": "Jane", "lastName": "Doe",
        "password": PASSWORD, "passwordConfirmation": PASSWORD,
    })
}

async fn register(app: &TestApp, input: Value) -> Value {
    let answer = app.gql(REGISTER, json!({ "input": input })).await;
    answer["data"]["register"].clone()
}

async fn customer_count(app: &TestApp) -> u64 {
    customer::Entity::find().count(&app.state.db).await.unwrap()
}

#[tokio::test]
async fn register_logs_the_customer_in_at_once_in_the_general_group_unverified() {
    let app = spawn().await;
    let mut input = input("jane@example.com");
    input["phone"] = json!("+31612345678");
    input["gender"] = json!("FEMALE");
    input["dateOfBirth"] = json!("1990-04-01");
    let payload = register(&app, input).await;

    assert_eq!(payload["errors"], json!([]));
    let customer = &payload["customer"];
    assert_eq!(customer["email"], "jane@example.com");
    assert_eq!(customer["name"], "Jane Doe");
    assert_eq!(customer["gender"], "FEMALE");
    assert_eq!(customer["dateOfBirth"], "1990-04-01");
    assert_eq!(customer["phone"], "+31612345678");
    assert_eq!(customer["status"], "ACTIVE");
    assert_eq!(customer["emailVerifiedAt"], Value::Null);
    assert_eq!(customer["group"]["code"], "general");
    let token = payload["token"].as_str().unwrap();
    assert_eq!(app.me(token).await["email"], "jane@example.com");
}

#[tokio::test]
async fn register_stores_an_argon2id_hash_never_the_password() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let row = customer::Entity::find_by_id(jane.id.parse::<i64>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(!row.password_hash.contains(PASSWORD));
}

#[tokio::test]
async fn register_reports_every_invalid_field_at_once_and_writes_nothing() {
    let app = spawn().await;
    let payload = register(
        &app,
        json!({
            "email": "not-an-email", "firstName": "  ", "lastName": "",
            "password": "short", "passwordConfirmation": "different",
        }),
    )
    .await;
    assert_eq!(payload["customer"], Value::Null);
    assert_eq!(payload["token"], Value::Null);
    assert_eq!(
        error_codes(&payload),
        vec![
            (json!(["email"]), "INVALID".to_owned()),
            (json!(["firstName"]), "REQUIRED".to_owned()),
            (json!(["lastName"]), "REQUIRED".to_owned()),
            (json!(["password"]), "TOO_SHORT".to_owned()),
            (json!(["passwordConfirmation"]), "PASSWORD_MISMATCH".to_owned()),
        ]
    );
    assert_eq!(payload["errors"][3]["message"], "Password must be at least 8 characters.");
    assert_eq!(customer_count(&app).await, 0);
}

#[tokio::test]
async fn password_length_is_counted_in_characters_not_bytes() {
    // Eight repeated letters are guessable; the length rule is what is tested here.
    let app = spawn_with(|s| s.auth.password_min_score = 0).await;
    let mut seven = input("seven@example.com");
    seven["password"] = json!("ééééééé");
    seven["passwordConfirmation"] = json!("ééééééé");
    assert_eq!(
        error_codes(&register(&app, seven).await),
        vec![(json!(["password"]), "TOO_SHORT".to_owned())]
    );

    let mut eight = input("eight@example.com");
    eight["password"] = json!("éééééééé");
    eight["passwordConfirmation"] = json!("éééééééé");
    assert_eq!(register(&app, eight).await["errors"], json!([]));
}

#[tokio::test]
async fn passwords_over_128_characters_are_refused() {
    let app = spawn().await;
    let long = "p".repeat(129);
    let mut input = input("long@example.com");
    input["password"] = json!(long);
    input["passwordConfirmation"] = json!(long);
    assert_eq!(error_codes(&register(&app, input).await), vec![(json!(["password"]), "TOO_LONG".to_owned())]);
}

#[tokio::test]
async fn fields_over_191_characters_are_refused_naming_each_field() {
    let app = spawn().await;
    let mut input = input(&format!("{}@example.com", "a".repeat(180)));
    input["firstName"] = json!("f".repeat(192));
    input["lastName"] = json!("l".repeat(191));
    input["phone"] = json!("1".repeat(192));
    let payload = register(&app, input).await;
    assert_eq!(
        error_codes(&payload),
        vec![
            (json!(["email"]), "TOO_LONG".to_owned()),
            (json!(["firstName"]), "TOO_LONG".to_owned()),
            (json!(["phone"]), "TOO_LONG".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_date_of_birth_today_or_later_is_refused() {
    let app = spawn().await;
    let mut input = input("future@example.com");
    input["dateOfBirth"] = json!(chrono::Utc::now().date_naive().to_string());
    assert_eq!(
        error_codes(&register(&app, input).await),
        vec![(json!(["dateOfBirth"]), "INVALID".to_owned())]
    );
}

#[tokio::test]
async fn a_malformed_date_of_birth_is_refused_naming_the_field() {
    let app = spawn().await;
    let mut input = input("date@example.com");
    input["dateOfBirth"] = json!("01/04/1990");
    let payload = register(&app, input).await;
    assert_eq!(error_codes(&payload), vec![(json!(["dateOfBirth"]), "INVALID".to_owned())]);
    assert_eq!(payload["errors"][0]["message"], "Date of birth is not valid.");
    assert_eq!(customer_count(&app).await, 0);
}

#[tokio::test]
async fn an_email_differing_only_in_case_or_spaces_is_taken() {
    let app = spawn().await;
    app.register("jane@example.com").await;
    let payload = register(&app, input("  Jane@Example.COM ")).await;
    assert_eq!(error_codes(&payload), vec![(json!(["email"]), "EMAIL_TAKEN".to_owned())]);
    assert_eq!(customer_count(&app).await, 1);
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_let_exactly_one_win() {
    let app = spawn().await;
    let attempts = (0..6).map(|i| {
        let email = if i % 2 == 0 { "race@example.com" } else { "RACE@example.com" };
        register(&app, input(email))
    });
    let payloads = futures::future::join_all(attempts).await;
    let winners = payloads.iter().filter(|p| p["errors"] == json!([])).count();
    let taken = payloads
        .iter()
        .filter(|p| error_codes(p) == vec![(json!(["email"]), "EMAIL_TAKEN".to_owned())])
        .count();
    assert_eq!((winners, taken), (1, 5), "{payloads:?}");
    assert_eq!(customer_count(&app).await, 1);
}

#[tokio::test]
async fn concurrent_registrations_of_different_emails_all_succeed() {
    let app = spawn().await;
    let attempts = (0..12).map(|i| register(&app, input(&format!("parallel{i}@example.com"))));
    let payloads = futures::future::join_all(attempts).await;
    assert!(payloads.iter().all(|p| p["errors"] == json!([]) && p["token"].is_string()), "{payloads:?}");
    assert_eq!(customer_count(&app).await, 12);
}

#[tokio::test]
async fn the_minimum_password_length_follows_password_min_length() {
    let app = spawn_with(|s| s.auth.password_min_length = 12).await;
    let mut input = input("min@example.com");
    input["password"] = json!("elevenchars");
    input["passwordConfirmation"] = json!("elevenchars");
    let payload = register(&app, input).await;
    assert_eq!(payload["errors"][0]["message"], "Password must be at least 12 characters.");
}

#[tokio::test]
async fn bidi_controls_and_invisible_characters_in_names_and_addresses_are_refused() {
    let app = spawn().await;
    let input = json!({ "email": "jane@example.com", "firstName": "Ja\u{200B}ne", "lastName": "\u{202E}eoD",
        "password": PASSWORD, "passwordConfirmation": PASSWORD });
    let payload = register(&app, input).await;
    let fields: Vec<Value> =
        payload["errors"].as_array().unwrap().iter().map(|e| e["field"].clone()).collect();
    assert_eq!(fields, vec![json!(["firstName"]), json!(["lastName"])], "{payload}");
    assert_eq!(payload["errors"][0]["code"], "INVALID");

    let jane = app.register("jane@example.com").await;
    let address = json!({ "firstName": "Jane", "lastName": "Doe", "street": "Damrak\u{2067} 1", "postcode": "1012 LG",
        "city": "Amster\u{FEFF}dam", "country": "NL" });
    let create =
        "mutation C($i: AddressInput!) { createAddress(input: $i) { address { id } errors { field code } } }";
    let answer = app.gql_as(Some(&jane.token), create, json!({ "i": address })).await;
    assert_eq!(
        answer["data"]["createAddress"]["errors"],
        json!([{ "field": ["street"], "code": "INVALID" }, { "field": ["city"], "code": "INVALID" }]),
        "{answer}"
    );
}
