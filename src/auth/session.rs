//! Sessions: opened at login, checked on every authenticated call, revoked at logout.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, RelationTrait, Set, sea_query::Expr,
};
use uuid::Uuid;

use super::{TokenIssuer, secret};
use crate::{
    entity::{customer, session},
    error::{Error, Result},
};

/// A caller whose token names a live session of an active customer.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The customer, as loaded with the session check.
    pub customer: customer::Model,
    /// The session the token names.
    pub session_id: Uuid,
}

/// Opens a session for `customer_id` lasting `ttl` from `now`.
pub async fn open<C: ConnectionTrait>(
    conn: &C,
    customer_id: i64,
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
    };
    Ok(session.insert(conn).await?)
}

/// Who `credential` belongs to, if it names a live session of an active customer;
/// `Unauthenticated` otherwise. A credential is a JWT, or an opaque `<session id>|<secret>`
/// token (the cookie guard's value, and the webshop API's Sanctum-style bearer token).
pub async fn authenticate(
    tokens: &TokenIssuer,
    db: &DatabaseConnection,
    credential: &str,
) -> Result<Authenticated> {
    // One query checks the session and loads the customer.
    let live = |session_id: Uuid| {
        customer::Entity::find()
            .join(sea_orm::JoinType::InnerJoin, customer::Relation::Session.def())
            .filter(session::Column::Id.eq(session_id))
            .filter(session::Column::RevokedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(Utc::now()))
            .filter(customer::Column::Status.eq(customer::STATUS_ACTIVE))
    };
    let (session_id, query) = match credential.split_once('|') {
        Some((id, presented)) => {
            let session_id: Uuid = id.parse().map_err(|_| Error::Unauthenticated)?;
            (session_id, live(session_id).filter(session::Column::TokenHash.eq(secret::digest(presented))))
        }
        None => {
            let claims = tokens.verify(credential).ok_or(Error::Unauthenticated)?;
            let customer_id: i64 = claims.sub.parse().map_err(|_| Error::Unauthenticated)?;
            (claims.sid, live(claims.sid).filter(customer::Column::Id.eq(customer_id)))
        }
    };
    let customer = query.one(db).await?.ok_or(Error::Unauthenticated)?;
    Ok(Authenticated { customer, session_id })
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

/// Ends one session.
pub async fn revoke<C: ConnectionTrait>(conn: &C, session_id: Uuid, now: DateTime<Utc>) -> Result<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends every session of `customer_id` except `keep` (all of them when `keep` is `None`).
pub async fn revoke_all<C: ConnectionTrait>(
    conn: &C,
    customer_id: i64,
    keep: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut update = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::CustomerId.eq(customer_id))
        .filter(session::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        update = update.filter(session::Column::Id.ne(keep));
    }
    update.exec(conn).await?;
    Ok(())
}
