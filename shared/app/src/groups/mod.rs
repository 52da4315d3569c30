//! Groups (OpenIM's `/group/*`, `internal/rpc/group`): the commands in one file per concern,
//! the queries in [`queries`], and the helpers they share here.
//!
//! Every change is computed from the current rows and committed as one entity event under
//! the group's conversation id (`sg_<groupID>`), see `crate::entities`.

pub mod convert;
pub mod queries;

use crate::{App, AppError};
use rill_core::ErrCode;
use rill_core::entity::{Group, Member};

/// `Group.status` values (OpenIM's constant.GroupOk / GroupBanChat / GroupStatusDismissed /
/// GroupStatusMuted).
pub mod status {
    pub const OK: i32 = 0;
    pub const BANNED: i32 = 1;
    pub const DISMISSED: i32 = 2;
    pub const MUTED: i32 = 3;
}

impl App {
    /// The group's live row, or 1201 when there is none.
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
