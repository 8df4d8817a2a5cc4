//! Every way a token can be wrong is refused: `me` answers null and `logout` is UNAUTHENTICATED.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use customer_accounts::{auth::token::AUDIENCE, entity::session};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::{JWT_SECRET, PUBLIC_URL, TestApp, spawn, top_level_code};

async fn session_id(app: &TestApp, customer_id: &str) -> uuid::Uuid {
    session::Entity::find()
        .filter(session::Column::CustomerId.eq(customer_id.parse::<i64>().unwrap()))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

fn sign(claims: &Value, algorithm: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(secret.as_bytes()))
        .unwrap()
}

fn claims(sub: &str, sid: uuid::Uuid) -> Value {
    let now = Utc::now().timestamp();
    json!({ "sub": sub, "sid": sid, "iat": now, "exp": now + 600, "iss": PUBLIC_URL, "aud": AUDIENCE })
}

async fn assert_refused(app: &TestApp, token: &str) {
    assert_eq!(app.me(token).await, Value::Null, "me with {token}");
    let answer = app.gql_as(Some(token), "mutation { logout { success } }", json!({})).await;
    assert_eq!(top_level_code(&answer), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_correctly_forged_token_is_accepted_so_the_refusals_below_mean_something() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let sid = session_id(&app, &jane.id).await;
    let token = sign(&claims(&jane.id, sid), Algorithm::HS256, JWT_SECRET);
    assert_eq!(app.me(&token).await["email"], "jane@example.com");
}

#[tokio::test]
async fn a_token_is_refused_after_logout() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    app.gql_as(Some(&jane.token), "mutation { logout { success } }", json!({})).await;
    assert_refused(&app, &jane.token).await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let sid = session_id(&app, &jane.id).await;
    let mut expired = claims(&jane.id, sid);
    expired["iat"] = json!(Utc::now().timestamp() - 7200);
    expired["exp"] = json!(Utc::now().timestamp() - 3600);
    assert_refused(&app, &sign(&expired, Algorithm::HS256, JWT_SECRET)).await;
}

#[tokio::test]
async fn a_token_whose_session_expired_is_refused() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    session::Entity::update_many()
        .col_expr(session::Column::ExpiresAt, Expr::value(Utc::now() - chrono::Duration::minutes(1)))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_refused(&app, &jane.token).await;
}

#[tokio::test]
async fn a_tampered_token_is_refused() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let john = app.register("john@example.com").await;
    let parts: Vec<&str> = jane.token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!(john.id);
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2]);
    assert_refused(&app, &forged).await;
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let sid = session_id(&app, &jane.id).await;
    let token = sign(&claims(&jane.id, sid), Algorithm::HS256, "another-secret-of-at-least-32-bytes!!");
    assert_refused(&app, &token).await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let sid = session_id(&app, &jane.id).await;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims(&jane.id, sid).to_string());
    assert_refused(&app, &format!("{header}.{body}.")).await;
}

#[tokio::test]
async fn a_token_using_another_algorithm_with_the_right_secret_is_refused() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let sid = session_id(&app, &jane.id).await;
    assert_refused(&app, &sign(&claims(&jane.id, sid), Algorithm::HS512, JWT_SECRET)).await;
}

#[tokio::test]
async fn tokens_missing_a_required_claim_are_refused() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let sid = session_id(&app, &jane.id).await;
    for claim in ["sub", "sid", "iat", "exp", "iss", "aud"] {
        let mut partial = claims(&jane.id, sid);
        partial.as_object_mut().unwrap().remove(claim);
        assert_refused(&app, &sign(&partial, Algorithm::HS256, JWT_SECRET)).await;
    }
}

#[tokio::test]
async fn tokens_for_another_issuer_or_audience_are_refused() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let sid = session_id(&app, &jane.id).await;
    let mut other_issuer = claims(&jane.id, sid);
    other_issuer["iss"] = json!("http://elsewhere.test");
    assert_refused(&app, &sign(&other_issuer, Algorithm::HS256, JWT_SECRET)).await;
    let mut other_audience = claims(&jane.id, sid);
    other_audience["aud"] = json!("another-service");
    assert_refused(&app, &sign(&other_audience, Algorithm::HS256, JWT_SECRET)).await;
}

#[tokio::test]
async fn refresh_token_gives_a_new_token_for_the_same_session() {
    let app = spawn().await;
    let jane = app.register("jane@example.com").await;
    let answer =
        app.gql_as(Some(&jane.token), "mutation { refreshToken { token expiresAt } }", json!({})).await;
    let fresh = answer["data"]["refreshToken"]["token"].as_str().unwrap().to_owned();
    assert_eq!(app.me(&fresh).await["email"], "jane@example.com");
    app.gql_as(Some(&fresh), "mutation { logout { success } }", json!({})).await;
    assert_refused(&app, &jane.token).await;
}
