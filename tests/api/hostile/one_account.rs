//! Hostile requests against one account: an emailed link is no login, a password change cannot be
//! outrun by logins in flight, and a page of another site cannot drive the cookie mode.

use customer_accounts::auth::one_time::Purpose;
use serde_json::{Value, json};

use crate::helpers::{Customer, LOGIN, PASSWORD, TestApp, UPDATE_PROFILE, issue_link, spawn, spawn_with};

const VERIFY_SELECTING_EVERYTHING: &str = r#"
mutation V($t: String!) {
  verifyEmail(token: $t) {
    success emailVerifiedAt
    customer { id email phone addresses { street city } sessions { id ip userAgent } }
    errors { code }
  }
}"#;

#[tokio::test]
async fn a_verification_link_alone_verifies_but_shows_nothing_of_the_account() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let input = json!({ "firstName": "Jane", "lastName": "Doe", "street": "Damrak 1", "postcode": "1012 LG",
        "city": "Amsterdam", "country": "NL", "phone": "+31 20 555 0101" });
    let create = "mutation C($i: AddressInput!) { createAddress(input: $i) { errors { code } } }";
    app.gql_as(Some(&jane.token), create, json!({ "i": input })).await;

    let link = issue_link(&app, &jane.id, Purpose::EmailVerification).await;
    let answer = app.gql(VERIFY_SELECTING_EVERYTHING, json!({ "t": link })).await;
    let payload = &answer["data"]["verifyEmail"];
    assert_eq!(payload["errors"], json!([]), "{answer}");
    assert_eq!(payload["success"], true);
    assert!(payload["emailVerifiedAt"].is_string(), "what the link proves is said");
    assert_eq!(payload["customer"], Value::Null, "but nothing of the account: {answer}");

    let other = app.register("mallory@example.com").await;
    let link = issue_link(&app, &jane.id, Purpose::EmailVerification).await;
    let answer = app.gql_as(Some(&other.token), VERIFY_SELECTING_EVERYTHING, json!({ "t": link })).await;
    assert_eq!(answer["data"]["verifyEmail"]["customer"], Value::Null, "nor to another customer: {answer}");

    let link = issue_link(&app, &jane.id, Purpose::EmailVerification).await;
    let answer = app.gql_as(Some(&jane.token), VERIFY_SELECTING_EVERYTHING, json!({ "t": link })).await;
    let customer = &answer["data"]["verifyEmail"]["customer"];
    assert_eq!(customer["id"], jane.id.as_str(), "the account's own session sees it: {answer}");
    assert_eq!(customer["addresses"][0]["city"], "Amsterdam");
}

/// A write that must end every session logins in flight could still open.
#[derive(Debug, Clone, Copy)]
enum Ending {
    PasswordChange,
    Reset,
    Deletion,
}

const NEW_PASSWORD: &str = "a-completely-new-passphrase-9";

impl Ending {
    async fn run(self, app: &TestApp, customer: &Customer) -> Value {
        let (query, variables, token) = match self {
            Ending::PasswordChange => (
                UPDATE_PROFILE,
                json!({ "input": { "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD,
                    "newPasswordConfirmation": NEW_PASSWORD } }),
                Some(customer.token.as_str()),
            ),
            Ending::Reset => (
                "mutation R($t: String!, $p: String!) { resetPassword(token: $t, password: $p, passwordConfirmation: $p) { token errors { code } } }",
                json!({ "t": issue_link(app, &customer.id, Purpose::PasswordReset).await, "p": NEW_PASSWORD }),
                None,
            ),
            Ending::Deletion => (
                "mutation D($p: String!) { deleteAccount(currentPassword: $p) { errors { code } } }",
                json!({ "p": PASSWORD }),
                Some(customer.token.as_str()),
            ),
        };
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let answer = app.gql_as(token, query, variables).await;
        let payload = answer["data"].as_object().and_then(|data| data.values().next()).cloned();
        assert_eq!(payload.map(|p| p["errors"].clone()), Some(json!([])), "{self:?}: {answer}");
        answer
    }
}

#[tokio::test]
async fn a_password_change_reset_or_deletion_ends_every_session_including_logins_in_flight() {
    for ending in [Ending::PasswordChange, Ending::Reset, Ending::Deletion] {
        // One hashing thread, and logins arriving faster than it hashes: the write's hashes queue
        // behind logins, and logins sent meanwhile read the account before the write commits and
        // check the old password after it.
        let app = spawn_with(|s| s.auth.hash_concurrency = Some(1)).await;
        let jane = app.register("jane@example.com").await;
        let logins = async {
            let mut logins = Vec::new();
            for _ in 0..40 {
                let variables = json!({ "email": "jane@example.com", "password": PASSWORD });
                let login = app.graphql(LOGIN).variables(variables);
                logins.push(tokio::spawn(async move { login.send().await["data"]["login"].clone() }));
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            futures::future::join_all(logins).await.into_iter().map(Result::unwrap).collect::<Vec<_>>()
        };
        let (ended, logins) = tokio::join!(ending.run(&app, &jane), logins);
        for login in &logins {
            if login["token"].is_null() {
                assert_eq!(login["errors"][0]["code"], "INVALID_CREDENTIALS", "{ending:?}: {login}");
            }
        }
        for token in logins.iter().filter_map(|l| l["token"].as_str()) {
            assert!(
                app.me(token).await.is_null(),
                "{ending:?}: a session opened with the old password outlived it"
            );
        }
        match ending {
            Ending::PasswordChange => {
                assert!(app.me(&jane.token).await.is_object(), "the changing session stays")
            }
            Ending::Reset => {
                let token = ended["data"]["resetPassword"]["token"].as_str().unwrap();
                assert!(app.me(token).await.is_object(), "the reset's own session works");
            }
            Ending::Deletion => assert!(app.me(&jane.token).await.is_null()),
        }
    }
}

#[tokio::test]
async fn in_cookie_mode_a_page_of_another_origin_cannot_log_in_or_get_a_refresh_cookie() {
    let app = spawn_with(|s| {
        s.auth.refresh_token_cookie = true;
        s.server.cors_allowed_origins = vec!["https://shop.example".into()];
    })
    .await;
    app.register("jane@example.com").await;
    let login = json!({ "query": "mutation { login(email: \"jane@example.com\", password: \"correct-horse-battery\") { token } }" });
    let from = |origin: &'static str| app.graphql("").body(login.clone()).header("Origin", origin).response();
    let foreign = from("https://evil.example").await;
    assert_eq!(foreign.status(), reqwest::StatusCode::FORBIDDEN);
    assert!(foreign.headers().get(reqwest::header::SET_COOKIE).is_none(), "no cookie for a foreign page");
    let body: Value = foreign.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");

    let storefront = from("https://shop.example").await;
    assert_eq!(storefront.status(), reqwest::StatusCode::OK);
    assert!(storefront.headers().get(reqwest::header::SET_COOKIE).is_some(), "the storefront logs in");
    let own = from("http://accounts.test").await;
    assert_eq!(own.status(), reqwest::StatusCode::OK, "so do pages of PUBLIC_URL");
}
