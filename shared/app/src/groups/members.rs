//! Members in and out: `/group/invite_user_to_group`, `/group/kick_group`,
//! `/group/quit_group` (OpenIM's `InviteUserToGroup`, `KickGroupMember`, `QuitGroup`).

use super::create::JOIN_BY_INVITATION;
use super::notices::kind;
use super::state::{
    GroupState, PARAM_MAX_LENGTH, has_duplicates, is_manager, member_change, member_removal,
    new_member, not_found,
};
use crate::groups::status;
use crate::{App, AppError, Caller};
use rill_core::ErrCode;
use rill_core::entity::{Change, GroupRequest, Kind};
use rill_core::types::role;
use rill_wire::pb::{group as pb, sdkws};

/// `constant.AllNeedVerification`: invitations by ordinary members need approval.
pub const ALL_NEED_VERIFICATION: i32 = 1;
/// `constant.Directly`: anyone may join without approval.
pub const DIRECTLY: i32 = 2;

/// OpenIM adds invited users in batches of this many, one notification each.
const INVITE_BATCH: usize = 50;

fn dismissed(group_id: &str) -> AppError {
    AppError::coded(
        ErrCode::DismissedAlready,
        format!("group {group_id} is dismissed"),
    )
}

impl App {
    /// `/group/invite_user_to_group`. When the group needs verification for everyone and the
    /// caller is an ordinary member, join requests are made instead (OpenIM's rule).
    pub async fn invite_user_to_group(
        &self,
        caller: &Caller,
        req: pb::InviteUserToGroupReq,
    ) -> Result<pb::InviteUserToGroupResp, AppError> {
        if req.group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        if req.invited_user_i_ds.len() > PARAM_MAX_LENGTH {
            return Err(AppError::args(
                "too many InvitedUserIDs, need to be less than 1000",
            ));
        }
        if req.invited_user_i_ds.is_empty() {
            return Err(AppError::args("user empty"));
        }
        if has_duplicates(&req.invited_user_i_ds) {
            return Err(AppError::args("userID duplicate"));
        }
        let mut state = self.group_state(&req.group_id).await?;
        if state.group.status == status::DISMISSED {
            return Err(dismissed(&req.group_id));
        }
        let users = self.user_briefs(&req.invited_user_i_ds).await?;
        if users.len() != req.invited_user_i_ds.len() {
            return Err(not_found("user not found"));
        }
        let op_role = if caller.is_admin {
            role::OWNER
        } else {
            state.take_member(&caller.user_id)?.role_level
        };
        // OpenIM inserts the rows and a member that already exists fails on the unique
        // index; we refuse before writing anything.
        if let Some(m) = req
            .invited_user_i_ds
            .iter()
            .find(|u| state.member(u).is_some())
        {
            return Err(AppError::args(format!("user {m} is already in the group")));
        }
        if state.group.need_verification == ALL_NEED_VERIFICATION && !is_manager(op_role) {
            return self.invite_by_requests(caller, &state, &req).await;
        }
        for batch in req.invited_user_i_ds.chunks(INVITE_BATCH) {
            let now = rill_core::now_ms();
            let rows: Vec<_> = batch
                .iter()
                .map(|u| {
                    let mut m = new_member(&req.group_id, u, role::MEMBER, &caller.user_id);
                    m.inviter_user_id = caller.user_id.clone();
                    m.join_source = JOIN_BY_INVITATION;
                    m.join_time = now;
                    m
                })
                .collect();
            let changes = rows
                .iter()
                .map(|m| member_change(m, Kind::Insert))
                .collect();
            self.commit_group(caller, &req.group_id, changes).await?;
            for m in rows {
                state.put(m);
            }
            self.members_invited(caller, &state, batch, &caller.user_id, req.send_message)
                .await?;
        }
        Ok(pb::InviteUserToGroupResp::default())
    }

    /// Invitations that need approval become join requests, announced to the group's
    /// managers and the inviter (1503).
    async fn invite_by_requests(
        &self,
        caller: &Caller,
        state: &GroupState,
        req: &pb::InviteUserToGroupReq,
    ) -> Result<pb::InviteUserToGroupResp, AppError> {
        let now = rill_core::now_ms();
        let requests: Vec<GroupRequest> = req
            .invited_user_i_ds
            .iter()
            .map(|u| GroupRequest {
                user_id: u.clone(),
                group_id: req.group_id.clone(),
                join_source: JOIN_BY_INVITATION,
                inviter_user_id: caller.user_id.clone(),
                req_time: now,
                ..Default::default()
            })
            .collect();
        let changes = requests.iter().cloned().map(Change::GroupRequest).collect();
        self.commit_group(caller, &req.group_id, changes).await?;
        for r in &requests {
            // OpenIM's quirk: the applicant in these tips is the inviter (the join request it
            // builds names the inviter in the field JoinGroup uses for the applicant).
            self.join_application_notice(caller, state, r, &caller.user_id, "")
                .await;
        }
        Ok(pb::InviteUserToGroupResp::default())
    }

    /// OpenIM's `GroupApplicationAgreeMemberEnterNotification`: the entrants get the group
    /// conversation, then 1509 MemberInvited names them and the inviter.
    pub(crate) async fn members_invited(
        &self,
        caller: &Caller,
        state: &GroupState,
        entrants: &[String],
        inviter: &str,
        send_message: Option<bool>,
    ) -> Result<(), AppError> {
        self.members_entered(&state.group.group_id, entrants)
            .await?;
        let ids: Vec<&str> = entrants.iter().map(String::as_str).collect();
        let invited = self.populated(state, &ids).await?;
        let op_user = self.member_as_user(state, &caller.user_id, None).await?;
        let inviter_user = if inviter == caller.user_id {
            op_user.clone()
        } else {
            self.member_as_user(state, inviter, None).await?
        };
        let (version, version_id) = self.member_version(&state.group.group_id).await;
        let tips = sdkws::MemberInvitedTips {
            group: Some(state.info()),
            op_user: Some(op_user),
            invited_user_list: invited,
            operation_time: 0,
            group_member_version: version,
            group_member_version_id: version_id,
            inviter_user: Some(inviter_user),
        };
        self.group_notice(
            kind::MEMBER_INVITED,
            &caller.user_id,
            &state.group.group_id,
            &tips,
            &[],
            send_message,
        )
        .await;
        Ok(())
    }

    /// `/group/kick_group`: owners kick anyone but themselves; admins kick ordinary members
    /// only. 1508 goes to the group and the kicked users, who then see the conversation only
    /// up to that notice.
    pub async fn kick_group_member(
        &self,
        caller: &Caller,
        req: pb::KickGroupMemberReq,
    ) -> Result<pb::KickGroupMemberResp, AppError> {
        if req.group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        if req.kicked_user_i_ds.len() > PARAM_MAX_LENGTH {
            return Err(AppError::args(
                "too many KickedUserIDs, need to be less than 1000",
            ));
        }
        let mut state = self.group_state(&req.group_id).await?;
        if req.kicked_user_i_ds.is_empty() {
            return Err(AppError::args("KickedUserIDs empty"));
        }
        if has_duplicates(&req.kicked_user_i_ds) {
            return Err(AppError::args("KickedUserIDs duplicate"));
        }
        if req.kicked_user_i_ds.contains(&caller.user_id) {
            return Err(AppError::args("opUserID in KickedUserIDs"));
        }
        let owner = state.take_owner()?.user_id.clone();
        if req.kicked_user_i_ds.contains(&owner) {
            return Err(AppError::args("ownerUID can not Kick"));
        }
        let op_member = state.member(&caller.user_id).cloned();
        for user_id in &req.kicked_user_i_ds {
            let Some(member) = state.member(user_id) else {
                return Err(AppError::coded(ErrCode::UserIdNotFound, user_id.clone()));
            };
            if caller.is_admin {
                continue;
            }
            let Some(op) = &op_member else {
                return Err(AppError::no_permission("opUserID no in group"));
            };
            match op.role_level {
                role::OWNER => {}
                role::ADMIN if is_manager(member.role_level) => {
                    return Err(AppError::no_permission(
                        "group admins cannot remove the group owner and other admins",
                    ));
                }
                role::ADMIN => {}
                _ => return Err(AppError::no_permission("opUserID no permission")),
            }
        }
        let ids: Vec<&str> = req.kicked_user_i_ds.iter().map(String::as_str).collect();
        let kicked = self.populated(&state, &ids).await?;
        let changes = req
            .kicked_user_i_ds
            .iter()
            .map(|u| member_removal(&req.group_id, u))
            .collect();
        self.commit_group(caller, &req.group_id, changes).await?;
        state.remove(&req.kicked_user_i_ds);
        let tips = async {
            let op_user = self.member_as_user(&state, &caller.user_id, None).await?;
            let (version, version_id) = self.member_version(&req.group_id).await;
            Ok::<_, AppError>(sdkws::MemberKickedTips {
                group: Some(state.info()),
                op_user: Some(op_user),
                kicked_user_list: kicked,
                operation_time: 0,
                group_member_version: version,
                group_member_version_id: version_id,
            })
        }
        .await;
        let mut seq = None;
        if let Some(tips) = super::notices::logged("1508", tips) {
            seq = self
                .group_notice(
                    kind::MEMBER_KICKED,
                    &caller.user_id,
                    &req.group_id,
                    &tips,
                    &req.kicked_user_i_ds,
                    req.send_message,
                )
                .await;
        }
        self.members_left(&req.group_id, &req.kicked_user_i_ds, seq)
            .await?;
        Ok(pb::KickGroupMemberResp::default())
    }

    /// `/group/quit_group`: the user (the caller when empty) leaves; the owner cannot (1002).
    /// 1504 goes to the group and the one who left.
    pub async fn quit_group(
        &self,
        caller: &Caller,
        req: pb::QuitGroupReq,
    ) -> Result<pb::QuitGroupResp, AppError> {
        if req.group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        let user_id = if req.user_id.is_empty() {
            caller.user_id.clone()
        } else {
            caller.check_self_or_admin(&req.user_id)?;
            req.user_id.clone()
        };
        let mut state = self.members_state(&req.group_id).await?;
        let member = state.take_member(&user_id)?.clone();
        if member.role_level == role::OWNER {
            return Err(AppError::no_permission("group owner can't quit"));
        }
        let quit_user = self.member_infos(std::slice::from_ref(&member)).await?;
        self.commit_group(
            caller,
            &req.group_id,
            vec![member_removal(&req.group_id, &user_id)],
        )
        .await?;
        state.remove(std::slice::from_ref(&user_id));
        let (version, version_id) = self.member_version(&req.group_id).await;
        let tips = sdkws::MemberQuitTips {
            group: Some(state.info()),
            quit_user: quit_user.into_iter().next(),
            operation_time: 0,
            group_member_version: version,
            group_member_version_id: version_id,
        };
        let leavers = vec![user_id];
        let seq = self
            .group_notice(
                kind::MEMBER_QUIT,
                &caller.user_id,
                &req.group_id,
                &tips,
                &leavers,
                None,
            )
            .await;
        self.members_left(&req.group_id, &leavers, seq).await?;
        Ok(pb::QuitGroupResp::default())
    }
}
