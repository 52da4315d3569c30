//! A group as a command sees it (its row and live members, read from MongoDB), the checks
//! OpenIM's group service makes on it, and committing the rows a command computed.

use super::convert::{group_info_of, owner_of};
use crate::{App, AppError, Caller};
use rill_core::ErrCode;
use rill_core::entity::{Change, EntityEvent, Group, Kind, Member, Rev};
use rill_core::types::role;
use rill_wire::pb::sdkws;
use std::collections::HashSet;

/// OpenIM's `constant.ParamMaxLength`: the most ids one request may list.
pub const PARAM_MAX_LENGTH: usize = 1000;

/// OpenIM's `TakeGroup`/`TakeGroupMember`/`TakeGroupOwner` report a missing row as Mongo's
/// ErrNoDocuments, which its error middleware turns into 1004 RecordNotFound (not 1201/1203:
/// those codes are used only by list lookups and the send path).
pub fn not_found(what: impl Into<String>) -> AppError {
    AppError::coded(ErrCode::RecordNotFound, what)
}

/// True when `ids` lists some id twice.
pub fn has_duplicates(ids: &[String]) -> bool {
    let mut seen = HashSet::new();
    ids.iter().any(|id| !seen.insert(id.as_str()))
}

/// A group's row and its live members.
#[derive(Debug, Clone)]
pub struct GroupState {
    pub group: Group,
    pub members: Vec<Member>,
}

impl GroupState {
    pub fn member(&self, user_id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.user_id == user_id)
    }

    /// The member, or 1004 as OpenIM's `TakeGroupMember`.
    pub fn take_member(&self, user_id: &str) -> Result<&Member, AppError> {
        self.member(user_id).ok_or_else(|| {
            not_found(format!(
                "user {user_id} is not a member of group {}",
                self.group.group_id
            ))
        })
    }

    pub fn owner(&self) -> Option<&Member> {
        owner_of(&self.members)
    }

    /// The owner, or 1004 as OpenIM's `TakeGroupOwner`.
    pub fn take_owner(&self) -> Result<&Member, AppError> {
        self.owner()
            .ok_or_else(|| not_found(format!("group {} has no owner", self.group.group_id)))
    }

    pub fn owner_id(&self) -> String {
        self.owner().map(|m| m.user_id.clone()).unwrap_or_default()
    }

    /// The wire `GroupInfo` (owner and member count from the members).
    pub fn info(&self) -> sdkws::GroupInfo {
        group_info_of(&self.group, &self.members)
    }

    pub fn member_ids(&self) -> Vec<String> {
        self.members.iter().map(|m| m.user_id.clone()).collect()
    }

    /// OpenIM's `CheckGroupAdmin`: an app admin, or the group's owner or an admin of it
    /// (1004 when the caller is no member, 1002 when an ordinary one).
    pub fn check_manager(&self, caller: &Caller) -> Result<(), AppError> {
        if caller.is_admin {
            return Ok(());
        }
        let m = self.take_member(&caller.user_id)?;
        if is_manager(m.role_level) {
            Ok(())
        } else {
            Err(AppError::no_permission("no group owner or admin"))
        }
    }

    /// Replaces or adds `m` (the state after a change, for the notification's tips).
    pub fn put(&mut self, m: Member) {
        match self.members.iter_mut().find(|x| x.user_id == m.user_id) {
            Some(slot) => *slot = m,
            None => self.members.push(m),
        }
    }

    /// Drops these members (the state after a removal).
    pub fn remove(&mut self, user_ids: &[String]) {
        self.members.retain(|m| !user_ids.contains(&m.user_id));
    }
}

/// Owner or group admin.
pub fn is_manager(role_level: i32) -> bool {
    role_level == role::OWNER || role_level == role::ADMIN
}

/// The change that writes `m` with version-log kind `kind`.
pub fn member_change(m: &Member, kind: Kind) -> Change {
    Change::Member {
        group_id: m.group_id.clone(),
        user_id: m.user_id.clone(),
        kind,
        row: Some(m.clone()),
    }
}

/// The change that removes `user_id` from `group_id`.
pub fn member_removal(group_id: &str, user_id: &str) -> Change {
    Change::Member {
        group_id: group_id.to_string(),
        user_id: user_id.to_string(),
        kind: Kind::Delete,
        row: None,
    }
}

/// A fresh member row as OpenIM writes one (`MuteEndTime` = the epoch, i.e. 0).
pub fn new_member(group_id: &str, user_id: &str, role_level: i32, operator: &str) -> Member {
    Member {
        group_id: group_id.to_string(),
        user_id: user_id.to_string(),
        role_level,
        join_time: rill_core::now_ms(),
        operator_user_id: operator.to_string(),
        ..Default::default()
    }
}

impl App {
    /// The group row, or 1004 (OpenIM's `TakeGroup`).
    pub async fn take_group(&self, group_id: &str) -> Result<Group, AppError> {
        rill_store::entities::group(self.store().database(), group_id)
            .await?
            .ok_or_else(|| not_found(format!("group {group_id} not found")))
    }

    /// The group and its live members, or 1004 when there is no such group.
    pub async fn group_state(&self, group_id: &str) -> Result<GroupState, AppError> {
        let group = self.take_group(group_id).await?;
        let members = self.load_members(group_id).await?;
        Ok(GroupState { group, members })
    }

    /// The members only (a group that does not exist has none), for commands OpenIM runs
    /// without looking the group up.
    pub async fn members_state(&self, group_id: &str) -> Result<GroupState, AppError> {
        let group = rill_store::entities::group(self.store().database(), group_id)
            .await?
            .unwrap_or_else(|| Group {
                group_id: group_id.to_string(),
                ..Default::default()
            });
        let members = self.load_members(group_id).await?;
        Ok(GroupState { group, members })
    }

    /// Commits `changes` of one group as one entity event under `sg_<groupID>`.
    pub async fn commit_group(
        &self,
        caller: &Caller,
        group_id: &str,
        changes: Vec<Change>,
    ) -> Result<Rev, AppError> {
        self.commit(
            &rill_core::conversation::group(group_id),
            EntityEvent {
                operator_user_id: caller.user_id.clone(),
                changes,
            },
        )
        .await
    }
}
