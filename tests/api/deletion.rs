//! Deleting one's account: sessions and tokens end, personal data is erased, the address is
//! free again, the old address is told; and the data export shows what is stored.

use customer_accounts::entity::{address, customer, session};
use reqwest::{Method, StatusCode};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::{
    helpers::{PASSWORD, TestApp, spawn, spawn_with, top_level_code},
    smtp::{SmtpServer, to},
};

const DELETE: &str = "mutation D($p: String!) { deleteAccount(currentPassword: $p) { success errors { field code message } } }";

async fn delete_account(app: &TestApp, token: &str, password: &str) -> Value {
    app.gql_as(Some(token), DELETE, json!({ "p": password })).await
}

async fn save_address(app: &TestApp, token: &str) {
    let mutation = "mutation C($input: AddressInput!) { createAddress(input: $input) { errors { code } } }";
    let input = json!({ "firstName": "Jane", "lastName": "Doe", "street": "Damrak 1", "postcode": "1012 LG",
        "city": "Amsterdam", "country": "NL" });
    let answer = app.gql_as(Some(token), mutation, json!({ "input": input })).await;
    assert_eq!(answer["data"]["createAddress"]["errors"], json!([]));
}

#[tokio::test]
async fn deleting_ends_every_session_erases_personal_data_and_frees_the_address() {
    let app = spawn().await;
    let jane = app.register("Jane@Example.com").await;
    save_address(&app, &jane.token).await;
    let phone = app.login("jane@example.com", PASSWORD).await["token"].as_str().unwrap().to_owned();

    let wrong = delete_account(&app, &jane.token, "not-my-password").await;
    assert_eq!(
        wrong["data"]["deleteAccount"],
        json!({ "success": false, "errors": [{ "field": ["currentPassword"], "code": "INVALID_CREDENTIALS",
            "message": "The current password is incorrect." }] })
    );
    assert!(app.me(&jane.token).await.is_object(), "a refused deletion changes nothing");

    let answer = delete_account(&app, &jane.token, PASSWORD).await;
    assert_eq!(answer["data"]["deleteAccount"], json!({ "success": true, "errors": [] }), "{answer}");
    assert!(app.me(&jane.token).await.is_null());
    assert!(app.me(&phone).await.is_null(), "every session ends, not only this one");
    assert_eq!(app.login("jane@example.com", PASSWORD).await["errors"][0]["code"], "INVALID_CREDENTIALS");

    let db = &app.state.db;
    let row = customer::Entity::find_by_id(jane.id.parse::<i64>().unwrap()).one(db).await.unwrap().unwrap();
    assert!(row.email.starts_with("deleted-") && row.email.ends_with("@deleted.invalid"), "{}", row.email);
    assert_eq!((row.first_name.as_str(), row.last_name.as_str(), row.phone.as_deref()), ("", "", None));
    assert_eq!((row.password_hash.as_str(), row.status), ("", customer::STATUS_DELETED));
    assert!(row.deleted_at.is_some());
    assert_eq!(
        session::Entity::find().count(db).await.unwrap(),
        0,
        "sessions (with their browser and network) are gone"
    );
    assert_eq!(address::Entity::find().count(db).await.unwrap(), 0);

    let again = app.register("jane@example.com").await;
    assert_ne!(again.id, jane.id, "the address registers again, as a new account");
}

#[tokio::test]
async fn the_old_address_is_told_by_mail_and_nothing_else_is_left_waiting_for_it() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = spawn_with(|s| s.mail.smtp_url = Some(url.into())).await;
    let jane = app.register("jane@example.com").await;
    app.dispatch_pending_mail().await;
    assert_eq!(delete_account(&app, &jane.token, PASSWORD).await["data"]["deleteAccount"]["success"], true);
    app.dispatch_pending_mail().await;
    let messages = smtp.wait_for(2).await;
    let deleted = to(&messages, "jane@example.com");
    assert!(deleted.iter().any(|m| m.contains("account was deleted")), "{deleted:?}");
}

#[tokio::test]
async fn a_wrong_password_on_delete_counts_like_a_failed_login() {
    let app = spawn_with(|s| s.limits.login_failures_per_email = 2).await;
    let jane = app.register("jane@example.com").await;
    for _ in 0..2 {
        let answer = delete_account(&app, &jane.token, "guess-number-one").await;
        assert_eq!(answer["data"]["deleteAccount"]["errors"][0]["code"], "INVALID_CREDENTIALS");
    }
    let locked = delete_account(&app, &jane.token, PASSWORD).await;
    assert_eq!(top_level_code(&locked), Some("RATE_LIMITED"), "{locked}");
    assert!(app.me(&jane.token).await.is_object());
    let anonymous = app.gql(DELETE, json!({ "p": PASSWORD })).await;
    assert_eq!(top_level_code(&anonymous), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn rest_delete_profile_needs_the_current_password_and_words_refusals_as_laravel() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let client = reqwest::Client::builder()
        .default_headers(
            [(reqwest::header::AUTHORIZATION, format!("Bearer {}", jane.token).parse().unwrap())]
                .into_iter()
                .collect(),
        )
        .build()
        .unwrap();
    let (status, answer) = app.rest(&client, Method::DELETE, "/api/customer/profile", Some(json!({}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["errors"]["current_password"], json!(["The current password field is required."]));
    let wrong = json!({ "current_password": "nope-nope-nope" });
    let (status, answer) = app.rest(&client, Method::DELETE, "/api/customer/profile", Some(wrong)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["errors"]["current_password"], json!(["The current password is incorrect."]));

    let right = json!({ "current_password": PASSWORD });
    let (status, answer) = app.rest(&client, Method::DELETE, "/api/customer/profile", Some(right)).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({ "message": "Your account has been deleted." })));
    let (status, _) = app.rest(&client, Method::GET, "/api/customer/get", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn customer_export_prints_everything_stored_about_one_customer_and_no_secret() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    save_address(&app, &jane.token).await;
    let output = app.cli(&["customer", "export", "JANE@example.com"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let export: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["account"]["email"], "jane@example.com");
    assert_eq!(export["account"]["password_set"], true);
    assert_eq!(export["account"]["group"], "general");
    assert_eq!(export["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(export["sessions"][0]["ip"], "127.0.0.0/24");
    assert_eq!(export["addresses"][0]["street"], "Damrak 1");
    assert_eq!(export["emailed_links"][0]["purpose"], "email_verification");
    assert!(export["emails"][0]["subject"].is_string());
    for secret in ["$argon2", &jane.token, "token_hash", "password_hash"] {
        assert!(!text.contains(secret), "{secret} leaked into the export");
    }
    let unknown = app.cli(&["customer", "export", "nobody@example.com"]).await;
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no customer with that email"));
}

/// The tables of the database that refer to a customer (a `customer_id` column) or to a session
/// (a `session_id` column), whichever engine runs the tests.
async fn tables_referring_to_customers(app: &TestApp) -> Vec<String> {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT DISTINCT table_name AS name FROM information_schema.columns \
             WHERE table_schema = 'public' AND column_name IN ('customer_id', 'session_id')"
        }
        _ => {
            "SELECT DISTINCT m.name AS name FROM sqlite_master m, pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND c.name IN ('customer_id', 'session_id')"
        }
    };
    let rows = db.query_all_raw(Statement::from_string(backend, sql.to_owned())).await.unwrap();
    let mut names: Vec<String> = rows.iter().map(|row| row.try_get("", "name").unwrap()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn every_table_with_a_customer_reference_is_deleted_anonymised_or_exported() {
    use customer_accounts::accounts::{OnDelete, PERSONAL_DATA};
    let app = spawn().await;
    let declared: Vec<&str> = PERSONAL_DATA.iter().map(|t| t.table).collect();
    let referring = tables_referring_to_customers(&app).await;
    assert!(referring.len() >= 5, "the schema query found the tables: {referring:?}");
    for table in &referring {
        assert!(
            declared.contains(&table.as_str()),
            "{table} refers to a customer but PERSONAL_DATA says nothing of it: deleting an account \
             would leave it behind and the export would not show it"
        );
    }
    for table in PERSONAL_DATA {
        let handled =
            matches!(table.on_delete, OnDelete::Deleted | OnDelete::Anonymised) || table.exported.is_some();
        assert!(handled, "{} is neither deleted, anonymised nor exported", table.table);
    }

    // What the list promises is what happens: the export shows each exported table, and after a
    // deletion no deleted table keeps a row of the account.
    let jane = app.register("jane@example.com").await;
    save_address(&app, &jane.token).await;
    let export = app.cli(&["customer", "export", "jane@example.com"]).await;
    let export: Value = serde_json::from_slice(&export.stdout).unwrap();
    for key in PERSONAL_DATA.iter().filter_map(|t| t.exported) {
        assert!(export.get(key).is_some(), "the export has no `{key}`: {export}");
    }
    delete_account(&app, &jane.token, PASSWORD).await;
    let id: i64 = jane.id.parse().unwrap();
    for table in PERSONAL_DATA.iter().filter(|t| t.on_delete == OnDelete::Deleted) {
        let Some(column) = table.column else { continue };
        use sea_orm::{ConnectionTrait, Statement};
        let backend = app.state.db.get_database_backend();
        let count = format!("SELECT COUNT(*) AS n FROM {} WHERE {column} = {id}", table.table);
        let row = app.state.db.query_one_raw(Statement::from_string(backend, count)).await.unwrap().unwrap();
        let left: i64 = row.try_get("", "n").unwrap();
        let confirmation = i64::from(table.table == "jobs");
        assert_eq!(left, confirmation, "{} keeps rows of the deleted account", table.table);
    }
}
