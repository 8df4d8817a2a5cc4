//! Reset and verification through a real SMTP listener; the outbox survives SMTP outages.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::{PASSWORD, TestApp, UPDATE_PROFILE, error_codes, outbox, spawn_with},
    smtp::{SmtpServer, link_token, to},
};

const FORGOT: &str =
    "mutation($email: String!) { forgotPassword(email: $email) { message errors { field code } } }";
const RESET: &str = "mutation($token: String!, $password: String!, $confirmation: String!) {
  resetPassword(token: $token, password: $password, passwordConfirmation: $confirmation) {
    token customer { id emailVerifiedAt } errors { field code message } } }";
const VERIFY: &str =
    "mutation($token: String!) { verifyEmail(token: $token) { emailVerifiedAt errors { field code } } }";
const NEW_PASSWORD: &str = "a-brand-new-password";

async fn with_smtp(
    configure: impl FnOnce(&mut customer_accounts::config::Settings),
) -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = spawn_with(|s| {
        s.mail.smtp_url = Some(url.into());
        configure(s);
    })
    .await;
    (app, smtp)
}

async fn forgot(app: &TestApp, email: &str) -> Value {
    app.gql(FORGOT, json!({ "email": email })).await["data"]["forgotPassword"].clone()
}

async fn reset(app: &TestApp, token: &str, password: &str) -> Value {
    let variables = json!({ "token": token, "password": password, "confirmation": password });
    app.gql(RESET, variables).await["data"]["resetPassword"].clone()
}

#[tokio::test]
async fn a_mailed_reset_link_sets_a_new_password_and_ends_every_session() {
    let (app, smtp) = with_smtp(|_| {}).await;
    let jane = app.register("jane@example.com").await;
    let other = app.login("jane@example.com", PASSWORD).await["token"].as_str().unwrap().to_owned();
    smtp.wait_for(1).await; // the verification email
    let answer = forgot(&app, "jane@example.com").await;
    assert_eq!(
        answer["message"],
        "If an account exists for that address, we have e-mailed a password reset link."
    );
    let messages = smtp.wait_for(2).await;
    let mail = messages.iter().find(|m| m.contains("/reset-password?token=")).unwrap();
    assert!(mail.contains("http://accounts.test/reset-password?token="), "{mail}");

    let payload = reset(&app, &link_token(mail, "reset-password"), NEW_PASSWORD).await;
    assert_eq!(payload["errors"], json!([]));
    assert!(payload["customer"]["emailVerifiedAt"].is_string(), "reading the mail proves the address");
    let fresh = payload["token"].as_str().unwrap();
    assert_eq!(app.me(fresh).await["id"], jane.id.as_str());
    assert_eq!(app.me(&jane.token).await, Value::Null);
    assert_eq!(app.me(&other).await, Value::Null);
    assert_eq!(error_codes(&app.login("jane@example.com", PASSWORD).await)[0].1, "INVALID_CREDENTIALS");
    assert_eq!(app.login("jane@example.com", NEW_PASSWORD).await["errors"], json!([]));
}

#[tokio::test]
async fn forgot_password_answers_byte_for_byte_the_same_for_unknown_addresses() {
    let (app, _smtp) = with_smtp(|_| {}).await;
    app.register("jane@example.com").await;
    let ask = |email: &str| app.graphql(FORGOT).variables(json!({ "email": email })).response();
    let known = ask("jane@example.com").await;
    let unknown = ask("nobody@example.com").await;
    assert_eq!(known.status(), unknown.status());
    assert_eq!(known.bytes().await.unwrap(), unknown.bytes().await.unwrap());
}

#[tokio::test]
async fn a_reset_token_works_only_once() {
    let (app, smtp) = with_smtp(|_| {}).await;
    app.register("jane@example.com").await;
    forgot(&app, "jane@example.com").await;
    let messages = smtp.wait_for(2).await;
    let token = link_token(messages.iter().find(|m| m.contains("reset-password")).unwrap(), "reset-password");
    assert_eq!(reset(&app, &token, NEW_PASSWORD).await["errors"], json!([]));
    let again = reset(&app, &token, "yet-another-password").await;
    assert_eq!(error_codes(&again), vec![(json!(["token"]), "INVALID_TOKEN".to_owned())]);
    assert_eq!(app.login("jane@example.com", NEW_PASSWORD).await["errors"], json!([]));
}

#[tokio::test]
async fn an_expired_reset_token_is_invalid() {
    let (app, smtp) = with_smtp(|s| s.mail.reset_token_ttl_seconds = 1).await;
    app.register("jane@example.com").await;
    forgot(&app, "jane@example.com").await;
    let messages = smtp.wait_for(2).await;
    let token = link_token(messages.iter().find(|m| m.contains("reset-password")).unwrap(), "reset-password");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let payload = reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(error_codes(&payload), vec![(json!(["token"]), "INVALID_TOKEN".to_owned())]);
}

#[tokio::test]
async fn an_older_reset_token_stops_working_once_a_newer_one_is_sent() {
    let (app, smtp) = with_smtp(|s| s.mail.resend_cooldown_seconds = 0).await;
    app.register("jane@example.com").await;
    forgot(&app, "jane@example.com").await;
    smtp.wait_for(2).await;
    forgot(&app, "jane@example.com").await;
    let messages = smtp.wait_for(3).await;
    let resets: Vec<String> = messages
        .iter()
        .filter(|m| m.contains("reset-password"))
        .map(|m| link_token(m, "reset-password"))
        .collect();
    assert_eq!(resets.len(), 2);
    let old = reset(&app, &resets[0], NEW_PASSWORD).await;
    assert_eq!(error_codes(&old), vec![(json!(["token"]), "INVALID_TOKEN".to_owned())]);
    assert_eq!(reset(&app, &resets[1], NEW_PASSWORD).await["errors"], json!([]));
}

#[tokio::test]
async fn unknown_or_garbage_tokens_get_invalid_token() {
    let (app, _smtp) = with_smtp(|_| {}).await;
    for token in ["", "not-a-token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let payload = reset(&app, token, NEW_PASSWORD).await;
        assert_eq!(error_codes(&payload), vec![(json!(["token"]), "INVALID_TOKEN".to_owned())], "{token:?}");
    }
}

#[tokio::test]
async fn reset_password_applies_the_registration_password_rules() {
    let (app, _smtp) = with_smtp(|_| {}).await;
    let payload = reset(&app, "whatever", "short").await;
    assert_eq!(error_codes(&payload), vec![(json!(["password"]), "TOO_SHORT".to_owned())]);
}

#[tokio::test]
async fn a_second_request_within_the_cooldown_sends_nothing_but_answers_the_same() {
    let (app, smtp) = with_smtp(|_| {}).await;
    app.register("jane@example.com").await;
    let first = forgot(&app, "jane@example.com").await;
    let second = forgot(&app, "jane@example.com").await;
    assert_eq!(first, second);
    app.dispatch_pending_mail().await;
    assert_eq!(smtp.messages().iter().filter(|m| m.contains("reset-password")).count(), 1);
}

#[tokio::test]
async fn mail_written_while_smtp_is_down_is_delivered_once_it_comes_up() {
    let port = SmtpServer::unused_port();
    let app = spawn_with(|s| s.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into())).await;
    app.register("jane@example.com").await;
    let answer = forgot(&app, "jane@example.com").await;
    assert!(answer["message"].is_string(), "the request succeeds while SMTP is down");
    // Wait until the worker has tried and failed each letter.
    for _ in 0..100 {
        let rows = outbox::rows(&app.state.db).await;
        if rows.len() == 2 && rows.iter().all(|r| r.attempts > 0 && r.last_error.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let counts = outbox::counts(&app.state.db).await;
    assert_eq!((counts.pending, counts.sent), (2, 0));

    let smtp = SmtpServer::start_on(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
    let messages = smtp.wait_for(2).await;
    assert_eq!(to(&messages, "jane@example.com").len(), 2);
    app.dispatch_pending_mail().await;
    assert_eq!(smtp.messages().len(), 2, "delivered once each");
    assert_eq!(outbox::counts(&app.state.db).await.sent, 2);
}

#[tokio::test]
async fn competing_or_restarted_workers_deliver_each_message_exactly_once() {
    let port = SmtpServer::unused_port();
    let app = spawn_with(|s| s.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into())).await;
    for i in 0..6 {
        app.register(&format!("customer{i}@example.com")).await;
    }
    // A message a crashed worker had claimed: nobody may take it until the claim lapses.
    let crashed = outbox::rows(&app.state.db).await.remove(0);
    outbox::claim(&app.state.db, crashed.id, chrono::Utc::now() + chrono::Duration::minutes(5)).await;

    let smtp = SmtpServer::start_on(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
    // The app's own worker races three more, as after a restart with a second process up.
    let rivals = (0..3).map(|_| async {
        for _ in 0..20 {
            customer_accounts::jobs::run_due(&app.state).await.unwrap();
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    });
    futures::future::join_all(rivals).await;
    let messages = smtp.wait_for(5).await;
    assert_eq!(messages.len(), 5, "the claimed message waits");

    outbox::claim(&app.state.db, crashed.id, chrono::Utc::now() - chrono::Duration::seconds(1)).await;
    customer_accounts::jobs::run_due(&app.state).await.unwrap();
    let messages = smtp.wait_for(6).await;
    app.dispatch_pending_mail().await;
    assert_eq!(smtp.messages().len(), 6);
    let mut ids: Vec<&str> =
        messages.iter().filter_map(|m| m.lines().find(|l| l.starts_with("Message-ID:"))).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6, "six distinct messages, none twice");
}

#[tokio::test]
async fn registration_mails_a_verification_link_that_verifies_the_address() {
    let (app, smtp) = with_smtp(|_| {}).await;
    let jane = app.register("jane@example.com").await;
    let messages = smtp.wait_for(1).await;
    let mail = &to(&messages, "jane@example.com")[0];
    assert!(
        mail.contains("multipart/alternative") && mail.contains("text/plain") && mail.contains("text/html")
    );
    assert!(mail.contains("Our shop"), "names the shop");
    let token = link_token(mail, "verify-email");
    let payload = app.gql(VERIFY, json!({ "token": token })).await["data"]["verifyEmail"].clone();
    assert_eq!(payload["errors"], json!([]));
    assert!(payload["emailVerifiedAt"].is_string());
    let me = app.gql_as(Some(&jane.token), "{ me { emailVerifiedAt } }", json!({})).await;
    assert!(me["data"]["me"]["emailVerifiedAt"].is_string());
    let again = app.gql(VERIFY, json!({ "token": token })).await["data"]["verifyEmail"].clone();
    assert_eq!(error_codes(&again), vec![(json!(["token"]), "INVALID_TOKEN".to_owned())]);
}

#[tokio::test]
async fn with_require_email_verification_an_unverified_login_is_refused() {
    let (app, smtp) = with_smtp(|s| s.auth.require_email_verification = true).await;
    app.register("jane@example.com").await;
    let refused = app.login("jane@example.com", PASSWORD).await;
    assert_eq!(error_codes(&refused), vec![(Value::Null, "EMAIL_NOT_VERIFIED".to_owned())]);
    assert_eq!(refused["token"], Value::Null);
    let wrong = app.login("jane@example.com", "wrong-password").await;
    assert_eq!(error_codes(&wrong)[0].1, "INVALID_CREDENTIALS", "a guess learns nothing");

    let token = link_token(&smtp.wait_for(1).await[0], "verify-email");
    app.gql(VERIFY, json!({ "token": token })).await;
    assert_eq!(app.login("jane@example.com", PASSWORD).await["errors"], json!([]));
}

#[tokio::test]
async fn a_resent_verification_link_replaces_the_old_one() {
    let (app, smtp) = with_smtp(|s| s.mail.resend_cooldown_seconds = 0).await;
    let jane = app.register("jane@example.com").await;
    smtp.wait_for(1).await;
    let answer =
        app.gql_as(Some(&jane.token), "mutation { resendVerificationEmail { message } }", json!({})).await;
    assert!(answer["data"]["resendVerificationEmail"]["message"].is_string());
    let messages = smtp.wait_for(2).await;
    let (old, new) = (link_token(&messages[0], "verify-email"), link_token(&messages[1], "verify-email"));
    let stale = app.gql(VERIFY, json!({ "token": old })).await["data"]["verifyEmail"].clone();
    assert_eq!(error_codes(&stale), vec![(json!(["token"]), "INVALID_TOKEN".to_owned())]);
    let fresh = app.gql(VERIFY, json!({ "token": new })).await["data"]["verifyEmail"].clone();
    assert_eq!(fresh["errors"], json!([]));
}

#[tokio::test]
async fn changing_the_email_unverifies_it_mails_the_new_address_and_notifies_the_old() {
    let (app, smtp) = with_smtp(|_| {}).await;
    let jane = app.register("jane@example.com").await;
    let token = link_token(&smtp.wait_for(1).await[0], "verify-email");
    app.gql(VERIFY, json!({ "token": token })).await;

    let input = json!({ "input": { "email": "jane.new@example.com", "currentPassword": PASSWORD } });
    let payload = app.gql_as(Some(&jane.token), UPDATE_PROFILE, input).await["data"]["updateProfile"].clone();
    assert_eq!(payload["customer"]["emailVerifiedAt"], Value::Null);
    let messages = smtp.wait_for(3).await;
    let notice = to(&messages, "jane@example.com").into_iter().find(|m| m.contains("was changed")).unwrap();
    assert!(notice.contains("jane.new@example.com"));
    let verify = &to(&messages, "jane.new@example.com")[0];
    let payload = app.gql(VERIFY, json!({ "token": link_token(verify, "verify-email") })).await;
    assert!(payload["data"]["verifyEmail"]["emailVerifiedAt"].is_string());
}

#[tokio::test]
async fn html_mail_escapes_what_customers_typed() {
    let (app, smtp) = with_smtp(|_| {}).await;
    let input = json!({ "input": { "email": "eve@example.com", "firstName": "<b>Eve</b>", "lastName": "X",
        "password": PASSWORD, "passwordConfirmation": PASSWORD } });
    app.gql(crate::helpers::REGISTER, input).await;
    let mail = &smtp.wait_for(1).await[0];
    let html = &mail[mail.find("text/html").unwrap()..];
    assert!(html.contains("&lt;b&gt;Eve&lt;"), "{html}");
    assert!(!html.contains("<b>Eve"), "{html}");
}

#[tokio::test]
async fn without_smtp_url_mail_is_written_as_eml_files_to_mail_dir() {
    let app = spawn_with(|_| {}).await;
    app.register("jane@example.com").await;
    let dir = app.state.settings.mail_dir();
    for _ in 0..100 {
        let files: Vec<_> = std::fs::read_dir(&dir).map(|d| d.flatten().collect()).unwrap_or_default();
        if let Some(file) = files.iter().find(|f| f.path().extension().is_some_and(|e| e == "eml")) {
            let text = std::fs::read_to_string(file.path()).unwrap().replace("=\r\n", "").replace("=3D", "=");
            assert!(text.contains("/verify-email?token="));
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no .eml file appeared in {}", dir.display());
}
