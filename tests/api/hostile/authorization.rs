//! Authorization: nobody reads another's account, and a revoked shop key stays revoked.

use super::*;

#[tokio::test]
async fn another_customers_id_is_forbidden_on_both_doors() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let john = app.register("john@example.com").await;
    let answer =
        graphql(&app, Some(&jane.token), &format!("{{ customer(id: {}) {{ email }} }}", john.id), json!({}))
            .await;
    assert_eq!(top_level_code(&answer.body), Some("FORBIDDEN"));
    let rest =
        send(app.client.get(app.url(&format!("/api/customers/{}", john.id))).bearer_auth(&jane.token)).await;
    assert_eq!(rest.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn revoking_the_last_project_key_does_not_reopen_the_webshop_path() {
    let app = spawn().await;
    let key = accounts::create_api_key(&app.state, 1, "storefront").await.unwrap();
    accounts::revoke_api_key(&app.state, key.record.id).await.unwrap();
    let body = json!({ "project_id": 1, "email": "w@example.com", "password": PASSWORD });
    let path = app.url("/api/services/webshop/v1/customer/auth/register");
    assert_eq!(send(app.client.post(&path).json(&body)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(app.client.post(&path).bearer_auth(&key.key).json(&body)).await.status,
        StatusCode::UNAUTHORIZED
    );
}
