//! `/group/create_group` (OpenIM's `CreateGroup`).

use super::notices::kind;
use super::state::{PARAM_MAX_LENGTH, has_duplicates, member_change, new_member};
use crate::{App, AppError, Caller};
use md5::{Digest, Md5};
use rill_core::ErrCode;
use rill_core::entity::{Change, Group, Kind};
use rill_core::types::role;
use rill_wire::pb::{group as pb, sdkws};

/// The only group type OpenIM 3.x creates (`constant.WorkingGroup`).
pub const WORKING_GROUP: i32 = 2;
/// `constant.JoinByInvitation`: how every member of a new group joined.
pub const JOIN_BY_INVITATION: i32 = 2;

/// A candidate group id as OpenIM makes one: the decimal value of the first 8 hex digits of
/// an md5 over something unique (OpenIM hashes operationID, time and a random number).
fn candidate_id() -> String {
    let seed = format!(
        "{},;,{},;,{}",
        uuid::Uuid::new_v4(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
        rand::random::<u64>()
    );
    let sum = Md5::digest(seed.as_bytes());
    u32::from_be_bytes([sum[0], sum[1], sum[2], sum[3]]).to_string()
}

impl App {
    /// OpenIM's `GenGroupID`: a requested id must be free (1202); otherwise up to ten
    /// generated ids are tried.
    async fn group_id_for(&self, requested: &str) -> Result<String, AppError> {
        let db = self.store().database();
        if !requested.is_empty() {
            if rill_store::entities::group(db, requested).await?.is_some() {
                return Err(AppError::coded(
                    ErrCode::GroupIdExisted,
                    format!("group id existed {requested}"),
                ));
            }
            return Ok(requested.to_string());
        }
        for _ in 0..10 {
            let id = candidate_id();
            if rill_store::entities::group(db, &id).await?.is_none() {
                return Ok(id);
            }
        }
        Err(AppError::coded(ErrCode::Data, "group id gen error"))
    }

    /// `/group/create_group`: the owner (100), admins (60) and members (20) join by
    /// invitation of the caller; 1501 GroupCreated goes to the group (and 1519 when the new
    /// group has a notification text).
    pub async fn create_group(
        &self,
        caller: &Caller,
        req: pb::CreateGroupReq,
    ) -> Result<pb::CreateGroupResp, AppError> {
        let info = req
            .group_info
            .ok_or_else(|| AppError::args("groupInfo is empty"))?;
        if info.group_type > 2 || info.group_type < 0 {
            return Err(AppError::args("GroupType is invalid"));
        }
        if req.owner_user_id.is_empty() {
            return Err(AppError::args("ownerUserID is empty"));
        }
        if req.member_user_i_ds.len() > PARAM_MAX_LENGTH {
            return Err(AppError::args(
                "too many MemberUserIDs, need to be less than 1000",
            ));
        }
        // OpenIM answers 1001 here, not 1205 GroupTypeNotSupport.
        if info.group_type != WORKING_GROUP {
            return Err(AppError::args(format!(
                "group type only supports {WORKING_GROUP}"
            )));
        }
        caller.check_self_or_admin(&req.owner_user_id)?;
        let mut user_ids: Vec<String> = req
            .member_user_i_ds
            .iter()
            .chain(&req.admin_user_i_ds)
            .cloned()
            .collect();
        user_ids.push(req.owner_user_id.clone());
        // The caller must exist too, even an app admin who does not join.
        if !user_ids.contains(&caller.user_id) {
            user_ids.push(caller.user_id.clone());
        }
        if has_duplicates(&user_ids) {
            return Err(AppError::args("group member repeated"));
        }
        let users = self.user_briefs(&user_ids).await?;
        if users.len() != user_ids.len() {
            return Err(AppError::coded(ErrCode::UserIdNotFound, "user not found"));
        }
        let group_id = self.group_id_for(&info.group_id).await?;
        let now = rill_core::now_ms();
        // OpenIM copies the request's fields verbatim (status and creatorUserID included).
        let group = Group {
            group_id: group_id.clone(),
            group_name: info.group_name.clone(),
            notification: info.notification.clone(),
            introduction: info.introduction.clone(),
            face_url: info.face_url.clone(),
            create_time: now,
            ex: info.ex.clone(),
            status: info.status,
            creator_user_id: info.creator_user_id.clone(),
            group_type: info.group_type,
            need_verification: info.need_verification,
            look_member_info: info.look_member_info,
            apply_member_friend: info.apply_member_friend,
            notification_update_time: info.notification_update_time,
            notification_user_id: info.notification_user_id.clone(),
        };
        let join = |user_id: &str, role_level: i32| {
            let mut m = new_member(&group_id, user_id, role_level, &caller.user_id);
            m.join_source = JOIN_BY_INVITATION;
            m.inviter_user_id = caller.user_id.clone();
            m.join_time = now;
            m
        };
        let mut members = vec![join(&req.owner_user_id, role::OWNER)];
        members.extend(req.admin_user_i_ds.iter().map(|u| join(u, role::ADMIN)));
        members.extend(req.member_user_i_ds.iter().map(|u| join(u, role::MEMBER)));
        let mut changes = vec![Change::Group {
            kind: Kind::Insert,
            row: group.clone(),
        }];
        changes.extend(members.iter().map(|m| member_change(m, Kind::Insert)));
        self.commit_group(caller, &group_id, changes).await?;
        let member_ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
        self.create_group_conversations(&group_id, &member_ids)
            .await?;

        // OpenIM's quirk: the count includes an app admin who created the group without
        // joining it.
        let group_info = super::convert::group_info(&group, &req.owner_user_id, user_ids.len());
        let state = super::state::GroupState {
            group,
            members: members.clone(),
        };
        let level = |u: &str| users.get(u).map(|b| b.app_manger_level).unwrap_or(0);
        let mut owner_info = super::convert::member_info(&members[0]);
        owner_info.app_manger_level = level(&req.owner_user_id);
        // OpenIM's quirks, kept: memberList stops at the operator (so an owner creating their
        // own group lists only themselves), its entries take the user's nickname but not the
        // face, and groupOwnerUser has neither.
        let mut member_list = Vec::new();
        let mut op_user = None;
        for m in &members {
            let mut info = super::convert::member_info(m);
            info.app_manger_level = level(&m.user_id);
            if let Some(u) = users.get(&m.user_id) {
                info.nickname = u.nickname.clone();
            }
            member_list.push(info.clone());
            if m.user_id == caller.user_id {
                op_user = Some(info);
                break;
            }
        }
        let op_user = self.member_as_user(&state, &caller.user_id, op_user).await;
        if let Some(op_user) = super::notices::logged("1501", op_user) {
            let (version, version_id) = self.member_version(&group_id).await;
            let tips = sdkws::GroupCreatedTips {
                group: Some(group_info.clone()),
                op_user: Some(op_user.clone()),
                member_list,
                operation_time: now,
                group_owner_user: Some(owner_info),
                group_member_version: version,
                group_member_version_id: version_id.clone(),
            };
            self.group_notice(
                kind::GROUP_CREATED,
                &caller.user_id,
                &group_id,
                &tips,
                &[],
                req.send_message,
            )
            .await;
            if !info.notification.is_empty() {
                let tips = sdkws::GroupInfoSetAnnouncementTips {
                    group: Some(group_info.clone()),
                    op_user: Some(op_user),
                    group_member_version: version,
                    group_member_version_id: version_id,
                };
                self.group_notice(
                    kind::GROUP_INFO_SET_ANNOUNCEMENT,
                    &caller.user_id,
                    &group_id,
                    &tips,
                    &[],
                    Some(true),
                )
                .await;
            }
        }
        Ok(pb::CreateGroupResp {
            group_info: Some(group_info),
        })
    }
}
