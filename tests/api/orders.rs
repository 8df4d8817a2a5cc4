//! Guest orders: recorded by the shop's checkout with its key, linked to the account of the same
//! address in the background, shown only once the address is verified.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{PASSWORD, REGISTER, TestApp, spawn, top_level_code},
    shops::{gql_in_shop, second_shop},
};

const RECORD: &str = "mutation O($input: GuestOrderInput!) { recordGuestOrder(input: $input) { order { reference total currency placedAt } errors { field code message } } }";
const ORDERS: &str = "{ me { emailVerifiedAt orders { reference total currency placedAt } } }";

fn order(reference: &str, email: &str, placed_at: &str) -> Value {
    json!({ "reference": reference, "email": email, "total": "19.99", "currency": "EUR", "placedAt": placed_at })
}

async fn record(app: &TestApp, key: &str, input: Value) -> Value {
    gql_in_shop(app, Some(key), None, RECORD, json!({ "input": input })).await["data"]["recordGuestOrder"]
        .clone()
}

async fn record_rest(app: &TestApp, key: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut request =
        reqwest::Client::new().post(app.url("/api/services/webshop/v1/guest-orders")).json(&body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

/// Registers `email` in the shop of `key` and returns the access token.
async fn register_in(app: &TestApp, key: &str, email: &str) -> String {
    let input = json!({ "input": { "email": email, "firstName": "Jane", "lastName": "Doe",
        "password": PASSWORD, "passwordConfirmation": PASSWORD } });
    let answer = gql_in_shop(app, Some(key), None, REGISTER, input).await;
    answer["data"]["register"]["token"].as_str().unwrap_or_else(|| panic!("{answer}")).to_owned()
}

/// Verifies the caller's current address through `verifyEmail`, with a link issued as the mailer would.
async fn verify(app: &TestApp, key: &str, token: &str) {
    use customer_accounts::auth::one_time::{self, Purpose};
    let me = gql_in_shop(app, Some(key), Some(token), "{ me { id email } }", json!({})).await;
    let (id, email) = (me["data"]["me"]["id"].as_str().unwrap(), me["data"]["me"]["email"].as_str().unwrap());
    let link = one_time::issue(
        &app.state.db,
        id.parse().unwrap(),
        Purpose::EmailVerification,
        &email.to_lowercase(),
        std::time::Duration::from_secs(600),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let answer = app
        .gql("mutation V($t: String!) { verifyEmail(token: $t) { errors { code } } }", json!({ "t": link }))
        .await;
    assert_eq!(answer["data"]["verifyEmail"]["errors"], json!([]), "{answer}");
}

async fn orders_of(app: &TestApp, key: &str, token: &str) -> Vec<String> {
    let answer = gql_in_shop(app, Some(key), Some(token), ORDERS, json!({})).await;
    answer["data"]["me"]["orders"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|o| o["reference"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until the background runner has done every job.
async fn jobs_done(app: &TestApp) {
    use customer_accounts::{accounts::LinkGuestOrders, queue};
    for _ in 0..200 {
        let waiting = queue::counts(&app.state.db, Some(LinkGuestOrders::KIND)).await.unwrap().pending;
        if waiting == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("background jobs stayed pending");
}

#[tokio::test]
async fn past_guest_orders_join_the_new_account_in_the_background_and_show_once_the_address_is_verified() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    assert_eq!(
        record(&app, &key, order("A-1", "Jane@Example.com", "2026-10-01T10:00:00Z")).await["errors"],
        json!([])
    );
    let (status, _) = record_rest(
        &app,
        Some(&key),
        json!({ "reference": "A-2", "email": "jane@example.com",
        "total": "5", "currency": "eur", "placed_at": "2026-11-01T10:00:00+01:00" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    record(&app, &key, order("B-1", "bob@example.com", "2026-11-02T10:00:00Z")).await;

    let token = register_in(&app, &key, "jane@example.com").await;
    jobs_done(&app).await;
    assert_eq!(orders_of(&app, &key, &token).await, Vec::<String>::new(), "unverified: nothing shown");

    verify(&app, &key, &token).await;
    assert_eq!(orders_of(&app, &key, &token).await, ["A-2", "A-1"], "newest first, only this address's");
    let answer = gql_in_shop(&app, Some(&key), Some(&token), ORDERS, json!({})).await;
    assert_eq!(
        answer["data"]["me"]["orders"][0],
        json!({ "reference": "A-2", "total": "5", "currency": "EUR", "placedAt": "2026-11-01T09:00:00+00:00" })
    );

    // Placed as a guest after registering: linked at once.
    record(&app, &key, order("A-3", "JANE@example.com", "2026-11-20T10:00:00Z")).await;
    assert_eq!(orders_of(&app, &key, &token).await, ["A-3", "A-2", "A-1"]);
}

#[tokio::test]
async fn an_unproven_address_keeps_none_of_its_orders_when_the_account_moves_to_another() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    record(&app, &key, order("V-1", "victim@example.com", "2026-10-01T10:00:00Z")).await;
    // Someone registers a stranger's address, then moves the account to one they can prove.
    let token = register_in(&app, &key, "victim@example.com").await;
    jobs_done(&app).await;
    let change = json!({ "input": { "email": "mallory@example.com", "currentPassword": PASSWORD } });
    let answer = gql_in_shop(&app, Some(&key), Some(&token), crate::helpers::UPDATE_PROFILE, change).await;
    assert_eq!(answer["data"]["updateProfile"]["errors"], json!([]), "{answer}");
    verify(&app, &key, &token).await;
    jobs_done(&app).await;
    assert_eq!(
        orders_of(&app, &key, &token).await,
        Vec::<String>::new(),
        "the stranger's history stays hidden"
    );
}

#[tokio::test]
async fn recording_is_idempotent_on_reference_and_a_changed_reuse_is_a_conflict() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    let body = json!({ "reference": "R-1", "email": "ann@example.com", "total": "10.50", "currency": "EUR",
        "placed_at": "2026-11-01T10:00:00Z" });
    let first = record_rest(&app, Some(&key), body.clone()).await;
    let again = record_rest(&app, Some(&key), body.clone()).await;
    assert_eq!(first.0, StatusCode::CREATED);
    assert_eq!(first, again, "the same order twice is one order, answered alike");
    assert_eq!(
        first.1,
        json!({ "error": false, "message": "Guest order recorded.", "data": { "order": { "currency": "EUR",
            "email": "ann@example.com", "placed_at": "2026-11-01T10:00:00Z", "reference": "R-1", "total": "10.50" } } })
    );
    let mut changed = body;
    changed["total"] = json!("11.00");
    let (status, answer) = record_rest(&app, Some(&key), changed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["errors"]["reference"], json!(["The reference has already been taken."]));
    let graphql = record(
        &app,
        &key,
        json!({ "reference": "R-1", "email": "ann@example.com", "total": "99",
        "currency": "EUR", "placedAt": "2026-11-01T10:00:00Z" }),
    )
    .await;
    assert_eq!(graphql["errors"][0]["code"], "CONFLICT");
}

#[tokio::test]
async fn only_a_shop_with_its_valid_key_records_orders() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    let customer = app.register("jane@example.com").await;
    let input = order("K-1", "jane@example.com", "2026-11-01T10:00:00Z");
    let anonymous = app.gql(RECORD, json!({ "input": input })).await;
    assert_eq!(top_level_code(&anonymous), Some("API_KEY_REQUIRED"), "{anonymous}");
    let as_customer = app.gql_as(Some(&customer.token), RECORD, json!({ "input": input })).await;
    assert_eq!(top_level_code(&as_customer), Some("API_KEY_REQUIRED"), "a customer's token is no shop key");
    let body = json!({ "reference": "K-1", "email": "jane@example.com", "total": "1", "currency": "EUR",
        "placed_at": "2026-11-01T10:00:00Z" });
    for bearer in [None, Some(customer.token.as_str()), Some("7|forged")] {
        let (status, answer) = record_rest(&app, bearer, body.clone()).await;
        assert_eq!(
            (status, answer),
            (StatusCode::UNAUTHORIZED, json!({ "error": true, "message": "Unauthenticated." }))
        );
    }
    assert_eq!(record(&app, &key, input).await["errors"], json!([]));
}

#[tokio::test]
async fn every_field_of_a_guest_order_is_validated_and_named() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    let cases = [
        (json!({ "currency": "EURO" }), "currency", "INVALID"),
        (json!({ "currency": "" }), "currency", "REQUIRED"),
        (json!({ "total": "19.999" }), "total", "INVALID"),
        (json!({ "total": "-1" }), "total", "INVALID"),
        (json!({ "total": "1e5" }), "total", "INVALID"),
        (json!({ "total": "007" }), "total", "INVALID"),
        (json!({ "total": "12." }), "total", "INVALID"),
        (json!({ "total": "1500.5", "currency": "JPY" }), "total", "INVALID"),
        (json!({ "email": "not-an-email" }), "email", "INVALID"),
        (json!({ "reference": "" }), "reference", "REQUIRED"),
        (json!({ "reference": "r".repeat(192) }), "reference", "TOO_LONG"),
        (json!({ "placedAt": "2099-01-01T00:00:00Z" }), "placedAt", "INVALID"),
    ];
    for (change, field, code) in cases {
        let mut input = order("F-1", "ann@example.com", "2026-11-01T10:00:00Z");
        for (k, v) in change.as_object().unwrap() {
            input[k] = v.clone();
        }
        let answer = record(&app, &key, input.clone()).await;
        assert_eq!(answer["errors"][0]["field"], json!([field]), "{input}: {answer}");
        assert_eq!(answer["errors"][0]["code"], code, "{input}: {answer}");
    }
    let (status, answer) = record_rest(
        &app,
        Some(&key),
        json!({ "reference": "F-2", "email": "ann@example.com",
        "total": "1", "currency": "EUR", "placed_at": "yesterday" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["errors"]["placed_at"], json!(["The placed at format is invalid."]));
    assert_eq!(
        record(&app, &key, order("F-3", "ann@example.com", "2026-11-01T10:00:00Z")).await["errors"],
        json!([])
    );
}

#[tokio::test]
async fn a_deleted_account_lets_go_of_its_orders_and_the_export_lists_them_before() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    record(&app, &key, order("D-1", "jane@example.com", "2026-10-01T10:00:00Z")).await;
    let token = register_in(&app, &key, "jane@example.com").await;
    jobs_done(&app).await;
    let export = customer_accounts::accounts::export_customer(&app.state.db, 2, "jane@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(export.orders.len(), 1);
    assert_eq!(export.orders[0].reference, "D-1");

    let delete = "mutation { deleteAccount(currentPassword: \"correct-horse-battery\") { success } }";
    let answer = gql_in_shop(&app, Some(&key), Some(&token), delete, json!({})).await;
    assert_eq!(answer["data"]["deleteAccount"]["success"], true, "{answer}");
    use customer_accounts::entity::guest_order;
    use sea_orm::EntityTrait;
    let row = guest_order::Entity::find().one(&app.state.db).await.unwrap().unwrap();
    assert_eq!(row.customer_id, None, "the shop keeps its order; the account no longer has it");
}

#[tokio::test]
async fn every_currency_bounds_a_totals_digits_and_codes_that_are_not_money_are_refused() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    let long = format!("1.{}", "5".repeat(200));
    for (total, currency) in [(long.as_str(), "XAU"), (long.as_str(), "XDR"), ("1", "XXX"), ("1", "XTS")] {
        let reference = format!("B-{currency}");
        let body = json!({ "reference": reference, "email": "ann@example.com", "total": total,
            "currency": currency, "placed_at": "2026-11-01T10:00:00Z" });
        let (status, answer) = record_rest(&app, Some(&key), body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{currency}: {answer}");
        let input = json!({ "reference": reference, "email": "ann@example.com", "total": total,
            "currency": currency, "placedAt": "2026-11-01T10:00:00Z" });
        let payload = record(&app, &key, input).await;
        let field = if matches!(currency, "XXX" | "XTS") { "currency" } else { "total" };
        assert_eq!(
            payload["errors"],
            json!([{ "field": [field], "code": "INVALID",
            "message": format!("{} is not valid.", capitalized(field)) }]),
            "{currency}: {payload}"
        );
    }
    let ounces = json!({ "reference": "B-GOLD", "email": "ann@example.com", "total": "1.2500",
        "currency": "XAU", "placed_at": "2026-11-01T10:00:00Z" });
    let kept = record_rest(&app, Some(&key), ounces).await;
    assert_eq!(kept.0, StatusCode::CREATED, "a sane metal total is kept: {kept:?}");
}

#[tokio::test]
async fn a_retried_order_placed_at_a_nanosecond_instant_is_the_same_order() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    let body = json!({ "reference": "N-1", "email": "ann@example.com", "total": "3.00", "currency": "EUR",
        "placed_at": "2026-11-01T10:00:00.123456789Z" });
    let first = record_rest(&app, Some(&key), body.clone()).await;
    assert_eq!(first.0, StatusCode::CREATED, "{first:?}");
    let again = record_rest(&app, Some(&key), body).await;
    assert_eq!(again, first, "a retry is the idempotent replay, not a conflict");
}

#[tokio::test]
async fn an_order_placed_in_the_year_one_is_refused() {
    let app = spawn().await;
    let key = second_shop(&app).await;
    let payload = record(&app, &key, order("Y-1", "ann@example.com", "0001-01-01T00:00:00Z")).await;
    assert_eq!(payload["errors"][0]["field"], json!(["placedAt"]), "{payload}");
    assert_eq!(payload["errors"][0]["code"], "INVALID");
}

fn capitalized(field: &str) -> String {
    field[..1].to_uppercase() + &field[1..]
}
