//! Links mailed before a change of email or password die with it.

use super::*;

pub(super) const RESET: &str = "mutation($t: String!) { resetPassword(token: $t, password: \"another-password-1\", passwordConfirmation: \"another-password-1\") { token errors { field code } } }";
const VERIFY: &str = "mutation($t: String!) { verifyEmail(token: $t) { errors { field code } } }";

#[tokio::test]
async fn a_reset_link_mailed_to_the_old_address_dies_with_an_email_change() {
    use customer_accounts::auth::one_time::Purpose;
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let reset = issue_link(&app, &jane.id, Purpose::PasswordReset).await;
    let change = json!({ "input": { "email": "jane.new@example.com", "currentPassword": PASSWORD } });
    assert_eq!(
        app.gql_as(Some(&jane.token), UPDATE_PROFILE, change).await["data"]["updateProfile"]["errors"],
        json!([])
    );
    let answer = graphql(&app, None, RESET, json!({ "t": reset })).await;
    assert_eq!(
        error_codes(&answer.body["data"]["resetPassword"]),
        vec![(json!(["token"]), "INVALID_TOKEN".to_owned())]
    );
}

#[tokio::test]
async fn reset_and_verification_links_die_with_a_password_change() {
    use customer_accounts::auth::one_time::Purpose;
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let reset = issue_link(&app, &jane.id, Purpose::PasswordReset).await;
    let verify = issue_link(&app, &jane.id, Purpose::EmailVerification).await;
    let change = json!({ "input": { "currentPassword": PASSWORD, "newPassword": "changed-password-1", "newPasswordConfirmation": "changed-password-1" } });
    assert_eq!(
        app.gql_as(Some(&jane.token), UPDATE_PROFILE, change).await["data"]["updateProfile"]["errors"],
        json!([])
    );
    let answer = graphql(&app, None, RESET, json!({ "t": reset })).await;
    assert_eq!(answer.body["data"]["resetPassword"]["errors"][0]["code"], "INVALID_TOKEN");
    let answer = graphql(&app, None, VERIFY, json!({ "t": verify })).await;
    assert_eq!(answer.body["data"]["verifyEmail"]["errors"][0]["code"], "INVALID_TOKEN");
}

#[tokio::test]
async fn a_successful_reset_voids_every_other_outstanding_link() {
    use customer_accounts::auth::one_time::Purpose;
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let verify = issue_link(&app, &jane.id, Purpose::EmailVerification).await;
    let reset = issue_link(&app, &jane.id, Purpose::PasswordReset).await;
    assert_eq!(
        graphql(&app, None, RESET, json!({ "t": reset })).await.body["data"]["resetPassword"]["errors"],
        json!([])
    );
    let answer = graphql(&app, None, VERIFY, json!({ "t": verify })).await;
    assert_eq!(answer.body["data"]["verifyEmail"]["errors"][0]["code"], "INVALID_TOKEN");
}
