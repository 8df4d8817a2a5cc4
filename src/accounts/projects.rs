//! Projects (shops) and their storefront API keys.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::Expr,
};

use super::Work;
use crate::{
    auth::secret,
    entity::{project, project_api_key},
    error::{Code, Error, Field, Result},
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

/// Creates an API key for `project_id`; from then on the project requires a key.
pub async fn create_api_key(state: &AppState, project_id: i32, name: &str) -> Result<NewApiKey> {
    let work = Work::begin(state).await?;
    if !project_exists(work.db(), project_id).await? {
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
    .insert(work.db())
    .await?;
    set_key_required(work.db(), project_id, true).await?;
    work.finish().await?;
    let key = format!("{}|{key_secret}", record.id);
    Ok(NewApiKey { record, key })
}

/// Whether `project_id`'s storefront paths require an API key; whether the project exists.
pub async fn require_api_key(state: &AppState, project_id: i32, required: bool) -> Result<bool> {
    let work = Work::begin(state).await?;
    let exists = set_key_required(work.db(), project_id, required).await?;
    work.finish().await?;
    Ok(exists)
}

async fn set_key_required<C: ConnectionTrait>(conn: &C, project_id: i32, required: bool) -> Result<bool> {
    let result = project::Entity::update_many()
        .col_expr(project::Column::RequiresApiKey, Expr::value(required))
        .filter(project::Column::Id.eq(project_id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Every key, newest first.
pub async fn list_api_keys<C: ConnectionTrait>(conn: &C) -> Result<Vec<project_api_key::Model>> {
    Ok(project_api_key::Entity::find().order_by_desc(project_api_key::Column::Id).all(conn).await?)
}

/// Revokes key `id`; whether it was active.
pub async fn revoke_api_key(state: &AppState, id: i32) -> Result<bool> {
    let work = Work::begin(state).await?;
    let result = project_api_key::Entity::update_many()
        .col_expr(project_api_key::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(project_api_key::Column::Id.eq(id))
        .filter(project_api_key::Column::RevokedAt.is_null())
        .exec(work.db())
        .await?;
    work.finish().await?;
    Ok(result.rows_affected == 1)
}

/// Whether `presented` has the shape of a project API key (`<key id>|<secret>`), not of a
/// customer's token (a JWT has no `|`; an opaque session token starts with a UUID).
pub fn looks_like_api_key(presented: &str) -> bool {
    presented.split_once('|').is_some_and(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// The project (shop) a storefront call is for: the project of the active API key `presented`,
/// or without one the default project. A key that is unknown, revoked or malformed is
/// `Unauthenticated`: a storefront that sends a wrong key must hear it rather than be served
/// another shop. Without a key, anonymous operations still ask [`authorize_project`], so a
/// default project that requires a key requires it on GraphQL too.
pub async fn project_of_key(state: &AppState, presented: Option<&str>) -> Result<i32> {
    let Some(presented) = presented.map(str::trim) else { return Ok(super::DEFAULT_PROJECT_ID) };
    let (id, key_secret) = presented.split_once('|').ok_or(Error::Unauthenticated)?;
    let id: i32 = id.parse().map_err(|_| Error::Unauthenticated)?;
    // A key is 43 characters; anything far longer is no key and is not hashed.
    if key_secret.len() > 128 {
        return Err(Error::Unauthenticated);
    }
    let key = project_api_key::Entity::find_by_id(id)
        .filter(project_api_key::Column::KeyHash.eq(secret::digest(key_secret)))
        .filter(project_api_key::Column::RevokedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or(Error::Unauthenticated)?;
    Ok(key.project_id)
}

/// Admits a storefront call to `project_id`. A revoked key is always refused; a project that has
/// had a key requires an active one (revoking the last key does not reopen it): without one the
/// call is `ApiKeyRequired`. A project that never had a key accepts every caller, whatever bearer
/// it sends (the webshop document's own example sends a placeholder), so the default set-up
/// works out of the box. `Invalid` `project_id` when the project does not exist.
pub async fn authorize_project(state: &AppState, project_id: i32, presented: Option<&str>) -> Result<()> {
    let project = project::Entity::find_by_id(project_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| Error::field(Field::ProjectId, Code::Invalid))?;
    let key = match presented {
        Some(presented) => {
            let key_secret = presented.split_once('|').map_or(presented, |(_, key_secret)| key_secret);
            project_api_key::Entity::find()
                .filter(project_api_key::Column::ProjectId.eq(project_id))
                .filter(project_api_key::Column::KeyHash.eq(secret::digest(key_secret)))
                .one(&state.db)
                .await?
        }
        None => None,
    };
    match key {
        Some(key) if key.revoked_at.is_none() => Ok(()),
        Some(_revoked) => Err(Error::Unauthenticated),
        None if presented.is_some() && project.requires_api_key => Err(Error::Unauthenticated),
        None if project.requires_api_key => Err(Error::ApiKeyRequired),
        None => Ok(()),
    }
}

/// The project a storefront call without a customer token is for (registering, logging in,
/// asking for a reset link), on every door: the project of the active key `presented`, or
/// without one the default project, which may require a key (`ApiKeyRequired`). A key that is
/// unknown, revoked or malformed is `Unauthenticated`, never another shop.
pub async fn storefront_project(state: &AppState, presented: Option<&str>) -> Result<i32> {
    if presented.is_some() {
        return project_of_key(state, presented).await;
    }
    authorize_project(state, super::DEFAULT_PROJECT_ID, None).await?;
    Ok(super::DEFAULT_PROJECT_ID)
}
