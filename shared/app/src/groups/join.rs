//! Joining by application: `/group/join_group` and `/group/group_application_response`
//! (OpenIM's `JoinGroup`, `GroupApplicationResponse`).

use super::members::DIRECTLY;
use super::notices::{RECEIVER_ADMIN, RECEIVER_APPLICANT, kind};
use super::state::{GroupState, is_manager, member_change, new_member, not_found};
use crate::groups::status;
use crate::{App, AppError, Caller};
use rill_core::ErrCode;
use rill_core::entity::{Change, GroupRequest, Kind};
use rill_core::types::role;
use rill_wire::pb::{group as pb, sdkws};

/// `constant.GroupResponseAgree` / `GroupResponseRefuse`.
pub const AGREE: i32 = 1;
pub const REFUSE: i32 = -1;

/// OpenIM's `Db2PbGroupRequest` without the group (as its notifications send it).
fn request_info(r: &GroupRequest, user: Option<sdkws::PublicUserInfo>) -> sdkws::GroupRequest {
    sdkws::GroupRequest {
        user_info: user,
        group_info: None,
        handle_result: r.handle_result,
        req_msg: r.req_msg.clone(),
        handle_msg: r.handled_msg.clone(),
        req_time: r.req_time,
        handle_user_id: r.handle_user_id.clone(),
        handle_time: r.handled_time,
        ex: r.ex.clone(),
        join_source: r.join_source,
        inviter_user_id: r.inviter_user_id.clone(),
    }
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl App {
    async fn public_user(&self, user_id: &str) -> Result<sdkws::PublicUserInfo, AppError> {
        let u = self
            .user_briefs(&[user_id.to_string()])
            .await?
            .remove(user_id)
            .ok_or_else(|| {
                AppError::coded(ErrCode::UserIdNotFound, format!("user {user_id} not found"))
            })?;
        // The brief has no `ex`; OpenIM's PublicUserInfo carries it, so read the profile.
        let ex = rill_store::users::find(self.store().database(), &[user_id.to_string()])
            .await?
            .into_iter()
            .next()
            .map(|d| d.ex)
            .unwrap_or_default();
        Ok(sdkws::PublicUserInfo {
            user_id: u.user_id,
            nickname: u.nickname,
            face_url: u.face_url,
            ex,
        })
    }

    /// OpenIM's `JoinGroupApplicationNotification`: 1503 from the caller to each manager of
    /// the group, to `applicant` and to the caller, one at a time. Failures are logged.
    pub(crate) async fn join_application_notice(
        &self,
        caller: &Caller,
        state: &GroupState,
        request: &GroupRequest,
        applicant: &str,
        req_msg: &str,
    ) {
        let built = async {
            let requester = self.public_user(&request.user_id).await?;
            let applicant_info = self.public_user(applicant).await?;
            Ok::<_, AppError>(sdkws::JoinGroupApplicationTips {
                group: Some(state.info()),
                applicant: Some(applicant_info),
                req_msg: req_msg.to_string(),
                uuid: uuid(),
                request: Some(request_info(request, Some(requester))),
            })
        }
        .await;
        let Some(tips) = super::notices::logged("1503", built) else {
            return;
        };
        let mut recipients: Vec<String> = state
            .members
            .iter()
            .filter(|m| is_manager(m.role_level))
            .map(|m| m.user_id.clone())
            .collect();
        recipients.push(applicant.to_string());
        recipients.push(caller.user_id.clone());
        let mut seen = std::collections::HashSet::new();
        recipients.retain(|u| seen.insert(u.clone()));
        for user_id in &recipients {
            self.user_notice(
                kind::JOIN_GROUP_APPLICATION,
                &caller.user_id,
                user_id,
                &tips,
            )
            .await;
        }
    }

    /// `/group/join_group`. OpenIM names the applicant in `inviterUserID` (the SDK sends its
    /// own user id there). A group with needVerification 2 admits directly (1510 MemberEnter);
    /// otherwise a request is made and announced (1503).
    pub async fn join_group(
        &self,
        caller: &Caller,
        req: pb::JoinGroupReq,
    ) -> Result<pb::JoinGroupResp, AppError> {
        if req.group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        if !(1..=4).contains(&req.join_source) {
            return Err(AppError::args("joinSource is invalid"));
        }
        if req.join_source == 2 && req.inviter_user_id.is_empty() {
            return Err(AppError::args("inviterUserID is empty"));
        }
        let applicant = req.inviter_user_id.clone();
        if !self.user_exists(&applicant).await? {
            return Err(not_found("record not found"));
        }
        // OpenIM checks nothing here, so anyone could enrol anyone; we require the applicant
        // to be the caller (what the SDK sends) or an app admin to call.
        caller.check_self_or_admin(&applicant)?;
        let mut state = self.group_state(&req.group_id).await?;
        if state.group.status == status::DISMISSED {
            return Err(AppError::coded(
                ErrCode::DismissedAlready,
                "group is dismissed",
            ));
        }
        if state.member(&applicant).is_some() {
            return Err(AppError::args("already in the group"));
        }
        if state.group.need_verification == DIRECTLY {
            // OpenIM's quirk: a direct join records the applicant as its own inviter and
            // leaves joinSource 0.
            let mut m = new_member(&req.group_id, &applicant, role::MEMBER, &caller.user_id);
            m.inviter_user_id = applicant.clone();
            self.commit_group(caller, &req.group_id, vec![member_change(&m, Kind::Insert)])
                .await?;
            state.put(m);
            self.member_entered(caller, &state, &applicant).await?;
            return Ok(pb::JoinGroupResp::default());
        }
        let request = GroupRequest {
            user_id: applicant.clone(),
            group_id: req.group_id.clone(),
            req_msg: req.req_message.clone(),
            join_source: req.join_source,
            req_time: rill_core::now_ms(),
            ex: req.ex.clone(),
            ..Default::default()
        };
        // A new request replaces the user's earlier one (OpenIM deletes it first).
        self.commit_group(
            caller,
            &req.group_id,
            vec![Change::GroupRequest(request.clone())],
        )
        .await?;
        self.join_application_notice(caller, &state, &request, &applicant, &req.req_message)
            .await;
        Ok(pb::JoinGroupResp::default())
    }

    /// OpenIM's `MemberEnterNotification`: the entrant gets the group conversation, then
    /// 1510 names them.
    async fn member_entered(
        &self,
        caller: &Caller,
        state: &GroupState,
        entrant: &str,
    ) -> Result<(), AppError> {
        let group_id = &state.group.group_id;
        self.members_entered(group_id, &[entrant.to_string()])
            .await?;
        let entrant_user = self
            .populated(state, &[entrant])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                AppError::coded(
                    ErrCode::ServerInternal,
                    format!("group {group_id} member {entrant} not found"),
                )
            })?;
        let (version, version_id) = self.member_version(group_id).await;
        let tips = sdkws::MemberEnterTips {
            group: Some(state.info()),
            entrant_user: Some(entrant_user),
            operation_time: rill_core::now_ms(),
            group_member_version: version,
            group_member_version_id: version_id,
        };
        self.group_notice(
            kind::MEMBER_ENTER,
            &caller.user_id,
            group_id,
            &tips,
            &[],
            None,
        )
        .await;
        Ok(())
    }

    /// `/group/group_application_response`: a manager (or app admin) accepts (1) or refuses
    /// (-1) a pending request (1206 when already handled). The group's managers and the
    /// applicant get 1505/1506; an accepted applicant enters (1510, or 1509 when invited).
    pub async fn group_application_response(
        &self,
        caller: &Caller,
        req: pb::GroupApplicationResponseReq,
    ) -> Result<pb::GroupApplicationResponseResp, AppError> {
        if req.group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        if req.from_user_id.is_empty() {
            return Err(AppError::args("fromUserID is empty"));
        }
        if req.handle_result != AGREE && req.handle_result != REFUSE {
            return Err(AppError::args("HandleResult unknown"));
        }
        let mut state = self.members_state(&req.group_id).await?;
        if !caller.is_admin {
            state.check_manager(caller)?;
        }
        state.group = self.take_group(&req.group_id).await?;
        let mut request = self
            .group_request(&req.group_id, &req.from_user_id)
            .await?
            .ok_or_else(|| not_found("group request not found"))?;
        if request.handle_result != 0 {
            return Err(AppError::coded(
                ErrCode::GroupRequestHandled,
                "group request already processed",
            ));
        }
        let in_group = state.member(&req.from_user_id).is_some();
        if !self.user_exists(&req.from_user_id).await? {
            return Err(not_found("user not found"));
        }
        // OpenIM writes the answer to a field its readers do not read ("handle_msg") and
        // never records who handled it when; we record all three so lists show them.
        request.handle_result = req.handle_result;
        request.handled_msg = req.handled_msg.clone();
        request.handle_user_id = caller.user_id.clone();
        request.handled_time = rill_core::now_ms();
        let mut changes = vec![Change::GroupRequest(request.clone())];
        let mut entrant = None;
        if !in_group && req.handle_result == AGREE {
            let mut m = new_member(
                &req.group_id,
                &req.from_user_id,
                role::MEMBER,
                &caller.user_id,
            );
            m.join_source = request.join_source;
            m.inviter_user_id = request.inviter_user_id.clone();
            changes.push(member_change(&m, Kind::Insert));
            entrant = Some(m);
        }
        self.commit_group(caller, &req.group_id, changes).await?;
        if let Some(m) = &entrant {
            state.put(m.clone());
        }
        self.application_handled_notice(caller, &state, &request, &req)
            .await;
        if entrant.is_some() {
            if request.inviter_user_id.is_empty() {
                self.member_entered(caller, &state, &req.from_user_id)
                    .await?;
            } else {
                self.members_invited(
                    caller,
                    &state,
                    std::slice::from_ref(&req.from_user_id),
                    &request.inviter_user_id,
                    None,
                )
                .await?;
            }
        }
        Ok(pb::GroupApplicationResponseResp::default())
    }

    /// 1505/1506 from the caller to each manager (receiverAs 1) and the applicant
    /// (receiverAs 0). Failures are logged.
    async fn application_handled_notice(
        &self,
        caller: &Caller,
        state: &GroupState,
        request: &GroupRequest,
        req: &pb::GroupApplicationResponseReq,
    ) {
        let built = async {
            let requester = self.public_user(&request.user_id).await?;
            let op_user = self.member_as_user(state, &caller.user_id, None).await?;
            Ok::<_, AppError>((requester, op_user))
        }
        .await;
        let Some((requester, op_user)) = super::notices::logged("1505/1506", built) else {
            return;
        };
        let request = request_info(request, Some(requester));
        let id = uuid();
        let mut recipients: Vec<(String, i32)> = state
            .members
            .iter()
            .filter(|m| is_manager(m.role_level))
            .map(|m| (m.user_id.clone(), RECEIVER_ADMIN))
            .collect();
        recipients.push((req.from_user_id.clone(), RECEIVER_APPLICANT));
        for (user_id, receiver_as) in &recipients {
            if req.handle_result == AGREE {
                let tips = sdkws::GroupApplicationAcceptedTips {
                    group: Some(state.info()),
                    op_user: Some(op_user.clone()),
                    handle_msg: req.handled_msg.clone(),
                    receiver_as: *receiver_as,
                    uuid: id.clone(),
                    request: Some(request.clone()),
                };
                self.user_notice(
                    kind::GROUP_APPLICATION_ACCEPTED,
                    &caller.user_id,
                    user_id,
                    &tips,
                )
                .await;
            } else {
                let tips = sdkws::GroupApplicationRejectedTips {
                    group: Some(state.info()),
                    op_user: Some(op_user.clone()),
                    handle_msg: req.handled_msg.clone(),
                    receiver_as: *receiver_as,
                    uuid: id.clone(),
                    request: Some(request.clone()),
                };
                self.user_notice(
                    kind::GROUP_APPLICATION_REJECTED,
                    &caller.user_id,
                    user_id,
                    &tips,
                )
                .await;
            }
        }
    }

    /// The request of `user_id` to join `group_id`, if any.
    pub(crate) async fn group_request(
        &self,
        group_id: &str,
        user_id: &str,
    ) -> Result<Option<GroupRequest>, AppError> {
        let found = rill_store::groups::requests_of_users(
            self.store().database(),
            group_id,
            &[user_id.to_string()],
        )
        .await?;
        Ok(found.into_iter().next())
    }
}
