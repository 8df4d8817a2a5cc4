//! Refresh tokens: opaque, stored hashed, bound to a session and replaced on every use. A token
//! already replaced that comes back was copied: the session it belongs to ends (theft detection,
//! as OAuth 2.0 Security BCP §4.14 describes for public clients).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr,
};
use uuid::Uuid;

use super::secret;
use crate::{entity::refresh_token, error::Result};

/// What presenting a refresh token came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchange {
    /// The token was live and is now spent: the session may have a new one.
    Spent(Uuid),
    /// The token was spent before: someone holds a copy. Its session must end.
    Reused(Uuid),
}

/// A new refresh token for `session_id` (48 random characters); only its hash is stored.
pub async fn issue<C: ConnectionTrait>(conn: &C, session_id: Uuid, now: DateTime<Utc>) -> Result<String> {
    let token = secret::random(36);
    refresh_token::ActiveModel {
        session_id: Set(session_id),
        token_hash: Set(secret::digest(&token)),
        created_at: Set(now),
        rotated_at: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(token)
}

/// A refresh token found by its value, not yet spent by this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    id: i64,
    /// The session it belongs to.
    pub session_id: Uuid,
}

/// The stored refresh token `presented` is, spent or not.
pub async fn find<C: ConnectionTrait>(conn: &C, presented: &str) -> Result<Option<Found>> {
    Ok(refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(secret::digest(presented)))
        .one(conn)
        .await?
        .map(|row| Found { id: row.id, session_id: row.session_id }))
}

/// Spends `found`. The spend is a conditional update, so of two requests racing with one token
/// exactly one spends it and the other is a reuse.
pub async fn spend<C: ConnectionTrait>(conn: &C, found: Found, now: DateTime<Utc>) -> Result<Exchange> {
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(found.id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .exec(conn)
        .await?;
    Ok(if spent.rows_affected == 1 {
        Exchange::Spent(found.session_id)
    } else {
        Exchange::Reused(found.session_id)
    })
}
