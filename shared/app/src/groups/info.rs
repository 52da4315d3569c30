//! The group's own fields: `/group/set_group_info`, `/group/set_group_info_ex`,
//! `/group/dismiss_group`, `/group/mute_group`, `/group/cancel_mute_group` (OpenIM's
//! `SetGroupInfo`, `SetGroupInfoEx`, `DismissGroup`, `MuteGroup`, `CancelMuteGroup`).

use super::notices::kind;
use super::state::{GroupState, member_removal};
use crate::groups::status;
use crate::{App, AppError, Caller};
use rill_core::ErrCode;
use rill_core::entity::{Change, Group, Kind};
use rill_core::types::session;
use rill_wire::pb::protobuf::Int32Value;
use rill_wire::pb::{conversation as conv_pb, group as pb, sdkws};

/// `constant.GroupNotification`: the conversation's groupAtType after a new announcement.
const GROUP_AT_NOTIFICATION: i32 = 4;

/// Which notifications a group-info change sends.
#[derive(Debug, Default)]
struct Flags {
    /// Any field other than the name and the notification.
    normal: bool,
    name: bool,
    /// The notification text was set; `Some(non-empty)` marks members' conversations.
    notification: Option<String>,
}

fn dismissed() -> AppError {
    AppError::coded(ErrCode::DismissedAlready, "group is dismissed")
}

impl App {
    /// The caller must be an app admin or a manager of the group (1004 when not a member);
    /// the group must exist (1004) and not be dismissed (1204).
    async fn state_for_info_change(
        &self,
        caller: &Caller,
        group_id: &str,
    ) -> Result<GroupState, AppError> {
        let state = self.members_state(group_id).await?;
        state.check_manager(caller)?;
        let state = GroupState {
            group: self.take_group(group_id).await?,
            members: state.members,
        };
        if state.group.status == status::DISMISSED {
            return Err(dismissed());
        }
        state.take_owner()?;
        Ok(state)
    }

    /// `/group/set_group_info`: empty strings and absent wrappers leave a field alone.
    pub async fn set_group_info(
        &self,
        caller: &Caller,
        req: pb::SetGroupInfoReq,
    ) -> Result<pb::SetGroupInfoResp, AppError> {
        let set = req
            .group_info_for_set
            .ok_or_else(|| AppError::args("GroupInfoForSets is empty"))?;
        if set.group_id.is_empty() {
            return Err(AppError::args("GroupID is empty"));
        }
        let state = self.state_for_info_change(caller, &set.group_id).await?;
        let mut g = state.group.clone();
        let mut flags = Flags::default();
        let mut changed = false;
        if !set.group_name.is_empty() {
            g.group_name = set.group_name.clone();
            flags.name = true;
            changed = true;
        }
        if !set.notification.is_empty() {
            g.notification = set.notification.clone();
            g.notification_update_time = rill_core::now_ms();
            g.notification_user_id = caller.user_id.clone();
            flags.notification = Some(set.notification.clone());
            changed = true;
        }
        let mut normal = |apply: bool| {
            flags.normal |= apply;
            changed |= apply;
        };
        if !set.introduction.is_empty() {
            g.introduction = set.introduction.clone();
            normal(true);
        }
        if !set.face_url.is_empty() {
            g.face_url = set.face_url.clone();
            normal(true);
        }
        if let Some(v) = &set.need_verification {
            g.need_verification = v.value;
            normal(true);
        }
        if let Some(v) = &set.look_member_info {
            g.look_member_info = v.value;
            normal(true);
        }
        if let Some(v) = &set.apply_member_friend {
            g.apply_member_friend = v.value;
            normal(true);
        }
        if let Some(v) = &set.ex {
            g.ex = v.value.clone();
            normal(true);
        }
        if !changed {
            return Ok(pb::SetGroupInfoResp::default());
        }
        self.apply_group_info(caller, state, g, flags).await?;
        Ok(pb::SetGroupInfoResp::default())
    }

    /// `/group/set_group_info_ex`: every present wrapper is written, empty values included.
    pub async fn set_group_info_ex(
        &self,
        caller: &Caller,
        req: pb::SetGroupInfoExReq,
    ) -> Result<pb::SetGroupInfoExResp, AppError> {
        let state = self.state_for_info_change(caller, &req.group_id).await?;
        // OpenIM's quirk: a blank groupName makes its update map nil, and the empty map is
        // answered with success before the error is looked at; nothing is written.
        if let Some(name) = &req.group_name
            && name.value.trim().is_empty()
        {
            return Ok(pb::SetGroupInfoExResp::default());
        }
        let mut g = state.group.clone();
        let mut flags = Flags::default();
        if let Some(v) = &req.group_name {
            g.group_name = v.value.clone();
            flags.name = true;
        }
        if let Some(v) = &req.notification {
            g.notification = v.value.trim().to_string();
            g.notification_user_id = caller.user_id.clone();
            g.notification_update_time = rill_core::now_ms();
            flags.notification = Some(g.notification.clone());
        }
        if let Some(v) = &req.introduction {
            g.introduction = v.value.clone();
            flags.normal = true;
        }
        if let Some(v) = &req.face_url {
            g.face_url = v.value.clone();
            flags.normal = true;
        }
        if let Some(v) = &req.need_verification {
            g.need_verification = v.value;
            flags.normal = true;
        }
        if let Some(v) = &req.look_member_info {
            g.look_member_info = v.value;
            flags.normal = true;
        }
        if let Some(v) = &req.apply_member_friend {
            g.apply_member_friend = v.value;
            flags.normal = true;
        }
        if let Some(v) = &req.ex {
            g.ex = v.value.clone();
            flags.normal = true;
        }
        if !flags.normal && !flags.name && flags.notification.is_none() {
            return Ok(pb::SetGroupInfoExResp::default());
        }
        self.apply_group_info(caller, state, g, flags).await?;
        Ok(pb::SetGroupInfoExResp::default())
    }

    /// Commits the new group row and sends what changed: 1519 for the notification (stored
    /// in the chat when non-empty, and the members' conversations get groupAtType 4), 1520
    /// for the name, 1502 for anything else.
    async fn apply_group_info(
        &self,
        caller: &Caller,
        mut state: GroupState,
        group: Group,
        flags: Flags,
    ) -> Result<(), AppError> {
        let group_id = group.group_id.clone();
        self.commit_group(
            caller,
            &group_id,
            vec![Change::Group {
                kind: Kind::Update,
                row: group.clone(),
            }],
        )
        .await?;
        state.group = group;
        let built = async {
            let op_user = self.member_as_user(&state, &caller.user_id, None).await?;
            let version = self.member_version(&group_id).await;
            Ok::<_, AppError>((op_user, version))
        }
        .await;
        let Some((op_user, (version, version_id))) = super::notices::logged("1502", built) else {
            return Ok(());
        };
        let info = state.info();
        if let Some(text) = &flags.notification {
            if !text.is_empty() {
                self.mark_announcement(&state).await;
            }
            let tips = sdkws::GroupInfoSetAnnouncementTips {
                group: Some(info.clone()),
                op_user: Some(op_user.clone()),
                group_member_version: version,
                group_member_version_id: version_id.clone(),
            };
            self.group_notice(
                kind::GROUP_INFO_SET_ANNOUNCEMENT,
                &caller.user_id,
                &group_id,
                &tips,
                &[],
                Some(!text.is_empty()),
            )
            .await;
        }
        if flags.name {
            let tips = sdkws::GroupInfoSetNameTips {
                group: Some(info.clone()),
                op_user: Some(op_user.clone()),
                group_member_version: version,
                group_member_version_id: version_id.clone(),
            };
            self.group_notice(
                kind::GROUP_INFO_SET_NAME,
                &caller.user_id,
                &group_id,
                &tips,
                &[],
                None,
            )
            .await;
        }
        if flags.normal {
            let tips = sdkws::GroupInfoSetTips {
                op_user: Some(op_user),
                mute_time: 0,
                group: Some(info),
                group_member_version: version,
                group_member_version_id: version_id,
            };
            self.group_notice(
                kind::GROUP_INFO_SET,
                &caller.user_id,
                &group_id,
                &tips,
                &[],
                None,
            )
            .await;
        }
        Ok(())
    }

    /// Every member's group conversation gets groupAtType 4 (a new announcement), as OpenIM
    /// does with admin rights; a failure is only logged, as there.
    async fn mark_announcement(&self, state: &GroupState) {
        let members = state.member_ids();
        if members.is_empty() {
            return;
        }
        let admin = Caller {
            user_id: self
                .config()
                .admin_user_ids
                .first()
                .cloned()
                .unwrap_or_default(),
            platform_id: 0,
            is_admin: true,
        };
        let req = conv_pb::SetConversationsReq {
            user_i_ds: members,
            conversation: Some(conv_pb::ConversationReq {
                conversation_id: rill_core::conversation::group(&state.group.group_id),
                conversation_type: session::READ_GROUP,
                group_id: state.group.group_id.clone(),
                group_at_type: Some(Int32Value {
                    value: GROUP_AT_NOTIFICATION,
                }),
                ..Default::default()
            }),
        };
        if let Err(e) = self.set_conversations(&admin, req).await {
            tracing::warn!(error = %e, "marking the group announcement in conversations");
        }
    }

    /// `/group/dismiss_group`: the owner (or an app admin) sets status 2. Without
    /// `deleteMember`, 1511 goes to the members first (1204 if already dismissed); OpenIM's
    /// push worker then removes every member when it sees that notice, so both ways end with
    /// no members. Leavers see the conversation up to the notice.
    pub async fn dismiss_group(
        &self,
        caller: &Caller,
        req: pb::DismissGroupReq,
    ) -> Result<pb::DismissGroupResp, AppError> {
        if req.group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        let state = self.members_state(&req.group_id).await?;
        let owner = state.take_owner()?.clone();
        if !caller.is_admin && owner.user_id != caller.user_id {
            return Err(AppError::no_permission("not group owner"));
        }
        let before = self.take_group(&req.group_id).await?;
        if !req.delete_member && before.status == status::DISMISSED {
            return Err(dismissed());
        }
        let mut after = before.clone();
        after.status = status::DISMISSED;
        let members = state.member_ids();
        let removals: Vec<Change> = members
            .iter()
            .map(|u| member_removal(&req.group_id, u))
            .collect();
        let mut changes = vec![Change::Group {
            kind: Kind::Update,
            row: after,
        }];
        // Status and removals land together, before anyone hears of the dismissal: OpenIM's
        // push worker deletes the members before it pushes 1511, and an SDK that syncs on the
        // notice must find the group gone from its joined list, not half-dismissed.
        let delete_member = req.delete_member;
        changes.extend(removals);
        self.commit_group(caller, &req.group_id, changes).await?;
        let mut seq = None;
        if !delete_member {
            // OpenIM's quirk: the tips show the group as read before the dismissal.
            let notice_state = GroupState {
                group: before,
                members: state.members.clone(),
            };
            let op = if caller.user_id == owner.user_id {
                Some(super::convert::member_info(&owner))
            } else {
                None
            };
            let built = self
                .member_as_user(&notice_state, &caller.user_id, op)
                .await;
            if let Some(op_user) = super::notices::logged("1511", built) {
                let tips = sdkws::GroupDismissedTips {
                    group: Some(notice_state.info()),
                    op_user: Some(op_user),
                    operation_time: 0,
                };
                // The members are gone already: the online copy goes to them by name.
                seq = self
                    .group_notice(
                        kind::GROUP_DISMISSED,
                        &caller.user_id,
                        &req.group_id,
                        &tips,
                        &members,
                        req.send_message,
                    )
                    .await;
            }
        }
        self.members_left(&req.group_id, &members, seq).await?;
        Ok(pb::DismissGroupResp::default())
    }

    /// `/group/mute_group`: status 3 (only managers may then send); 1514.
    pub async fn mute_group(
        &self,
        caller: &Caller,
        req: pb::MuteGroupReq,
    ) -> Result<pb::MuteGroupResp, AppError> {
        self.set_group_status(caller, &req.group_id, status::MUTED, kind::GROUP_MUTED)
            .await?;
        Ok(pb::MuteGroupResp::default())
    }

    /// `/group/cancel_mute_group`: status 0; 1515.
    pub async fn cancel_mute_group(
        &self,
        caller: &Caller,
        req: pb::CancelMuteGroupReq,
    ) -> Result<pb::CancelMuteGroupResp, AppError> {
        self.set_group_status(caller, &req.group_id, status::OK, kind::GROUP_CANCEL_MUTED)
            .await?;
        Ok(pb::CancelMuteGroupResp::default())
    }

    /// OpenIM's `MuteGroup`/`CancelMuteGroup`: a manager check, then the status is written
    /// unconditionally (OpenIM does not look at a dismissed status here either).
    async fn set_group_status(
        &self,
        caller: &Caller,
        group_id: &str,
        new_status: i32,
        content_type: i32,
    ) -> Result<(), AppError> {
        if group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        let members = self.members_state(group_id).await?;
        members.check_manager(caller)?;
        let mut state = GroupState {
            group: self.take_group(group_id).await?,
            members: members.members,
        };
        state.group.status = new_status;
        self.commit_group(
            caller,
            group_id,
            vec![Change::Group {
                kind: Kind::Update,
                row: state.group.clone(),
            }],
        )
        .await?;
        let built = async {
            let op_user = self.member_as_user(&state, &caller.user_id, None).await?;
            let version = self.member_version(group_id).await;
            Ok::<_, AppError>((op_user, version))
        }
        .await;
        let Some((op_user, (version, version_id))) =
            super::notices::logged(&content_type.to_string(), built)
        else {
            return Ok(());
        };
        if new_status == status::MUTED {
            let tips = sdkws::GroupMutedTips {
                group: Some(state.info()),
                op_user: Some(op_user),
                operation_time: 0,
                group_member_version: version,
                group_member_version_id: version_id,
            };
            self.group_notice(content_type, &caller.user_id, group_id, &tips, &[], None)
                .await;
        } else {
            let tips = sdkws::GroupCancelMutedTips {
                group: Some(state.info()),
                op_user: Some(op_user),
                operation_time: 0,
                group_member_version: version,
                group_member_version_id: version_id,
            };
            self.group_notice(content_type, &caller.user_id, group_id, &tips, &[], None)
                .await;
        }
        Ok(())
    }
}
