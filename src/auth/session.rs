//! Sessions: opened at login, checked on every authenticated call, revoked at logout.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use uuid::Uuid;

use super::secret;
use crate::{
    entity::{customer, session},
    error::{Error, Result},
    limits::Origin,
};

/// How often a session's `last_seen_at` is written at most: often enough for a session list,
/// rare enough that reads do not become writes.
pub const LAST_SEEN_GRANULARITY: chrono::Duration = chrono::Duration::minutes(1);

/// Opens a session for `customer_id` lasting `ttl` from `now`, from the client `origin` names.
pub async fn open<C: ConnectionTrait>(
    conn: &C,
    customer_id: i64,
    origin: &Origin,
    now: DateTime<Utc>,
    ttl: std::time::Duration,
) -> Result<session::Model> {
    let expires_at = now + chrono::Duration::from_std(ttl).map_err(Error::internal)?;
    let session = session::ActiveModel {
        id: Set(Uuid::new_v4()),
        customer_id: Set(customer_id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        token_hash: Set(None),
        last_seen_at: Set(Some(now)),
        user_agent: Set(origin.user_agent.as_deref().map(str::to_owned)),
        ip: Set(Some(network(origin.ip))),
    };
    Ok(session.insert(conn).await?)
}

/// The network an address belongs to, not the address: `203.0.113.0/24`, `2001:db8:1::/48`.
/// Enough to tell "my phone at home" from "someone abroad", without keeping where exactly.
pub fn network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{}/24", Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{}/48", Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
            }
        },
    }
}

/// Records that `session_id` was used at `now`, unless another request already did this minute.
pub async fn touch(db: DatabaseConnection, session_id: Uuid, now: DateTime<Utc>) {
    let stale = Condition::any()
        .add(session::Column::LastSeenAt.is_null())
        .add(session::Column::LastSeenAt.lt(now - LAST_SEEN_GRANULARITY));
    let result = session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .filter(session::Column::Id.eq(session_id))
        .filter(stale)
        .exec(&db)
        .await;
    if let Err(err) = result {
        tracing::warn!(error = %err, "could not record when a session was last used");
    }
}

/// Session `session_id` and its customer, if the session is live and the customer active.
pub async fn live_with_customer<C: ConnectionTrait>(
    conn: &C,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<(customer::Model, session::Model)>> {
    let found = session::Entity::find_by_id(session_id)
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .find_also_related(customer::Entity)
        .filter(customer::Column::Status.eq(customer::STATUS_ACTIVE))
        .one(conn)
        .await?;
    Ok(found.and_then(|(session, customer)| Some((customer?, session))))
}

/// The project of the account session `session_id` belongs to, live or not.
pub async fn project_of<C: ConnectionTrait>(conn: &C, session_id: Uuid) -> Result<Option<i32>> {
    let found = session::Entity::find_by_id(session_id).find_also_related(customer::Entity).one(conn).await?;
    Ok(found.and_then(|(_, customer)| customer).map(|customer| customer.project_id))
}

/// The newest `limit` sessions of `customer_id` that still work, newest first.
pub async fn live<C: ConnectionTrait>(
    conn: &C,
    customer_id: i64,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<session::Model>> {
    Ok(session::Entity::find()
        .filter(session::Column::CustomerId.eq(customer_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .order_by_desc(session::Column::CreatedAt)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Gives a session an opaque token and returns it as `<session id>|<secret>` (40 random
/// characters); only its hash is stored.
pub async fn attach_opaque<C: ConnectionTrait>(conn: &C, session_id: Uuid) -> Result<String> {
    let token = secret::random(30);
    session::Entity::update_many()
        .col_expr(session::Column::TokenHash, Expr::value(secret::digest(&token)))
        .filter(session::Column::Id.eq(session_id))
        .exec(conn)
        .await?;
    Ok(format!("{session_id}|{token}"))
}

/// Ends one session; whether it was live.
pub async fn revoke<C: ConnectionTrait>(conn: &C, session_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    let result = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Ends `customer_id`'s session `session_id`; `false` when it is not theirs or already ended.
pub async fn revoke_own<C: ConnectionTrait>(
    conn: &C,
    customer_id: i64,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let result = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::CustomerId.eq(customer_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Ends every session of `customer_id` except `keep` (all of them when `keep` is `None`); how
/// many were live. Callers ending sessions for the account's safety also give it a
/// [`new_stamp`], so that logins in flight cannot open one after this.
pub async fn revoke_all<C: ConnectionTrait>(
    conn: &C,
    customer_id: i64,
    keep: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut update = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::CustomerId.eq(customer_id))
        .filter(session::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        update = update.filter(session::Column::Id.ne(keep));
    }
    Ok(update.exec(conn).await?.rows_affected)
}

/// A fresh security stamp: random, so a write based on a stale read of the row can never put an
/// old value back.
pub fn new_stamp() -> i64 {
    use rand::RngExt as _;
    rand::rng().random()
}

/// Gives `customer_id` a [`new_stamp`] without otherwise changing the row.
pub async fn restamp<C: ConnectionTrait>(conn: &C, customer_id: i64) -> Result<()> {
    customer::Entity::update_many()
        .col_expr(customer::Column::SecurityStamp, Expr::value(new_stamp()))
        .filter(customer::Column::Id.eq(customer_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Whether `customer` (as read before its password was checked) is still what the database
/// holds: active, with the same security stamp. Holds a share lock on the row until the
/// transaction ends (on SQLite the write transaction holds the whole database), so a concurrent
/// password change either committed before (and this says no) or waits until the session opened
/// here is committed, and then ends it.
pub async fn still_current<C: ConnectionTrait>(conn: &C, customer: &customer::Model) -> Result<bool> {
    use sea_orm::QuerySelect as _;
    let now = customer::Entity::find_by_id(customer.id).lock_shared().one(conn).await?;
    Ok(now.is_some_and(|row| row.is_active() && row.security_stamp == customer.security_stamp))
}
