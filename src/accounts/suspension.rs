//! Suspending an account, the shop's decision (from the command line): every session ends at
//! once, on every replica, and the account cannot log in until it is reactivated.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

use super::{Work, events::Event, validate::Email};
use crate::{
    auth::{cache::Change, session},
    entity::customer,
    error::Result,
    state::AppState,
};

/// Suspends (`suspended`) or reactivates the account of `email` in `project_id`; `false` when
/// there is no such account (a deleted one counts as none).
pub async fn set_suspended(state: &AppState, project_id: i32, email: &str, suspended: bool) -> Result<bool> {
    let now = Utc::now();
    let mut work = Work::begin(state).await?;
    let Some(found) = customer::Entity::find()
        .filter(customer::Column::ProjectId.eq(project_id))
        .filter(customer::Column::EmailNormalized.eq(Email::normalize(email)))
        .filter(customer::Column::Status.ne(customer::STATUS_DELETED))
        .one(work.db())
        .await?
    else {
        return Ok(false);
    };
    let (id, project, was) = (found.id, found.project_id, found.status);
    let mut row = found.into_active_model();
    row.status = Set(if suspended { customer::STATUS_SUSPENDED } else { customer::STATUS_ACTIVE });
    row.security_stamp = Set(session::new_stamp());
    row.updated_at = Set(now);
    row.update(work.db()).await?;
    if suspended {
        session::revoke_all(work.db(), id, None, now).await?;
    }
    work.affects(Change::Customer(id));
    match (suspended, was == customer::STATUS_SUSPENDED) {
        (true, false) => work.publish(project, id, Event::CustomerSuspended),
        (false, true) => work.publish(project, id, Event::CustomerReactivated),
        // Suspending a suspended account (or reactivating an active one) changes nothing.
        _ => {}
    }
    work.finish().await?;
    tracing::info!(customer_id = id, suspended, "account status changed");
    Ok(true)
}
