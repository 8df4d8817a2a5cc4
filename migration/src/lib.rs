//! Database migrations for customer-accounts, written once for SQLite and PostgreSQL alike.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_core;
mod m20261123_000002_mail;
mod m20261123_000003_legacy;
mod m20261124_000004_project_keys;
mod m20261201_000005_readiness_probe;
mod m20261201_000006_reset_requests;
mod m20261201_000007_session_details;
mod m20261201_000008_address_book;
mod m20261201_000009_account_deletion;
mod m20261201_000010_guest_orders;
mod m20261204_000011_shop_isolation;
mod m20261205_000012_one_queue;
mod m20261206_000013_webhooks;

/// Applies this crate's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_core::Migration),
            Box::new(m20261123_000002_mail::Migration),
            Box::new(m20261123_000003_legacy::Migration),
            Box::new(m20261124_000004_project_keys::Migration),
            Box::new(m20261201_000005_readiness_probe::Migration),
            Box::new(m20261201_000006_reset_requests::Migration),
            Box::new(m20261201_000007_session_details::Migration),
            Box::new(m20261201_000008_address_book::Migration),
            Box::new(m20261201_000009_account_deletion::Migration),
            Box::new(m20261201_000010_guest_orders::Migration),
            Box::new(m20261204_000011_shop_isolation::Migration),
            Box::new(m20261205_000012_one_queue::Migration),
            Box::new(m20261206_000013_webhooks::Migration),
        ]
    }
}
