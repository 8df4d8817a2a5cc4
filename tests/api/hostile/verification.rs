//! REQUIRE_EMAIL_VERIFICATION holds on every door, not only at login.

use super::*;

#[tokio::test]
async fn an_unverified_session_may_only_verify_resend_and_log_out() {
    let app = spawn_with(|s| s.auth.require_email_verification = true).await;
    let jane = app.register("jane@example.com").await;
    for query in [
        "{ me { id } }",
        &format!("{{ customer(id: {}) {{ id }} }}", jane.id),
        "mutation { refreshToken { token } }",
    ] {
        let answer = graphql(&app, Some(&jane.token), query, json!({})).await;
        assert_eq!(top_level_code(&answer.body), Some("EMAIL_NOT_VERIFIED"), "{query}: {}", answer.body);
    }
    let update =
        graphql(&app, Some(&jane.token), UPDATE_PROFILE, json!({ "input": { "firstName": "J" } })).await;
    assert_eq!(top_level_code(&update.body), Some("EMAIL_NOT_VERIFIED"));
    let rest = send(app.client.get(app.url("/api/customer/get")).bearer_auth(&jane.token)).await;
    assert_eq!(
        (rest.status, rest.body),
        (StatusCode::FORBIDDEN, json!({ "error": "Please verify your email address before logging in." }))
    );
    let resend = graphql(
        &app,
        Some(&jane.token),
        "mutation { resendVerificationEmail { errors { code } } }",
        json!({}),
    )
    .await;
    assert_eq!(resend.body["data"]["resendVerificationEmail"]["errors"], json!([]));
    let logout = graphql(&app, Some(&jane.token), "mutation { logout { success } }", json!({})).await;
    assert_eq!(logout.body["data"]["logout"]["success"], true);
}

#[tokio::test]
async fn the_webshop_token_of_an_unverified_customer_is_held_to_the_flag_too() {
    let app = spawn_with(|s| s.auth.require_email_verification = true).await;
    let body = json!({ "project_id": 1, "email": "shop@example.com", "password": PASSWORD });
    let created =
        send(app.client.post(app.url("/api/services/webshop/v1/customer/auth/register")).json(&body)).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let token = created.body["token"].as_str().unwrap();
    assert_eq!(
        send(app.client.get(app.url("/api/customer/get")).bearer_auth(token)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        top_level_code(&graphql(&app, Some(token), "{ me { id } }", json!({})).await.body),
        Some("EMAIL_NOT_VERIFIED")
    );
}
