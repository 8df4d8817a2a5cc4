//! The one integration-test binary: the real router over HTTP, a fresh database per test.
//! SQLite by default; PostgreSQL when `TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod addresses;
mod deletion;
mod faults;
mod hardening;
mod helpers;
mod hostile;
mod login;
mod mail;
mod migrations;
mod orders;
mod password_policy;
mod profile;
mod queries;
mod rate_limits;
mod register;
mod replicas;
mod rest_bagisto;
mod rest_webshop;
mod schema;
mod session_cache;
mod sessions;
mod shops;
mod smtp;
mod tokens;
mod tools;
mod webhooks;
