//! Requests an attacker would send, one module per family; each names what it proves. None may
//! crash the service, get a 5xx, or take over a second. Runs on SQLite and PostgreSQL alike.

mod across_shops;
mod authorization;
mod cost;
mod credentials;
mod enumeration;
mod http;
mod input;
mod links;
mod nesting;
mod one_account;
mod verification;

use std::time::{Duration, Instant};

use customer_accounts::{accounts, config::AppEnv, entity::event_window};
use reqwest::{Method, StatusCode, header};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{
    PASSWORD, TestApp, UPDATE_PROFILE, error_codes, issue_link, spawn, spawn_with, top_level_code,
};

/// The longest any hostile request may take.
pub(super) const PROMPT: Duration = Duration::from_secs(1);

/// An answer: status, JSON body (null when not JSON) and how long it took.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: Value,
    pub(super) took: Duration,
}

/// Sends `request`, and holds the answer to the promise every case shares.
pub(super) async fn send(request: reqwest::RequestBuilder) -> Answer {
    timed(async { request.send().await.expect("the service answers") }).await
}

/// Waits for `response`, and holds the answer to the promise every case shares.
pub(super) async fn timed(response: impl Future<Output = reqwest::Response>) -> Answer {
    let started = Instant::now();
    let response = response.await;
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    let took = started.elapsed();
    assert!(!status.is_server_error(), "{status}: {body}");
    assert!(took < PROMPT, "took {took:?}: {body}");
    Answer { status, body, took }
}

pub(super) async fn graphql(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> Answer {
    timed(app.graphql(query).variables(variables).token(token).response()).await
}

pub(super) async fn raw_post(app: &TestApp, path: &str, body: String) -> Answer {
    send(app.client.post(app.url(path)).header(header::CONTENT_TYPE, "application/json").body(body)).await
}

pub(super) async fn still_answers(app: &TestApp) {
    assert_eq!(send(app.client.get(app.url("/health"))).await.status, StatusCode::OK);
}

pub(super) fn nested_list(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

pub(super) fn nested_object(depth: usize) -> String {
    format!("{}1{}", "{a:".repeat(depth), "}".repeat(depth))
}

pub(super) fn assert_too_deep(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(top_level_code(&answer.body), Some("INPUT_TOO_DEEP"), "{}", answer.body);
}
