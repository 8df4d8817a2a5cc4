//! Webhooks: every account event, signed as the Standard Webhooks specification asks (checked by
//! its official library), delivered at least once through crashes and dead receivers, never
//! across shops, never to a private address from production.

mod receiver;
mod verifier;

use std::time::{Duration, Instant};

use customer_accounts::{accounts, config::Settings, entity::webhook_event};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::{
    helpers::{
        PASSWORD, Replica, TestApp, TestDb, UPDATE_PROFILE, issue_link, spawn_beside, spawn_with,
        test_settings,
    },
    shops::{gql_in_shop, second_shop},
};
use receiver::{Answer, Received, Receiver};
use verifier::{Case, Verifier};

/// A delivery may take this long in these tests before it counts as a timeout.
const TIMEOUT_SECONDS: u64 = 2;

fn hooked(settings: &mut Settings) {
    settings.webhooks.timeout_seconds = TIMEOUT_SECONDS;
}

async fn spawn_hooked() -> TestApp {
    spawn_with(hooked).await
}

/// Creates an endpoint of `project` at `url` through the command line; its id and secret.
async fn endpoint_in(app: &TestApp, project: i32, url: &str, events: &[&str]) -> (i32, String) {
    let project = project.to_string();
    let mut args = vec!["webhook", "create", "--project", &project, "--url", url];
    let events = events.join(",");
    if !events.is_empty() {
        args.extend(["--events", &events]);
    }
    let output = app.cli(&args).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let (id, secret) = stdout.trim().split_once(' ').unwrap();
    assert!(secret.starts_with("whsec_"), "{stdout}");
    (id.parse().unwrap(), secret.to_owned())
}

async fn endpoint(app: &TestApp, url: &str) -> (i32, String) {
    endpoint_in(app, 1, url, &[]).await
}

/// Runs the command line and returns its stdout, asserting it succeeded.
async fn cli_ok(app: &TestApp, args: &[&str]) -> String {
    let output = app.cli(args).await;
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn types(received: &[Received]) -> Vec<String> {
    received.iter().map(Received::kind).collect()
}

async fn update_profile(app: &TestApp, token: &str, input: Value) -> Value {
    let answer = app.gql_as(Some(token), UPDATE_PROFILE, json!({ "input": input })).await;
    answer["data"]["updateProfile"].clone()
}

/// The events stored for `customer_id`, oldest first.
async fn stored_events(app: &TestApp, customer_id: &str) -> Vec<webhook_event::Model> {
    webhook_event::Entity::find()
        .filter(webhook_event::Column::CustomerId.eq(customer_id.parse::<i64>().unwrap()))
        .order_by_asc(webhook_event::Column::Sequence)
        .all(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_delivery_verifies_with_the_official_library_and_a_tampered_one_does_not() {
    let test = "every_delivery_verifies_with_the_official_library_and_a_tampered_one_does_not";
    let Some(verifier) = Verifier::get(test).await else { return };
    let app = spawn_hooked().await;
    let receiver = Receiver::start().await;
    let (id, secret) = endpoint(&app, &receiver.url()).await;
    let jane = app.register("jane@example.com").await;
    let delivered = receiver.wait_for(1).await;
    let first = &delivered[0];

    let tampered = Case {
        body: first.body.replace("jane@example.com", "mallory@example.com"),
        ..Case::of(first, &secret)
    };
    let other_secret = Case::of(first, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    // Signed right (by the spec's own scheme, whose test vector the service's unit test checks),
    // but ten minutes old: outside the verifier's tolerance.
    let old = chrono::Utc::now().timestamp() - 600;
    let stale = Case {
        timestamp: old.to_string(),
        signature: customer_accounts::webhooks::signature(&[&secret], &first.id, old, first.body.as_bytes()),
        ..Case::of(first, &secret)
    };
    let verdicts = verifier.verify(&[Case::of(first, &secret), tampered, other_secret, stale]).await;
    let payload = verdicts[0].clone().unwrap_or_else(|e| panic!("the real delivery did not verify: {e}"));
    assert_eq!(payload["type"], "customer.created");
    assert_eq!(payload["customerId"], jane.id);
    assert!(verdicts[1].is_err(), "a tampered body verified");
    assert!(verdicts[2].is_err(), "another secret verified");
    assert!(verdicts[3].is_err(), "a timestamp ten minutes old verified");

    // A rotation: for a day both secrets sign, so a receiver still on the old one keeps working.
    let new_secret = cli_ok(&app, &["webhook", "rotate-secret", &id.to_string()]).await.trim().to_owned();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    update_profile(&app, &jane.token, json!({ "firstName": "Janet" })).await;
    let after = receiver.wait_for(2).await;
    let rotated = &after[1];
    assert_eq!(rotated.signature.split(' ').count(), 2, "{}", rotated.signature);
    let verdicts = verifier.verify(&[Case::of(rotated, &secret), Case::of(rotated, &new_secret)]).await;
    assert!(verdicts.iter().all(Result::is_ok), "{verdicts:?}");
}

#[tokio::test]
async fn each_write_produces_exactly_its_documented_event_on_either_door() {
    let app = spawn_hooked().await;
    let receiver = Receiver::start().await;
    endpoint(&app, &receiver.url()).await;

    let jane = app.register("jane@example.com").await;
    let mut expected = vec!["customer.created"];
    let update =
        update_profile(&app, &jane.token, json!({ "firstName": "Janet", "phone": "+31201234567" })).await;
    assert_eq!(update["errors"], json!([]), "{update}");
    expected.push("customer.updated");
    let link =
        issue_link(&app, &jane.id, customer_accounts::auth::one_time::Purpose::EmailVerification).await;
    let verify = "mutation V($t: String!) { verifyEmail(token: $t) { errors { code } } }";
    assert_eq!(app.gql(verify, json!({ "t": link })).await["data"]["verifyEmail"]["errors"], json!([]));
    expected.push("customer.email_verified");
    let moved = update_profile(
        &app,
        &jane.token,
        json!({ "email": "janet@example.com", "currentPassword": PASSWORD }),
    )
    .await;
    assert_eq!(moved["errors"], json!([]), "{moved}");
    expected.extend(["customer.email_changed", "customer.updated"]);
    cli_ok(&app, &["customer", "suspend", "janet@example.com"]).await;
    expected.push("customer.suspended");
    cli_ok(&app, &["customer", "reactivate", "janet@example.com"]).await;
    expected.push("customer.reactivated");
    let token = app.login("janet@example.com", PASSWORD).await["token"].as_str().unwrap().to_owned();
    let address = json!({ "firstName": "Janet", "lastName": "Doe", "street": "Damrak", "number": "1",
        "postcode": "1012 LG", "city": "Amsterdam", "country": "NL" });
    let create = "mutation C($input: AddressInput!) { createAddress(input: $input) { address { id } errors { code } } }";
    let created = app.gql_as(Some(&token), create, json!({ "input": address })).await;
    let address_id = created["data"]["createAddress"]["address"]["id"].as_str().unwrap().to_owned();
    expected.push("address.created");
    let change = "mutation U($id: ID!, $input: AddressInput!) { updateAddress(id: $id, input: $input) { errors { code } } }";
    let mut moved_address = address.clone();
    moved_address["city"] = json!("Utrecht");
    app.gql_as(Some(&token), change, json!({ "id": address_id, "input": moved_address })).await;
    expected.push("address.updated");
    let delete = "mutation D($id: ID!) { deleteAddress(id: $id) { success } }";
    app.gql_as(Some(&token), delete, json!({ "id": address_id })).await;
    expected.push("address.deleted");
    let key = accounts::create_api_key(&app.state, 1, "checkout").await.unwrap().key;
    let record =
        "mutation O($input: GuestOrderInput!) { recordGuestOrder(input: $input) { errors { code } } }";
    let order = json!({ "input": { "reference": "ORD-1", "email": "janet@example.com", "total": "19.99",
        "currency": "EUR", "placedAt": "2026-01-02T03:04:05Z" } });
    let recorded = gql_in_shop(&app, Some(&key), None, record, order).await;
    assert_eq!(recorded["data"]["recordGuestOrder"]["errors"], json!([]), "{recorded}");
    expected.push("guest_order.linked");
    let delete_account = "mutation D($p: String!) { deleteAccount(currentPassword: $p) { success } }";
    app.gql_as(Some(&token), delete_account, json!({ "p": PASSWORD })).await;
    expected.push("customer.deleted");

    receiver.wait_for(expected.len()).await;
    // Nothing more arrives than was declared.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = receiver.received().into_iter().take(expected.len() + 1).collect::<Vec<_>>();
    assert_eq!(types(&received), expected);

    let events: Vec<Value> = received.iter().map(Received::event).collect();
    for (n, event) in events.iter().enumerate() {
        assert!(event["id"].as_str().unwrap().starts_with("msg_"), "{event}");
        assert_eq!(event["id"], received[n].id, "the body's id is the webhook-id");
        assert_eq!((&event["projectId"], &event["customerId"]), (&json!(1), &json!(jane.id)));
        assert_eq!(event["sequence"], json!(n + 1), "a customer's events are numbered in order: {event}");
        assert!(chrono::DateTime::parse_from_rfc3339(event["occurredAt"].as_str().unwrap()).is_ok());
    }
    assert_eq!(
        events[0]["data"],
        json!({ "email": "jane@example.com", "firstName": "Jane", "lastName": "Doe" })
    );
    assert_eq!(events[1]["data"], json!({ "changedFields": ["firstName", "phone"] }));
    assert_eq!(events[2]["data"], json!({ "email": "jane@example.com" }));
    assert_eq!(
        events[3]["data"],
        json!({ "previousEmail": "jane@example.com", "email": "janet@example.com" })
    );
    assert_eq!(events[4]["data"], json!({ "changedFields": ["email"] }));
    assert_eq!(events[7]["data"], json!({ "addressId": address_id }));
    assert_eq!(events[10]["data"], json!({ "references": ["ORD-1"] }));
    assert_eq!(events[11]["data"], json!({}), "a deletion names the id only");
    // The deleted account's earlier events (names, addresses) are not kept; its deletion is.
    let kept: Vec<String> = stored_events(&app, &jane.id).await.into_iter().map(|e| e.kind).collect();
    assert_eq!(kept, ["customer.deleted"]);
}

#[tokio::test]
async fn the_rest_doors_produce_the_same_events_as_graphql() {
    let app = spawn_hooked().await;
    let receiver = Receiver::start().await;
    endpoint(&app, &receiver.url()).await;
    let client = reqwest::Client::new();
    let body = json!({ "email": "john@example.com", "first_name": "John", "last_name": "Doe",
        "password": PASSWORD, "password_confirmation": PASSWORD });
    let (status, _) = app.rest(&client, reqwest::Method::POST, "/api/v1/customer/register", Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    let credentials = json!({ "email": "john@example.com", "password": PASSWORD });
    let (_, login) =
        app.rest(&client, reqwest::Method::POST, "/api/customer/login?token=true", Some(credentials)).await;
    let token = login["token"].as_str().unwrap();
    let profile = client
        .put(app.url("/api/customer/profile"))
        .bearer_auth(token)
        .json(&json!({ "first_name": "Johnny", "last_name": "Doe" }))
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), StatusCode::OK);
    let received = receiver.wait_for(2).await;
    assert_eq!(types(&received), ["customer.created", "customer.updated"]);
    assert_eq!(
        received[0].event()["data"],
        json!({ "email": "john@example.com", "firstName": "John", "lastName": "Doe" })
    );
    assert_eq!(received[1].event()["data"], json!({ "changedFields": ["firstName"] }));
}

#[tokio::test]
async fn a_write_that_fails_sends_nothing_and_a_change_names_fields_never_secrets() {
    let app = spawn_hooked().await;
    let receiver = Receiver::start().await;
    endpoint(&app, &receiver.url()).await;
    let jane = app.register("jane@example.com").await;
    app.register("john@example.com").await;
    receiver.wait_for(2).await;

    // Refused: a taken address (the unique index rolls the transaction back), a wrong current
    // password, an invalid field, a registration with a taken email.
    let taken = update_profile(
        &app,
        &jane.token,
        json!({ "email": "john@example.com", "currentPassword": PASSWORD }),
    )
    .await;
    assert_eq!(taken["errors"][0]["code"], "EMAIL_TAKEN", "{taken}");
    let wrong = update_profile(&app, &jane.token, json!({ "newPassword": "a-whole-new-secret-9", "newPasswordConfirmation": "a-whole-new-secret-9", "currentPassword": "not-it-at-all" })).await;
    assert_eq!(wrong["errors"][0]["code"], "INVALID_CREDENTIALS", "{wrong}");
    let invalid = update_profile(&app, &jane.token, json!({ "dateOfBirth": "not a date" })).await;
    assert_ne!(invalid["errors"], json!([]));
    let again = app
        .gql(crate::helpers::REGISTER, json!({ "input": { "email": "JANE@example.com", "firstName": "J", "lastName": "D", "password": PASSWORD, "passwordConfirmation": PASSWORD } }))
        .await;
    assert_eq!(again["data"]["register"]["errors"][0]["code"], "EMAIL_TAKEN");
    // A change to nothing is no change.
    update_profile(&app, &jane.token, json!({ "firstName": "Jane" })).await;

    let secret = "a-whole-new-secret-9";
    let changed = update_profile(
        &app,
        &jane.token,
        json!({ "newPassword": secret, "newPasswordConfirmation": secret, "currentPassword": PASSWORD }),
    )
    .await;
    assert_eq!(changed["errors"], json!([]), "{changed}");
    receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = receiver.received();
    assert_eq!(types(&received), ["customer.created", "customer.created", "customer.updated"]);
    assert_eq!(received[2].event()["data"], json!({ "changedFields": ["password"] }));
    assert!(
        !received[2].body.contains(secret) && !received[2].body.contains("argon2"),
        "{}",
        received[2].body
    );
}

#[tokio::test]
async fn an_endpoint_hears_only_its_own_shop_and_the_types_it_asked_for() {
    let app = spawn_hooked().await;
    let key = second_shop(&app).await;
    let (first_shop, second, addresses_only) =
        (Receiver::start().await, Receiver::start().await, Receiver::start().await);
    endpoint_in(&app, 1, &first_shop.url(), &[]).await;
    endpoint_in(&app, 2, &second.url(), &[]).await;
    endpoint_in(&app, 1, &addresses_only.url(), &["address.created", "address.deleted"]).await;

    // One email in both shops.
    let jane = app.register("jane@example.com").await;
    let registration = json!({ "input": { "email": "jane@example.com", "firstName": "Jane", "lastName": "Shop2",
        "password": PASSWORD, "passwordConfirmation": PASSWORD } });
    let there = gql_in_shop(&app, Some(&key), None, crate::helpers::REGISTER, registration).await;
    let there_id = there["data"]["register"]["customer"]["id"].as_str().unwrap().to_owned();
    let address = json!({ "input": { "firstName": "Jane", "lastName": "Doe", "street": "Damrak", "number": "1",
        "postcode": "1012 LG", "city": "Amsterdam", "country": "NL" } });
    let create = "mutation C($input: AddressInput!) { createAddress(input: $input) { errors { code } } }";
    app.gql_as(Some(&jane.token), create, address).await;

    let in_first = first_shop.wait_for(2).await;
    let in_second = second.wait_for(1).await;
    let addresses = addresses_only.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(types(&first_shop.received()), ["customer.created", "address.created"]);
    assert!(in_first.iter().all(|r| r.event()["customerId"] == jane.id && r.event()["projectId"] == 1));
    assert_eq!(types(&second.received()), ["customer.created"]);
    assert_eq!(
        (&in_second[0].event()["customerId"], &in_second[0].event()["projectId"]),
        (&json!(there_id), &json!(2))
    );
    assert_eq!(in_second[0].event()["data"]["lastName"], "Shop2");
    assert_eq!(types(&addresses_only.received()), ["address.created"]);
    assert_eq!(addresses[0].id, in_first[1].id, "one event, the same id at every endpoint");
}

#[tokio::test]
async fn a_killed_service_delivers_every_event_after_restart_with_the_same_ids() {
    let db = TestDb::create().await;
    let receiver = Receiver::start().await;
    // Each delivery is held a while: the kill lands while some are in flight.
    receiver.answer(Answer::Slow(200, Duration::from_millis(300)));
    let env = [("WEBHOOK_TIMEOUT_SECONDS", "2")];
    let mut replica = Replica::start(&db.url, db.dir(), &env).await;
    let settings = test_settings(&db);
    let admin = customer_accounts::state::AppState::build(settings.validate().unwrap()).await.unwrap();
    let (_, _secret) = accounts::webhooks::create_endpoint(&admin, 1, &receiver.url(), &[])
        .await
        .map(|created| (created.endpoint.id, created.secret))
        .unwrap();
    let register = crate::helpers::REGISTER;
    let mut registered = 0;
    for n in 0..12 {
        let input = json!({ "input": { "email": format!("c{n}@example.com"), "firstName": "C", "lastName": "D",
            "password": PASSWORD, "passwordConfirmation": PASSWORD } });
        let answer = replica.gql(None, register, input).await;
        assert_eq!(answer["data"]["register"]["errors"], json!([]), "{answer}");
        registered += 1;
    }
    receiver.wait_for(2).await;
    replica.kill();
    let before_restart = receiver.received().len();
    assert!(before_restart < registered, "the kill came after every delivery; hold them longer");

    let _replica = Replica::start(&db.url, db.dir(), &env).await;
    let stored: Vec<String> =
        webhook_event::Entity::find().all(&admin.db).await.unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(stored.len(), registered, "every committed registration stored its event");
    let received = receiver
        .wait_until(Duration::from_secs(40), |received| {
            stored.iter().all(|id| received.iter().any(|r| &r.id == id))
        })
        .await;
    for delivery in &received {
        assert!(stored.contains(&delivery.id), "a delivery with an id of no event: {}", delivery.id);
        assert_eq!(delivery.event()["id"], delivery.id, "a repeat carries its event's id");
    }
}

#[tokio::test]
async fn a_receiver_that_is_down_for_a_while_gets_everything_afterwards() {
    let app = spawn_hooked().await;
    let mut receiver = Receiver::start().await;
    endpoint(&app, &receiver.url()).await;
    receiver.answer(Answer::Status(503, "busy".into()));
    let jane = app.register("jane@example.com").await;
    receiver.wait_for(2).await;
    receiver.stop();
    for name in ["A", "B", "C"] {
        update_profile(&app, &jane.token, json!({ "firstName": name })).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    receiver.answer(Answer::Status(200, String::new()));
    receiver.restart().await;
    let received = receiver
        .wait_until(Duration::from_secs(30), |received| {
            let ok: std::collections::HashSet<_> = received.iter().map(|r| r.id.clone()).collect();
            ok.len() == 4
        })
        .await;
    let mut sequences: Vec<i64> = received.iter().map(|r| r.event()["sequence"].as_i64().unwrap()).collect();
    sequences.sort_unstable();
    sequences.dedup();
    assert_eq!(sequences, [1, 2, 3, 4], "every event arrived; a receiver orders them by sequence");
    let listed = cli_ok(&app, &["webhook", "deliveries"]).await;
    assert_eq!(listed.lines().filter(|l| l.contains(" delivered ")).count(), 4, "{listed}");
}

#[tokio::test]
async fn a_hanging_receiver_does_not_hold_back_another_endpoint() {
    let app = spawn_hooked().await;
    let (hanging, healthy) = (Receiver::start().await, Receiver::start().await);
    hanging.answer(Answer::Hang);
    endpoint(&app, &hanging.url()).await;
    endpoint(&app, &healthy.url()).await;
    let jane = app.register("jane@example.com").await;
    let mut declared = vec![Instant::now()];
    for name in ["A", "B", "C", "D"] {
        update_profile(&app, &jane.token, json!({ "firstName": name })).await;
        declared.push(Instant::now());
    }
    let received = healthy.wait_for(declared.len()).await;
    let bound = Duration::from_secs(TIMEOUT_SECONDS);
    for (delivery, at) in received.iter().zip(&declared) {
        let waited = delivery.at.saturating_duration_since(*at);
        assert!(waited < bound, "a delivery waited {waited:?} behind the hanging endpoint");
    }
    assert!(!hanging.received().is_empty(), "the hanging endpoint was tried");
}

#[tokio::test]
async fn two_replicas_deliver_each_event_once() {
    let app = spawn_hooked().await;
    let beside = spawn_beside(&app, hooked).await;
    let receiver = Receiver::start().await;
    endpoint(&app, &receiver.url()).await;
    let mut tokens = Vec::new();
    for n in 0..6 {
        let replica = if n % 2 == 0 { &app } else { &beside };
        tokens.push(replica.register(&format!("c{n}@example.com")).await.token);
    }
    for (n, token) in tokens.iter().enumerate() {
        let replica = if n % 2 == 0 { &beside } else { &app };
        for name in ["A", "B"] {
            update_profile(replica, token, json!({ "firstName": name })).await;
        }
    }
    let expected = tokens.len() * 3;
    receiver.wait_for(expected).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = receiver.received();
    let mut ids: Vec<&str> = received.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((ids.len(), received.len()), (expected, expected), "each event once");
}

#[tokio::test]
async fn production_refuses_private_loopback_and_metadata_endpoints_at_delivery() {
    let app = spawn_with(|settings| {
        hooked(settings);
        settings.app_env = customer_accounts::config::AppEnv::Production;
        settings.server.public_url = Some("https://accounts.example".into());
    })
    .await;
    // Anything that connects to 127.0.0.1 is counted: nothing may.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let http =
        accounts::webhooks::create_endpoint(&app.state, 1, &format!("http://127.0.0.1:{port}/"), &[]).await;
    assert!(http.is_err_and(|e| e.message().contains("https")), "plain http is refused when saved");
    let urls = [
        format!("https://127.0.0.1:{port}/hooks"),
        "https://10.0.0.1/hooks".to_owned(),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        format!("https://localhost:{port}/hooks"),
        format!("https://[::ffff:127.0.0.1]:{port}/hooks"),
    ];
    for url in &urls {
        accounts::webhooks::create_endpoint(&app.state, 1, url, &[]).await.unwrap();
    }
    app.register("jane@example.com").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let failed = loop {
        let failed = accounts::webhooks::deliveries(&app.state, true, None).await.unwrap();
        if failed.len() == urls.len() || Instant::now() > deadline {
            break failed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(failed.len(), urls.len(), "every private endpoint was refused: {failed:#?}");
    for delivery in &failed {
        let error = delivery.last_error.as_deref().unwrap_or_default();
        assert!(error.contains("may not reach"), "{error}");
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0, "a connection reached 127.0.0.1");
}

#[tokio::test]
async fn gone_disables_an_endpoint_and_so_does_a_spent_retry_budget() {
    let app = spawn_with(|settings| {
        hooked(settings);
        settings.webhooks.retry_for_seconds = 1;
    })
    .await;
    let (gone, failing) = (Receiver::start().await, Receiver::start().await);
    gone.answer(Answer::Status(410, String::new()));
    // A long answer: only its start is kept.
    failing.answer(Answer::Status(500, "x".repeat(20_000)));
    let (gone_id, _) = endpoint(&app, &gone.url()).await;
    let (failing_id, _) = endpoint(&app, &failing.url()).await;
    app.register("jane@example.com").await;
    gone.wait_for(1).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let endpoints = loop {
        let endpoints = accounts::webhooks::endpoints(&app.state, None).await.unwrap();
        if endpoints.iter().all(|e| !e.enabled) || Instant::now() > deadline {
            break endpoints;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let reason =
        |id: i32| endpoints.iter().find(|e| e.id == id).unwrap().disabled_reason.clone().unwrap_or_default();
    assert!(reason(gone_id).contains("410"), "{endpoints:?}");
    assert!(reason(failing_id).contains("retry budget"), "{endpoints:?}");
    assert_eq!(gone.received().len(), 1, "410 is not retried");
    let failed = accounts::webhooks::deliveries(&app.state, true, Some(failing_id)).await.unwrap();
    let error = failed[0].last_error.clone().unwrap();
    assert!(error.contains("HTTP 500: xxx") && error.len() < 700, "{} bytes kept: {error}", error.len());
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    // The recorder is the process's: other tests running beside this one count too.
    let disabled = metrics
        .lines()
        .find_map(|line| line.strip_prefix("webhook_endpoints_disabled_total "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .unwrap_or_default();
    assert!(disabled >= 2.0, "{metrics}");
    assert!(metrics.contains("webhook_deliveries_total{outcome=\"retried\"}"), "{metrics}");
    let listed = cli_ok(&app, &["webhook", "list"]).await;
    assert!(listed.contains("disabled: the receiver answered 410 Gone"), "{listed}");
    // A disabled endpoint hears nothing more.
    app.register("john@example.com").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gone.received().len(), 1);
}

#[tokio::test]
async fn deliveries_lists_attempts_and_redeliver_sends_the_same_id_again() {
    let app = spawn_hooked().await;
    let receiver = Receiver::start().await;
    let (id, _) = endpoint(&app, &receiver.url()).await;
    app.register("jane@example.com").await;
    let first = receiver.wait_for(1).await[0].clone();
    let listed = cli_ok(&app, &["webhook", "deliveries", "--endpoint", &id.to_string()]).await;
    let line = listed.lines().next().unwrap();
    assert!(
        line.contains("delivered") && line.contains("customer.created") && line.contains(&first.id),
        "{listed}"
    );
    assert_eq!(cli_ok(&app, &["webhook", "deliveries", "--failed"]).await, "");
    let delivery = line.split_whitespace().next().unwrap();
    let again = cli_ok(&app, &["webhook", "redeliver", delivery]).await;
    assert!(again.starts_with("delivery "), "{again}");
    let twice = receiver.wait_for(2).await;
    assert_eq!((twice[1].id.as_str(), twice[1].body.as_str()), (first.id.as_str(), first.body.as_str()));

    cli_ok(&app, &["webhook", "disable", &id.to_string()]).await;
    let refused = app.cli(&["webhook", "redeliver", delivery]).await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("disabled"));
    let unknown =
        app.cli(&["webhook", "create", "--url", &receiver.url(), "--events", "customer.exploded"]).await;
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("`customer.exploded` is not an event type"));
}
