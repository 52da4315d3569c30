//! Groups (OpenIM's `/group/*`, `internal/rpc/group`): the commands in one file per concern,
//! the queries in [`queries`], and what they share ([`state`], [`notices`], [`convert`]).
//!
//! Every change is computed from the current rows and committed as one entity event under
//! the group's conversation id (`sg_<groupID>`), see `crate::entities`; notifications follow,
//! as in OpenIM, and a failed notification is logged without failing the command.

pub mod convert;
pub mod create;
pub mod info;
pub mod join;
pub mod members;
pub mod mute;
pub mod notices;
pub mod queries;
pub mod requests_query;
pub mod roles;
pub mod state;
pub mod sync;

use crate::{App, AppError};
use rill_core::ErrCode;
use rill_core::entity::{Group, Member};

pub use rill_core::types::group_status as status;

impl App {
    /// The group's live row, or 1201 when there is none (for lookups that answer 1201; the
    /// commands answer 1004 as OpenIM's `TakeGroup` does, see [`App::take_group`]).
    pub async fn load_group_or_1201(&self, group_id: &str) -> Result<Group, AppError> {
        rill_store::entities::group(self.store().database(), group_id)
            .await?
            .ok_or_else(|| {
                AppError::coded(
                    ErrCode::GroupIdNotFound,
                    format!("group {group_id} not found"),
                )
            })
    }

    /// The group's live members.
    pub async fn load_members(&self, group_id: &str) -> Result<Vec<Member>, AppError> {
        Ok(rill_store::entities::members(self.store().database(), group_id).await?)
    }
}
