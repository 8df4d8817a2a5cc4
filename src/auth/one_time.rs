//! Single-use tokens sent by email: 256 random bits, stored only as a SHA-256 hash.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr,
};

use super::secret;
use crate::{entity::one_time_token, error::Result};

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Resets a forgotten password.
    PasswordReset,
    /// Proves the customer reads an address.
    EmailVerification,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
        }
    }
}

/// Issues a token for `email`, replacing (invalidating) every earlier unused one of `purpose`.
pub async fn issue<C: ConnectionTrait>(
    conn: &C,
    customer_id: i64,
    purpose: Purpose,
    email: &str,
    ttl: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<String> {
    one_time_token::Entity::update_many()
        .col_expr(one_time_token::Column::UsedAt, Expr::value(now))
        .filter(one_time_token::Column::CustomerId.eq(customer_id))
        .filter(one_time_token::Column::Purpose.eq(purpose.as_str()))
        .filter(one_time_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    let token = secret::random(32);
    one_time_token::ActiveModel {
        customer_id: Set(customer_id),
        purpose: Set(purpose.as_str().to_owned()),
        token_hash: Set(secret::digest(&token)),
        email: Set(email.to_owned()),
        created_at: Set(now),
        expires_at: Set(now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(token)
}

/// Voids every unused token of `customer_id`, whatever its purpose: a change of email or
/// password makes links mailed before it meaningless.
pub async fn void_all<C: ConnectionTrait>(conn: &C, customer_id: i64, now: DateTime<Utc>) -> Result<()> {
    one_time_token::Entity::update_many()
        .col_expr(one_time_token::Column::UsedAt, Expr::value(now))
        .filter(one_time_token::Column::CustomerId.eq(customer_id))
        .filter(one_time_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// The token, if it is of `purpose`, unused and unexpired, without using it.
pub async fn peek<C: ConnectionTrait>(
    conn: &C,
    purpose: Purpose,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<one_time_token::Model>> {
    Ok(one_time_token::Entity::find()
        .filter(one_time_token::Column::TokenHash.eq(secret::digest(token.trim())))
        .filter(one_time_token::Column::Purpose.eq(purpose.as_str()))
        .filter(one_time_token::Column::UsedAt.is_null())
        .filter(one_time_token::Column::ExpiresAt.gt(now))
        .one(conn)
        .await?)
}

/// Marks `token` used if it is of `purpose`, unused and unexpired; `None` otherwise.
/// The conditional update decides races: of two concurrent uses, one wins.
pub async fn consume<C: ConnectionTrait>(
    conn: &C,
    purpose: Purpose,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<one_time_token::Model>> {
    let Some(found) = peek(conn, purpose, token, now).await? else {
        return Ok(None);
    };
    let claimed = one_time_token::Entity::update_many()
        .col_expr(one_time_token::Column::UsedAt, Expr::value(now))
        .filter(one_time_token::Column::Id.eq(found.id))
        .filter(one_time_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok((claimed.rows_affected == 1).then_some(found))
}
