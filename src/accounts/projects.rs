//! Projects (shops) and their storefront API keys.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::Expr,
};

use crate::{
    auth::secret,
    entity::{project, project_api_key},
    error::{Error, Result},
    state::AppState,
};

/// A new key: its record, and the key itself, shown once.
pub struct NewApiKey {
    /// The stored record (hash only).
    pub record: project_api_key::Model,
    /// `<id>|<secret>`, to give to the storefront.
    pub key: String,
}

/// Whether project `id` exists.
pub async fn project_exists<C: ConnectionTrait>(conn: &C, id: i32) -> Result<bool> {
    Ok(project::Entity::find_by_id(id).one(conn).await?.is_some())
}

/// Creates an API key for `project_id`.
pub async fn create_api_key<C: ConnectionTrait>(conn: &C, project_id: i32, name: &str) -> Result<NewApiKey> {
    if !project_exists(conn, project_id).await? {
        return Err(Error::internal(anyhow::anyhow!("project {project_id} does not exist")));
    }
    let key_secret = secret::random(32);
    let record = project_api_key::ActiveModel {
        project_id: Set(project_id),
        name: Set(name.to_owned()),
        key_hash: Set(secret::digest(&key_secret)),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    let key = format!("{}|{key_secret}", record.id);
    Ok(NewApiKey { record, key })
}

/// Every key, newest first.
pub async fn list_api_keys<C: ConnectionTrait>(conn: &C) -> Result<Vec<project_api_key::Model>> {
    Ok(project_api_key::Entity::find().order_by_desc(project_api_key::Column::Id).all(conn).await?)
}

/// Revokes key `id`; whether it was active.
pub async fn revoke_api_key<C: ConnectionTrait>(conn: &C, id: i32) -> Result<bool> {
    let result = project_api_key::Entity::update_many()
        .col_expr(project_api_key::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(project_api_key::Column::Id.eq(id))
        .filter(project_api_key::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// A project with active keys requires one of them (`Unauthenticated` otherwise); a project
/// without keys accepts every caller, so the default set-up works out of the box.
pub async fn authorize_project(state: &AppState, project_id: i32, presented: Option<&str>) -> Result<()> {
    let keys = project_api_key::Entity::find()
        .filter(project_api_key::Column::ProjectId.eq(project_id))
        .filter(project_api_key::Column::RevokedAt.is_null())
        .all(&state.db)
        .await?;
    if keys.is_empty() {
        return Ok(());
    }
    let presented = presented.ok_or(Error::Unauthenticated)?;
    let presented = presented.split_once('|').map_or(presented, |(_, key_secret)| key_secret);
    let hash = secret::digest(presented);
    if keys.iter().any(|key| key.key_hash == hash) { Ok(()) } else { Err(Error::Unauthenticated) }
}
