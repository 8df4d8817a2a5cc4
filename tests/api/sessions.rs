//! Sessions a customer can see and end, and rotating refresh tokens.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, spawn, spawn_with, top_level_code};

const SESSIONS: &str = "{ me { sessions { id current createdAt lastSeenAt expiresAt userAgent ip } } }";
const LOGIN_WITH_REFRESH: &str = r#"
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { token refreshToken errors { code } }
}"#;
const REFRESH: &str = r#"
mutation Refresh($refreshToken: String!) {
  refreshAccessToken(refreshToken: $refreshToken) { token refreshToken expiresAt errors { field code message } }
}"#;

/// Logs `email` in from a client calling itself `user_agent`: (access token, refresh token).
async fn login_as(app: &crate::helpers::TestApp, email: &str, user_agent: &str) -> (String, String) {
    let answer = app
        .graphql(LOGIN_WITH_REFRESH)
        .variables(json!({ "email": email, "password": PASSWORD }))
        .header("User-Agent", user_agent)
        .send()
        .await;
    let login = &answer["data"]["login"];
    assert_eq!(login["errors"], json!([]), "{answer}");
    (login["token"].as_str().unwrap().to_owned(), login["refreshToken"].as_str().unwrap().to_owned())
}

async fn refresh(app: &crate::helpers::TestApp, refresh_token: &str) -> Value {
    app.gql(REFRESH, json!({ "refreshToken": refresh_token })).await["data"]["refreshAccessToken"].clone()
}

fn sessions_of(answer: &Value) -> Vec<Value> {
    answer["data"]["me"]["sessions"].as_array().cloned().unwrap_or_else(|| panic!("no sessions: {answer}"))
}

#[tokio::test]
async fn sessions_list_the_live_ones_newest_first_with_this_one_marked_and_only_the_network_shown() {
    let app = spawn().await;
    let first = app.register("jane@example.com").await;
    let (token, _) = login_as(&app, "jane@example.com", "Fire\tfox/133.0").await;
    let answer = app.gql_as(Some(&token), SESSIONS, json!({})).await;
    let sessions = sessions_of(&answer);
    assert_eq!(sessions.len(), 2, "{answer}");
    let (newest, oldest) = (&sessions[0], &sessions[1]);
    assert_eq!(newest["current"], true);
    assert_eq!(oldest["current"], false);
    assert_eq!(newest["userAgent"], "Firefox/133.0", "control characters are dropped");
    assert_eq!(newest["ip"], "127.0.0.0/24", "the address is cut to its /24");
    assert!(newest["createdAt"].as_str() >= oldest["createdAt"].as_str());
    assert!(newest["expiresAt"].as_str().unwrap() > newest["createdAt"].as_str().unwrap());
    assert!(newest["lastSeenAt"].is_string());

    // Seen from the first session, the first one is current.
    let answer = app.gql_as(Some(&first.token), SESSIONS, json!({})).await;
    let current: Vec<_> = sessions_of(&answer).into_iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], oldest["id"]);
}

#[tokio::test]
async fn last_seen_at_moves_forward_off_the_request_path_at_most_once_a_minute() {
    use customer_accounts::entity::session;
    use sea_orm::{EntityTrait, sea_query::Expr};
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let long_ago = chrono::Utc::now() - chrono::Duration::hours(3);
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Expr::value(long_ago))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert!(app.me(&jane.token).await.is_object());
    let mut seen = None;
    for _ in 0..100 {
        let row = session::Entity::find().one(&app.state.db).await.unwrap().unwrap();
        if row.last_seen_at.is_some_and(|at| at > long_ago + chrono::Duration::hours(1)) {
            seen = row.last_seen_at;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let seen = seen.expect("last_seen_at was not brought up to date");
    // Within the minute, further requests leave it as it is.
    assert!(app.me(&jane.token).await.is_object());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let row = session::Entity::find().one(&app.state.db).await.unwrap().unwrap();
    assert_eq!(row.last_seen_at, Some(seen));
}

#[tokio::test]
async fn revoke_session_ends_an_own_session_and_answers_not_found_for_anyone_elses() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let (laptop, _) = login_as(&app, "jane@example.com", "laptop").await;
    let john = app.register("john@example.com").await;
    let johns_session =
        sessions_of(&app.gql_as(Some(&john.token), SESSIONS, json!({})).await)[0]["id"].clone();

    let revoke = "mutation R($id: ID!) { revokeSession(id: $id) { success errors { field code } } }";
    let answer = app.gql_as(Some(&jane.token), revoke, json!({ "id": johns_session })).await;
    assert_eq!(answer["data"]["revokeSession"]["success"], false);
    assert_eq!(answer["data"]["revokeSession"]["errors"], json!([{ "field": ["id"], "code": "NOT_FOUND" }]));
    assert!(app.me(&john.token).await.is_object(), "another customer's session survives");
    for junk in ["not-a-uuid", "00000000-0000-0000-0000-000000000000"] {
        let answer = app.gql_as(Some(&jane.token), revoke, json!({ "id": junk })).await;
        assert_eq!(answer["data"]["revokeSession"]["errors"][0]["code"], "NOT_FOUND", "{junk}");
    }

    let laptops_id = sessions_of(&app.gql_as(Some(&laptop), SESSIONS, json!({})).await)
        .into_iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .clone();
    let answer = app.gql_as(Some(&jane.token), revoke, json!({ "id": laptops_id })).await;
    assert_eq!(answer["data"]["revokeSession"], json!({ "success": true, "errors": [] }));
    assert!(app.me(&laptop).await.is_null(), "the revoked session's token is refused at once");
    assert!(app.me(&jane.token).await.is_object());
    let again = app.gql_as(Some(&jane.token), revoke, json!({ "id": laptops_id })).await;
    assert_eq!(again["data"]["revokeSession"]["errors"][0]["code"], "NOT_FOUND");

    let anonymous = app.gql(revoke, json!({ "id": laptops_id })).await;
    assert_eq!(top_level_code(&anonymous), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_or_with_keep_current_every_other_one() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let (phone, _) = login_as(&app, "jane@example.com", "phone").await;
    let (tablet, _) = login_as(&app, "jane@example.com", "tablet").await;
    let john = app.register("john@example.com").await;

    let keep = "mutation { logoutEverywhere(keepCurrent: true) { revoked errors { code } } }";
    let answer = app.gql_as(Some(&phone), keep, json!({})).await;
    assert_eq!(answer["data"]["logoutEverywhere"], json!({ "revoked": 2, "errors": [] }));
    assert!(app.me(&phone).await.is_object());
    assert!(app.me(&tablet).await.is_null());
    assert!(app.me(&jane.token).await.is_null());

    let all = "mutation { logoutEverywhere(keepCurrent: null) { revoked } }";
    let answer = app.gql_as(Some(&phone), all, json!({})).await;
    assert_eq!(answer["data"]["logoutEverywhere"]["revoked"], 1);
    assert!(app.me(&phone).await.is_null());
    assert!(app.me(&john.token).await.is_object(), "nobody else is logged out");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replayed_one_ends_the_whole_session() {
    let app = spawn().await;
    app.register("jane@example.com").await;
    let (token, first) = login_as(&app, "jane@example.com", "spa").await;
    assert_eq!(first.len(), 48);

    let renewed = refresh(&app, &first).await;
    assert_eq!(renewed["errors"], json!([]), "{renewed}");
    let (second_token, second) =
        (renewed["token"].as_str().unwrap().to_owned(), renewed["refreshToken"].as_str().unwrap().to_owned());
    assert_ne!(second, first);
    assert!(renewed["expiresAt"].is_string());
    assert!(app.me(&second_token).await.is_object());

    // The spent token comes back: whoever holds the copy and the owner both lose the session.
    let replay = refresh(&app, &first).await;
    assert_eq!(
        replay["errors"],
        json!([{ "field": ["refreshToken"], "code": "INVALID_TOKEN",
        "message": "This link is invalid or has expired." }])
    );
    assert!(replay["token"].is_null());
    assert!(app.me(&second_token).await.is_null());
    assert!(app.me(&token).await.is_null());
    assert_eq!(refresh(&app, &second).await["errors"][0]["code"], "INVALID_TOKEN");
}

#[tokio::test]
async fn refresh_needs_no_access_token_refuses_junk_and_dies_with_its_session() {
    let app = spawn().await;
    let registered = app
        .gql(
            "mutation R($input: RegisterInput!) { register(input: $input) { refreshToken errors { code } } }",
            json!({ "input": { "email": "jane@example.com", "firstName": "J", "lastName": "D",
                "password": PASSWORD, "passwordConfirmation": PASSWORD } }),
        )
        .await;
    let from_register = registered["data"]["register"]["refreshToken"].as_str().unwrap().to_owned();
    assert!(refresh(&app, &from_register).await["token"].is_string(), "register hands out one too");

    for junk in ["", "   ", "x", &"y".repeat(10_000)] {
        assert_eq!(refresh(&app, junk).await["errors"][0]["code"], "INVALID_TOKEN");
    }

    let (token, refresh_token) = login_as(&app, "jane@example.com", "spa").await;
    app.gql_as(Some(&token), "mutation { logout { success } }", json!({})).await;
    assert_eq!(refresh(&app, &refresh_token).await["errors"][0]["code"], "INVALID_TOKEN");

    // The original refreshToken mutation keeps working for access-token holders.
    let (token, _) = login_as(&app, "jane@example.com", "spa").await;
    let answer = app.gql_as(Some(&token), "mutation { refreshToken { token expiresAt } }", json!({})).await;
    assert!(answer["data"]["refreshToken"]["token"].is_string(), "{answer}");
}

#[tokio::test]
async fn racing_refreshes_with_one_token_spend_it_once_and_end_the_session() {
    let app = spawn().await;
    app.register("jane@example.com").await;
    let (_, refresh_token) = login_as(&app, "jane@example.com", "spa").await;
    let answers = futures::future::join_all((0..6).map(|_| refresh(&app, &refresh_token))).await;
    let issued: Vec<_> = answers.iter().filter_map(|a| a["token"].as_str()).collect();
    assert!(issued.len() <= 1, "one token spent more than once: {answers:?}");
    for token in issued {
        assert!(app.me(token).await.is_null(), "the race is a replay: the session ends");
    }
}

#[tokio::test]
async fn in_cookie_mode_the_refresh_token_is_an_http_only_strict_cookie_only_graphql_receives() {
    let app = spawn_with(|s| s.auth.refresh_token_cookie = true).await;
    app.register("jane@example.com").await;
    let response = reqwest::Client::new()
        .post(app.url("/graphql"))
        .json(&json!({ "query": LOGIN_WITH_REFRESH,
            "variables": { "email": "jane@example.com", "password": PASSWORD } }))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert!(body["data"]["login"]["refreshToken"].is_null(), "not readable by scripts: {body}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/graphql"] {
        assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_owned();
    assert!(pair.starts_with("refresh_token=") && pair.len() > "refresh_token=".len() + 40);

    let refreshed = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header(reqwest::header::COOKIE, &pair)
        .json(&json!({ "query": REFRESH, "variables": { "refreshToken": "" } }))
        .send()
        .await
        .unwrap();
    let next_cookie = refreshed.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_owned();
    let body: Value = refreshed.json().await.unwrap();
    let payload = &body["data"]["refreshAccessToken"];
    assert_eq!(payload["errors"], json!([]), "{body}");
    assert!(payload["token"].is_string() && payload["refreshToken"].is_null());
    assert_ne!(next_cookie.split(';').next().unwrap(), pair, "the cookie is rotated too");
}

#[tokio::test]
async fn one_me_lists_at_most_the_hundred_newest_sessions_however_many_there_are() {
    use customer_accounts::{auth::session, limits::Origin};
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let origin = Origin::new(std::net::Ipv4Addr::LOCALHOST.into());
    let start = chrono::Utc::now() - chrono::Duration::hours(2);
    for n in 0..105 {
        let at = start + chrono::Duration::seconds(n);
        session::open(
            &app.state.db,
            jane.id.parse().unwrap(),
            &origin,
            at,
            std::time::Duration::from_secs(86_400),
        )
        .await
        .unwrap();
    }
    let sessions = sessions_of(&app.gql_as(Some(&jane.token), SESSIONS, json!({})).await);
    assert_eq!(sessions.len(), 100);
    assert_eq!(sessions[0]["current"], true, "the newest (the registration's) comes first");
}
