//! Muting one member: `/group/mute_group_member`, `/group/cancel_mute_group_member`
//! (OpenIM's `MuteGroupMember`, `CancelMuteGroupMember`).

use super::notices::kind;
use super::state::{GroupState, is_manager, member_change};
use crate::{App, AppError, Caller};
use rill_core::entity::Kind;
use rill_core::types::role;
use rill_wire::pb::{group as pb, sdkws};

/// OpenIM's rule: nobody mutes the owner; only the owner mutes an admin; a manager mutes an
/// ordinary member. App admins may do anything.
fn check_mute(
    caller: &Caller,
    state: &GroupState,
    target_role: i32,
    what: &str,
) -> Result<(), AppError> {
    if caller.is_admin {
        return Ok(());
    }
    let op = state.take_member(&caller.user_id)?;
    let allowed = match target_role {
        role::OWNER => false,
        role::ADMIN => op.role_level == role::OWNER,
        role::MEMBER => is_manager(op.role_level),
        // OpenIM lets other role levels through.
        _ => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::no_permission(format!("{what}: not allowed")))
    }
}

impl App {
    /// `/group/mute_group_member`: the member's muteEndTime becomes now + mutedSeconds; 1512.
    pub async fn mute_group_member(
        &self,
        caller: &Caller,
        req: pb::MuteGroupMemberReq,
    ) -> Result<pb::MuteGroupMemberResp, AppError> {
        if req.group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        if req.muted_seconds == 0 {
            return Err(AppError::args("mutedSeconds is empty"));
        }
        let until = rill_core::now_ms() + i64::from(req.muted_seconds) * 1000;
        self.set_mute(
            caller,
            &req.group_id,
            &req.user_id,
            until,
            Some(req.muted_seconds),
        )
        .await?;
        Ok(pb::MuteGroupMemberResp::default())
    }

    /// `/group/cancel_mute_group_member`: muteEndTime 0; 1513.
    pub async fn cancel_mute_group_member(
        &self,
        caller: &Caller,
        req: pb::CancelMuteGroupMemberReq,
    ) -> Result<pb::CancelMuteGroupMemberResp, AppError> {
        if req.group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        self.set_mute(caller, &req.group_id, &req.user_id, 0, None)
            .await?;
        Ok(pb::CancelMuteGroupMemberResp::default())
    }

    /// Writes the member's mute end and notifies (1512 with `muted_seconds`, else 1513).
    /// OpenIM does not look at the group's status here.
    async fn set_mute(
        &self,
        caller: &Caller,
        group_id: &str,
        user_id: &str,
        mute_end_time: i64,
        muted_seconds: Option<u32>,
    ) -> Result<(), AppError> {
        let mut state = self.members_state(group_id).await?;
        let mut member = state.take_member(user_id)?.clone();
        let what = if muted_seconds.is_some() {
            "mute"
        } else {
            "cancel mute"
        };
        check_mute(caller, &state, member.role_level, what)?;
        member.mute_end_time = mute_end_time;
        self.commit_group(caller, group_id, vec![member_change(&member, Kind::Update)])
            .await?;
        state.put(member);
        let built = async {
            let infos = self
                .populated(&state, &[caller.user_id.as_str(), user_id])
                .await?;
            let find = |u: &str| infos.iter().find(|m| m.user_id == u).cloned();
            let op_user = self
                .member_as_user(&state, &caller.user_id, find(&caller.user_id))
                .await?;
            let (version, version_id) = self.member_version(group_id).await;
            Ok::<_, AppError>((op_user, find(user_id), version, version_id))
        }
        .await;
        let content_type = if muted_seconds.is_some() {
            kind::GROUP_MEMBER_MUTED
        } else {
            kind::GROUP_MEMBER_CANCEL_MUTED
        };
        let Some((op_user, muted_user, version, version_id)) =
            super::notices::logged(&content_type.to_string(), built)
        else {
            return Ok(());
        };
        match muted_seconds {
            Some(seconds) => {
                let tips = sdkws::GroupMemberMutedTips {
                    group: Some(state.info()),
                    op_user: Some(op_user),
                    operation_time: 0,
                    muted_user,
                    muted_seconds: seconds,
                    group_member_version: version,
                    group_member_version_id: version_id,
                };
                self.group_notice(content_type, &caller.user_id, group_id, &tips, &[], None)
                    .await;
            }
            None => {
                let tips = sdkws::GroupMemberCancelMutedTips {
                    group: Some(state.info()),
                    op_user: Some(op_user),
                    operation_time: 0,
                    muted_user,
                    group_member_version: version,
                    group_member_version_id: version_id,
                };
                self.group_notice(content_type, &caller.user_id, group_id, &tips, &[], None)
                    .await;
            }
        }
        Ok(())
    }
}
