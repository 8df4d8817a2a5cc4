//! Password checks: one per request, counted per IP and per email, decided by the database.

use super::*;

#[tokio::test]
async fn aliased_current_password_guesses_check_one_password_per_request() {
    let app = spawn_with(|s| s.limits.login_failures_per_email = 100).await;
    let jane = app.register("jane@example.com").await;
    let guesses: String = (0..31)
        .map(|i| format!(r#"g{i}: updateProfile(input: {{ currentPassword: "guess-{i}", newPassword: "new-password-{i}", newPasswordConfirmation: "new-password-{i}" }}) {{ errors {{ code }} }} "#))
        .collect();
    let answer = graphql(&app, Some(&jane.token), &format!("mutation {{ {guesses} }}"), json!({})).await;
    let limited = answer.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["extensions"]["code"] == "RATE_LIMITED")
        .count();
    assert_eq!(limited, 30, "{}", answer.body);
    assert_eq!(
        event_window::Entity::find()
            .filter(event_window::Column::Kind.eq(accounts::windows::Window::LoginFailures.kind()))
            .count(&app.state.db)
            .await
            .unwrap(),
        1,
        "one password was checked"
    );
}

#[tokio::test]
async fn aliased_registrations_create_one_account() {
    let app = spawn().await;
    let aliases: String = (0..5)
        .map(|i| format!(r#"r{i}: register(input: {{ email: "r{i}@example.com", firstName: "R", lastName: "R", password: "{PASSWORD}", passwordConfirmation: "{PASSWORD}" }}) {{ token }} "#))
        .collect();
    graphql(&app, None, &format!("mutation {{ {aliases} }}"), json!({})).await;
    assert_eq!(customer_accounts::entity::customer::Entity::find().count(&app.state.db).await.unwrap(), 1);
}

#[tokio::test]
async fn wrong_current_passwords_lock_the_email_like_failed_logins() {
    let app = spawn_with(|s| s.limits.login_failures_per_email = 3).await;
    let jane = app.register("jane@example.com").await;
    let change = json!({ "input": { "email": "new@example.com", "currentPassword": "wrong-guess" } });
    for _ in 0..3 {
        let answer = graphql(&app, Some(&jane.token), UPDATE_PROFILE, change.clone()).await;
        assert_eq!(answer.body["data"]["updateProfile"]["errors"][0]["code"], "INVALID_CREDENTIALS");
    }
    let locked = graphql(&app, Some(&jane.token), UPDATE_PROFILE, change).await;
    assert_eq!(top_level_code(&locked.body), Some("RATE_LIMITED"), "{}", locked.body);
    let login = graphql(
        &app,
        None,
        crate::helpers::LOGIN,
        json!({ "email": "jane@example.com", "password": PASSWORD }),
    )
    .await;
    assert_eq!(top_level_code(&login.body), Some("RATE_LIMITED"), "the lock is the email's, whichever door");
}

#[tokio::test]
async fn wrong_current_passwords_count_against_the_per_ip_credential_limit() {
    let app = spawn_with(|s| s.limits.credentials_per_window = 2).await;
    let jane = app.register("jane@example.com").await; // the first credential operation
    let change = json!({ "input": { "email": "new@example.com", "currentPassword": "wrong-guess" } });
    assert_eq!(
        graphql(&app, Some(&jane.token), UPDATE_PROFILE, change.clone()).await.body["data"]["updateProfile"]
            ["errors"][0]["code"],
        "INVALID_CREDENTIALS"
    );
    let over = graphql(&app, Some(&jane.token), UPDATE_PROFILE, change).await;
    assert_eq!(top_level_code(&over.body), Some("RATE_LIMITED"));
    let rest = send(
        app.client
            .put(app.url("/api/customer/profile"))
            .bearer_auth(&jane.token)
            .json(&json!({ "current_password": "x", "email": "n@example.com" })),
    )
    .await;
    assert_eq!(rest.status, StatusCode::TOO_MANY_REQUESTS, "REST current_password shares the limit");
}

#[tokio::test]
async fn twenty_simultaneous_wrong_passwords_check_at_most_the_lockout_limit() {
    let app = spawn_with(|s| s.limits.login_failures_per_email = 5).await;
    app.register("jane@example.com").await;
    let attempts = (0..20).map(|i| {
        let variables = json!({ "email": "jane@example.com", "password": format!("wrong-{i}") });
        app.gql(crate::helpers::LOGIN, variables)
    });
    let answers = futures::future::join_all(attempts).await;
    let checked =
        answers.iter().filter(|a| a["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS").count();
    let locked = answers.iter().filter(|a| top_level_code(a) == Some("RATE_LIMITED")).count();
    assert_eq!((checked, locked), (5, 15));
}
