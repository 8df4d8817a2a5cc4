//! Customer groups, kept in memory: reference data that every customer answer shows and no
//! request changes, so a read of `me` or `GET /api/customer/get` need not query it each time.

use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

use sea_orm::{DatabaseConnection, EntityTrait};

use super::Group;
use crate::{
    entity::customer_group,
    error::{Error, Result},
};

/// How long the groups are trusted: an operator's change to the table shows within this.
pub const GROUPS_TTL: Duration = Duration::from_secs(60);

/// Every group by id, as last loaded.
#[derive(Default)]
pub struct GroupCache {
    loaded: RwLock<Option<(Instant, HashMap<i32, Group>)>>,
}

impl GroupCache {
    /// The group with `id`: from memory while fresh, else after loading every group (one query;
    /// there are a handful).
    pub async fn get(&self, db: &DatabaseConnection, id: i32) -> Result<Group> {
        if let Some(group) = self.fresh(id) {
            return Ok(group);
        }
        let groups: HashMap<i32, Group> = customer_group::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|row| (row.id, Group::from(row)))
            .collect();
        let found = groups.get(&id).cloned();
        // A poisoned lock only means a writer panicked mid-assignment of a whole value: the data
        // is still one consistent map or none, so it is safe to go on.
        *self.loaded.write().unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some((Instant::now(), groups));
        found.ok_or_else(|| Error::internal(anyhow::anyhow!("customer group {id} is missing")))
    }

    fn fresh(&self, id: i32) -> Option<Group> {
        let loaded = self.loaded.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (at, groups) = loaded.as_ref()?;
        (at.elapsed() < GROUPS_TTL).then(|| groups.get(&id).cloned()).flatten()
    }
}
