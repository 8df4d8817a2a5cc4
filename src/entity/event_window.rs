//! Events counted per key over a sliding window: failed logins, reset requests, verification mails.

use sea_orm::entity::prelude::*;

/// A row of `event_windows`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_windows")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Which window (`login_failure`, `reset_request` …).
    pub kind: String,
    /// Whose events: a project and address (`1:jane@example.com`), or a customer (`customer:42`).
    pub key: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
