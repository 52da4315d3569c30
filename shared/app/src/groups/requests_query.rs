//! Reads of join requests (OpenIM's `GetGroupApplicationList`, `GetUserReqApplicationList`,
//! `GetGroupUsersReqApplicationList`, `GetSpecifiedUserGroupRequestInfo`,
//! `GetGroupApplicationUnhandledCount`), with OpenIM HEAD's permission checks.
//!
//! Each answer is an `sdkws.GroupRequest`: the request's fields, the applicant's public
//! profile (`userInfo`, null when the user is gone) and the group's `GroupInfo`.

use super::queries::{check_group_admin, distinct, infos_of, owner, page_of};
use crate::{App, AppError, Caller};
use rill_core::ErrCode;
use rill_core::entity::{Group, GroupRequest};
use rill_store::groups as store;
use rill_wire::pb::{group as pb, sdkws};
use std::collections::{HashMap, HashSet};

/// OpenIM's `Db2PbGroupRequest`.
fn request_info(
    r: &GroupRequest,
    user: Option<&sdkws::PublicUserInfo>,
    group: Option<&sdkws::GroupInfo>,
) -> sdkws::GroupRequest {
    sdkws::GroupRequest {
        user_info: user.cloned(),
        group_info: group.cloned(),
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

/// The public profiles of `user_ids` that exist.
async fn public_users(
    app: &App,
    user_ids: &[String],
) -> Result<HashMap<String, sdkws::PublicUserInfo>, AppError> {
    let ids = distinct(user_ids);
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let docs = rill_store::users::find(app.store().database(), &ids).await?;
    Ok(docs
        .into_iter()
        .map(|u| {
            (
                u.user_id.clone(),
                sdkws::PublicUserInfo {
                    user_id: u.user_id,
                    nickname: u.nickname,
                    face_url: u.face_url,
                    ex: u.ex,
                },
            )
        })
        .collect())
}

/// The live groups `group_ids`, or 1201 naming the ones that are missing (OpenIM checks that
/// every group it was asked about, or manages, exists).
async fn all_groups(app: &App, group_ids: &[String]) -> Result<Vec<Group>, AppError> {
    let groups = store::groups(app.store().database(), group_ids).await?;
    if groups.len() != group_ids.len() {
        let found: HashSet<&str> = groups.iter().map(|g| g.group_id.as_str()).collect();
        let missing: Vec<&str> = group_ids
            .iter()
            .map(String::as_str)
            .filter(|id| !found.contains(id))
            .collect();
        return Err(AppError::coded(ErrCode::GroupIdNotFound, missing.join(",")));
    }
    Ok(groups)
}

/// `GroupRequest`s of `requests`, with the applicants' profiles (when `with_users`) and the
/// groups' infos (`groups` must hold every group the requests name, or the info is null).
async fn answer(
    app: &App,
    requests: &[GroupRequest],
    groups: &[Group],
    with_users: bool,
) -> Result<Vec<sdkws::GroupRequest>, AppError> {
    let wanted: HashSet<&str> = requests.iter().map(|r| r.group_id.as_str()).collect();
    let groups: Vec<Group> = groups
        .iter()
        .filter(|g| wanted.contains(g.group_id.as_str()))
        .cloned()
        .collect();
    let infos: HashMap<String, sdkws::GroupInfo> = infos_of(app, &groups)
        .await?
        .into_iter()
        .map(|i| (i.group_id.clone(), i))
        .collect();
    let users = if with_users {
        let ids: Vec<String> = requests.iter().map(|r| r.user_id.clone()).collect();
        public_users(app, &ids).await?
    } else {
        HashMap::new()
    };
    Ok(requests
        .iter()
        .map(|r| request_info(r, users.get(&r.user_id), infos.get(&r.group_id)))
        .collect())
}

impl App {
    /// `/group/get_recv_group_applicationList` (O on `fromUserID`): requests to the groups the
    /// user owns or administers — or to `groupIDs`, each of which the caller must manage —
    /// newest first, optionally only those whose `handleResult` is in `handleResults`.
    pub async fn get_recv_group_application_list(
        &self,
        caller: &Caller,
        req: pb::GetGroupApplicationListReq,
    ) -> Result<pb::GetGroupApplicationListResp, AppError> {
        let page = page_of(req.pagination.as_ref())?;
        owner(caller, &req.from_user_id, "fromUserID")?;
        let db = self.store().database();
        let group_ids = if req.group_i_ds.is_empty() {
            store::managed_group_ids(db, &req.from_user_id).await?
        } else {
            let ids = distinct(&req.group_i_ds);
            for id in &ids {
                check_group_admin(self, caller, id).await?;
            }
            ids
        };
        if group_ids.is_empty() {
            return Ok(pb::GetGroupApplicationListResp::default());
        }
        let (total, requests) =
            store::requests_to_groups(db, &group_ids, &req.handle_results, page).await?;
        let total = u32::try_from(total).unwrap_or(u32::MAX);
        if requests.is_empty() {
            return Ok(pb::GetGroupApplicationListResp {
                total,
                group_requests: Vec::new(),
            });
        }
        let groups = all_groups(self, &group_ids).await?;
        Ok(pb::GetGroupApplicationListResp {
            total,
            group_requests: answer(self, &requests, &groups, true).await?,
        })
    }

    /// `/group/get_user_req_group_applicationList` (O): the user's own requests, newest
    /// first, optionally only to `groupIDs` and with a `handleResult` in `handleResults`. An
    /// unknown user is 1004.
    pub async fn get_user_req_group_application_list(
        &self,
        caller: &Caller,
        req: pb::GetUserReqApplicationListReq,
    ) -> Result<pb::GetUserReqApplicationListResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("UserID is empty"));
        }
        let page = page_of(req.pagination.as_ref())?;
        caller.check_self_or_admin(&req.user_id)?;
        let user = public_users(self, std::slice::from_ref(&req.user_id))
            .await?
            .remove(&req.user_id)
            .ok_or_else(|| AppError::coded(ErrCode::RecordNotFound, "record not found"))?;
        let db = self.store().database();
        let (total, requests) = store::requests_of_user(
            db,
            &req.user_id,
            &distinct(&req.group_i_ds),
            &req.handle_results,
            page,
        )
        .await?;
        let total = u32::try_from(total).unwrap_or(u32::MAX);
        if requests.is_empty() {
            return Ok(pb::GetUserReqApplicationListResp {
                total,
                group_requests: Vec::new(),
            });
        }
        let group_ids: Vec<String> = distinct(
            &requests
                .iter()
                .map(|r| r.group_id.clone())
                .collect::<Vec<_>>(),
        );
        // A request to a group that is gone gets a null groupInfo (OpenIM would crash).
        let groups = store::groups(db, &group_ids).await?;
        let mut out = answer(self, &requests, &groups, false).await?;
        for r in &mut out {
            r.user_info = Some(user.clone());
        }
        Ok(pb::GetUserReqApplicationListResp {
            total,
            group_requests: out,
        })
    }

    /// `/group/get_group_users_req_application_list` (group owner/admin or app admin, as in
    /// OpenIM HEAD): the requests of `userIDs` to `groupID`.
    ///
    /// OpenIM quirk kept: its lookup of the applicants' profiles is inverted (`!ok`), so
    /// `userInfo` is always null here.
    pub async fn get_group_users_req_application_list(
        &self,
        caller: &Caller,
        req: pb::GetGroupUsersReqApplicationListReq,
    ) -> Result<pb::GetGroupUsersReqApplicationListResp, AppError> {
        if req.group_id.is_empty() {
            return Err(AppError::args("GroupID is empty"));
        }
        if req.user_i_ds.is_empty() {
            return Err(AppError::args("UserID is empty"));
        }
        if req.user_i_ds.len() > 1000 {
            return Err(AppError::args(
                "too many UserIDs, need to be less than 1000",
            ));
        }
        check_group_admin(self, caller, &req.group_id).await?;
        let requests = store::requests_of_users(
            self.store().database(),
            &req.group_id,
            &distinct(&req.user_i_ds),
        )
        .await?;
        if requests.is_empty() {
            return Ok(pb::GetGroupUsersReqApplicationListResp::default());
        }
        let groups = all_groups(self, std::slice::from_ref(&req.group_id)).await?;
        Ok(pb::GetGroupUsersReqApplicationListResp {
            total: requests.len() as i64,
            group_requests: answer(self, &requests, &groups, false).await?,
        })
    }

    /// `/group/get_specified_user_group_request_info`: the request of `userID` to `groupID`,
    /// readable by the applicant, the group's owner and admins, and app admins (1002 for
    /// anyone else). Where OpenIM would crash on a missing owner, group or user, the owner
    /// is left out of the check, a gone group is 1201 and a gone user a null `userInfo`.
    pub async fn get_specified_user_group_request_info(
        &self,
        caller: &Caller,
        req: pb::GetSpecifiedUserGroupRequestInfoReq,
    ) -> Result<pb::GetSpecifiedUserGroupRequestInfoResp, AppError> {
        let db = self.store().database();
        if req.user_id != caller.user_id && !caller.is_admin {
            let role = store::member(db, &req.group_id, &caller.user_id)
                .await?
                .map(|m| m.role_level);
            let manages = matches!(
                role,
                Some(rill_core::types::role::OWNER) | Some(rill_core::types::role::ADMIN)
            );
            if !manages {
                return Err(AppError::no_permission("opUser no permission"));
            }
        }
        let requests =
            store::requests_of_users(db, &req.group_id, std::slice::from_ref(&req.user_id)).await?;
        if requests.is_empty() {
            return Ok(pb::GetSpecifiedUserGroupRequestInfoResp::default());
        }
        let groups = all_groups(self, std::slice::from_ref(&req.group_id)).await?;
        Ok(pb::GetSpecifiedUserGroupRequestInfoResp {
            total: u32::try_from(requests.len()).unwrap_or(u32::MAX),
            group_requests: answer(self, &requests, &groups, true).await?,
        })
    }

    /// `/group/get_group_application_unhandled_count` (O): pending requests to the groups the
    /// user owns or administers, only those made after `time` (ms) when it is not 0.
    pub async fn get_group_application_unhandled_count(
        &self,
        caller: &Caller,
        req: pb::GetGroupApplicationUnhandledCountReq,
    ) -> Result<pb::GetGroupApplicationUnhandledCountResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        let db = self.store().database();
        let groups = store::managed_group_ids(db, &req.user_id).await?;
        let count = store::unhandled_count(db, &groups, req.time).await?;
        Ok(pb::GetGroupApplicationUnhandledCountResp {
            count: i64::try_from(count).unwrap_or(i64::MAX),
        })
    }
}
