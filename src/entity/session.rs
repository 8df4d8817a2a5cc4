//! Login sessions: the unit of login and revocation; every token names one.

use sea_orm::entity::prelude::*;

/// A row of `sessions`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: i64,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    /// SHA-256 of the session's opaque token (cookie or `<id>|<secret>` bearer), when it has one.
    pub token_hash: Option<String>,
    /// When a request last used the session, to the minute.
    pub last_seen_at: Option<DateTimeUtc>,
    /// The client's `User-Agent` at login.
    pub user_agent: Option<String>,
    /// The client's network at login: the address cut to /24 (IPv4) or /48 (IPv6).
    pub ip: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::customer::Entity",
        from = "Column::CustomerId",
        to = "super::customer::Column::Id",
        on_delete = "Cascade"
    )]
    Customer,
}

impl Related<super::customer::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Customer.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
