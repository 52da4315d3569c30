//! Roles and member fields: `/group/transfer_group`, `/group/set_group_member_info`
//! (OpenIM's `TransferGroupOwner`, `SetGroupMemberInfo`).

use super::notices::kind;
use super::state::{GroupState, PARAM_MAX_LENGTH, member_change};
use crate::groups::status;
use crate::{App, AppError, Caller};
use rill_core::ErrCode;
use rill_core::entity::Kind;
use rill_core::types::role;
use rill_wire::pb::{group as pb, sdkws};
use std::collections::{BTreeMap, HashSet};

impl App {
    /// `/group/transfer_group`: the owner (or an app admin) makes another member the owner;
    /// the old owner takes the new owner's former role. A muted new owner is unmuted first
    /// (with its 1513). 1507 goes to the group.
    pub async fn transfer_group_owner(
        &self,
        caller: &Caller,
        req: pb::TransferGroupOwnerReq,
    ) -> Result<pb::TransferGroupOwnerResp, AppError> {
        if req.group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        if req.old_owner_user_id.is_empty() {
            return Err(AppError::args("oldOwnerUserID is empty"));
        }
        if req.new_owner_user_id.is_empty() {
            return Err(AppError::args("newOwnerUserID is empty"));
        }
        let state = self.group_state(&req.group_id).await?;
        if state.group.status == status::DISMISSED {
            return Err(AppError::coded(
                ErrCode::DismissedAlready,
                "group is dismissed",
            ));
        }
        if req.old_owner_user_id == req.new_owner_user_id {
            return Err(AppError::args("OldOwnerUserID == NewOwnerUserID"));
        }
        let missing: Vec<&str> = [&req.old_owner_user_id, &req.new_owner_user_id]
            .into_iter()
            .filter(|u| state.member(u).is_none())
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(AppError::args(format!(
                "user not in group {}",
                missing.join(",")
            )));
        }
        let (Some(old_owner), Some(new_owner)) = (
            state.member(&req.old_owner_user_id).cloned(),
            state.member(&req.new_owner_user_id).cloned(),
        ) else {
            return Err(AppError::args("user not in group"));
        };
        let is_old_owner =
            caller.user_id == old_owner.user_id && old_owner.role_level == role::OWNER;
        if !(caller.is_admin || is_old_owner) {
            return Err(AppError::no_permission(
                "no permission transfer group owner",
            ));
        }
        let mut new_owner = new_owner;
        if new_owner.mute_end_time > rill_core::now_ms() {
            self.cancel_mute_group_member(
                caller,
                pb::CancelMuteGroupMemberReq {
                    group_id: req.group_id.clone(),
                    user_id: req.new_owner_user_id.clone(),
                },
            )
            .await?;
            new_owner.mute_end_time = 0;
        }
        let mut old_after = old_owner;
        old_after.role_level = new_owner.role_level;
        let mut new_after = new_owner;
        new_after.role_level = role::OWNER;
        self.commit_group(
            caller,
            &req.group_id,
            vec![
                member_change(&old_after, Kind::Update),
                member_change(&new_after, Kind::Update),
            ],
        )
        .await?;
        let mut state = state;
        state.put(old_after);
        state.put(new_after);
        let built = async {
            let ids = [
                caller.user_id.as_str(),
                req.new_owner_user_id.as_str(),
                req.old_owner_user_id.as_str(),
            ];
            let infos = self.populated(&state, &ids).await?;
            let find = |u: &str| infos.iter().find(|m| m.user_id == u).cloned();
            let op_user = self
                .member_as_user(&state, &caller.user_id, find(&caller.user_id))
                .await?;
            let (version, version_id) = self.member_version(&req.group_id).await;
            // OpenIM leaves the string `oldGroupOwner` empty and fills `oldGroupOwnerInfo`.
            Ok::<_, AppError>(sdkws::GroupOwnerTransferredTips {
                group: Some(state.info()),
                op_user: Some(op_user),
                new_group_owner: find(&req.new_owner_user_id),
                old_group_owner: String::new(),
                operation_time: 0,
                old_group_owner_info: find(&req.old_owner_user_id),
                group_member_version: version,
                group_member_version_id: version_id,
            })
        }
        .await;
        if let Some(tips) = super::notices::logged("1507", built) {
            self.group_notice(
                kind::GROUP_OWNER_TRANSFERRED,
                &caller.user_id,
                &req.group_id,
                &tips,
                &[],
                None,
            )
            .await;
        }
        Ok(pb::TransferGroupOwnerResp::default())
    }

    /// `/group/set_group_member_info`: nickname, faceURL, ex and roleLevel (60/20 only) of
    /// members, with OpenIM's permission rules; 1517/1518 for role changes, 1516 for the
    /// other fields.
    pub async fn set_group_member_info(
        &self,
        caller: &Caller,
        req: pb::SetGroupMemberInfoReq,
    ) -> Result<pb::SetGroupMemberInfoResp, AppError> {
        if req.members.is_empty() {
            return Err(AppError::args("members is empty"));
        }
        if req.members.len() > PARAM_MAX_LENGTH {
            return Err(AppError::args(
                "too many Members, need to be less than 1000",
            ));
        }
        for m in &req.members {
            if let Some(r) = &m.role_level {
                match r.value {
                    role::OWNER => {
                        return Err(AppError::no_permission("cannot set ungroup owner"));
                    }
                    role::ADMIN | role::MEMBER => {}
                    _ => return Err(AppError::args("invalid role level")),
                }
            }
        }
        let mut by_group: BTreeMap<&str, Vec<&pb::SetGroupMemberInfo>> = BTreeMap::new();
        for m in &req.members {
            by_group.entry(&m.group_id).or_default().push(m);
        }
        let mut states = BTreeMap::new();
        for (group_id, members) in &by_group {
            let state = self.members_state(group_id).await?;
            check_member_edit(caller, &state, members)?;
            states.insert(*group_id, state);
        }
        for (group_id, members) in &by_group {
            let Some(state) = states.get_mut(group_id) else {
                continue;
            };
            let mut changes = Vec::new();
            for m in members {
                let Some(row) = state.member(&m.user_id) else {
                    continue;
                };
                let mut row = row.clone();
                if let Some(v) = &m.nickname {
                    row.nickname = v.value.clone();
                }
                if let Some(v) = &m.face_url {
                    row.face_url = v.value.clone();
                }
                if let Some(v) = &m.role_level {
                    row.role_level = v.value;
                }
                if let Some(v) = &m.ex {
                    row.ex = v.value.clone();
                }
                changes.push(member_change(&row, Kind::Update));
                state.put(row);
            }
            if !changes.is_empty() {
                self.commit_group(caller, group_id, changes).await?;
            }
        }
        for m in &req.members {
            let Some(state) = states.get(m.group_id.as_str()) else {
                continue;
            };
            if let Some(r) = &m.role_level {
                let content_type = if r.value == role::ADMIN {
                    kind::GROUP_MEMBER_SET_TO_ADMIN
                } else {
                    kind::GROUP_MEMBER_SET_TO_ORDINARY
                };
                self.member_info_set_notice(caller, state, &m.user_id, content_type, true)
                    .await;
            }
            if m.nickname.is_some() || m.face_url.is_some() || m.ex.is_some() {
                self.member_info_set_notice(
                    caller,
                    state,
                    &m.user_id,
                    kind::GROUP_MEMBER_INFO_SET,
                    false,
                )
                .await;
            }
        }
        Ok(pb::SetGroupMemberInfoResp::default())
    }

    /// 1516/1517/1518 `GroupMemberInfoSetTips`. For 1516 OpenIM looks up only the changed
    /// member, so the operator appears from its own row or profile.
    async fn member_info_set_notice(
        &self,
        caller: &Caller,
        state: &GroupState,
        user_id: &str,
        content_type: i32,
        with_op: bool,
    ) {
        let built = async {
            let ids: Vec<&str> = if with_op {
                vec![caller.user_id.as_str(), user_id]
            } else {
                vec![user_id]
            };
            let infos = self.populated(state, &ids).await?;
            let find = |u: &str| infos.iter().find(|m| m.user_id == u).cloned();
            let op_user = self
                .member_as_user(state, &caller.user_id, find(&caller.user_id))
                .await?;
            let (version, version_id) = self.member_version(&state.group.group_id).await;
            Ok::<_, AppError>(sdkws::GroupMemberInfoSetTips {
                group: Some(state.info()),
                op_user: Some(op_user),
                operation_time: 0,
                changed_user: find(user_id),
                group_member_version: version,
                group_member_version_id: version_id,
                // Rill's member log has no sort element; 0 tells the SDK the order held.
                group_sort_version: 0,
            })
        }
        .await;
        if let Some(tips) = super::notices::logged(&content_type.to_string(), built) {
            self.group_notice(
                content_type,
                &caller.user_id,
                &state.group.group_id,
                &tips,
                &[],
                None,
            )
            .await;
        }
    }
}

/// OpenIM's permission rules for editing members of one group: every listed user (and the
/// caller, unless an app admin outside the group) must be a member; owners edit anyone but
/// may not change their own role; admins edit themselves and ordinary members; ordinary
/// members edit only themselves; nobody raises their own role.
fn check_member_edit(
    caller: &Caller,
    state: &GroupState,
    members: &[&pb::SetGroupMemberInfo],
) -> Result<(), AppError> {
    let mut listed = HashSet::new();
    let mut user_ids: Vec<&str> = Vec::new();
    for m in members {
        if !listed.insert(m.user_id.as_str()) {
            return Err(AppError::args(format!(
                "repeat group {} user {}",
                m.group_id, m.user_id
            )));
        }
        user_ids.push(&m.user_id);
    }
    if !listed.contains(caller.user_id.as_str()) {
        user_ids.push(&caller.user_id);
    }
    let found: Vec<_> = user_ids.iter().filter_map(|u| state.member(u)).collect();
    let op = state.member(&caller.user_id);
    match user_ids.len() - found.len() {
        0 => {}
        1 => {
            if op.is_some() {
                return Err(AppError::args("user not in group"));
            }
            if !caller.is_admin {
                return Err(AppError::no_permission("user not in group"));
            }
            return Ok(());
        }
        _ => return Err(AppError::args("user not in group")),
    }
    if caller.is_admin {
        return Ok(());
    }
    let Some(op) = op else {
        return Err(AppError::args("user not in group"));
    };
    match op.role_level {
        role::OWNER => {}
        role::ADMIN => {
            for m in &found {
                if m.role_level == role::OWNER {
                    return Err(AppError::no_permission("admin can not change group owner"));
                }
                if m.role_level == role::ADMIN && m.user_id != caller.user_id {
                    return Err(AppError::no_permission(
                        "admin can not change other group admin",
                    ));
                }
            }
        }
        role::MEMBER => {
            for m in &found {
                if !(m.role_level == role::MEMBER && m.user_id == caller.user_id) {
                    return Err(AppError::no_permission(
                        "ordinary users can not change other role level",
                    ));
                }
            }
        }
        level => {
            if found.iter().any(|m| m.role_level >= level) {
                return Err(AppError::no_permission("can not change higher role level"));
            }
        }
    }
    if let Some(own) = members.iter().find(|m| m.user_id == caller.user_id)
        && let Some(r) = &own.role_level
    {
        if r.value > op.role_level {
            return Err(AppError::no_permission(
                "can not improve role level by self",
            ));
        }
        if op.role_level == role::OWNER {
            return Err(AppError::args("group owner can not change own role level"));
        }
    }
    Ok(())
}
