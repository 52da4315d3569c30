//! Group queries the SDKs make at every login (owned by GROUPS-QUERY).
//!
//! EMPTY UNTIL THE GROUPS ISSUE: no groups exist yet, so a user has joined none, every group
//! id is unknown (and dropped from lookups, as OpenIM drops unknown ids), and the incremental
//! syncs say `full: true` with nothing in them. Argument and permission checks are OpenIM's.

use crate::users::page_window;
use crate::{App, AppError, Caller};
use rill_wire::pb::group as pb;

fn owner(caller: &Caller, user_id: &str, what: &str) -> Result<(), AppError> {
    if user_id.is_empty() {
        return Err(AppError::args(format!("{what} is empty")));
    }
    caller.check_self_or_admin(user_id)
}

impl App {
    /// `/group/get_incremental_join_groups`. Empty until the groups issue.
    pub async fn get_incremental_join_groups(
        &self,
        caller: &Caller,
        req: pb::GetIncrementalJoinGroupReq,
    ) -> Result<pb::GetIncrementalJoinGroupResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        Ok(pb::GetIncrementalJoinGroupResp {
            full: true,
            ..Default::default()
        })
    }

    /// `/group/get_full_join_group_ids`. Empty until the groups issue.
    pub async fn get_full_join_group_ids(
        &self,
        caller: &Caller,
        req: pb::GetFullJoinGroupIDsReq,
    ) -> Result<pb::GetFullJoinGroupIDsResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        Ok(pb::GetFullJoinGroupIDsResp::default())
    }

    /// `/group/get_joined_group_list`. Empty until the groups issue.
    pub async fn get_joined_group_list(
        &self,
        caller: &Caller,
        req: pb::GetJoinedGroupListReq,
    ) -> Result<pb::GetJoinedGroupListResp, AppError> {
        page_window(req.pagination.as_ref())?;
        owner(caller, &req.from_user_id, "fromUserID")?;
        Ok(pb::GetJoinedGroupListResp::default())
    }

    /// `/group/get_groups_info` (any user): an empty id list is 1001; unknown ids are dropped,
    /// and until the groups issue every id is unknown.
    pub async fn get_groups_info(
        &self,
        req: pb::GetGroupsInfoReq,
    ) -> Result<pb::GetGroupsInfoResp, AppError> {
        if req.group_i_ds.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        Ok(pb::GetGroupsInfoResp::default())
    }

    /// `/group/get_incremental_group_members_batch`: one entry per joined group asked about;
    /// the user has joined none until the groups issue, so the map is empty.
    pub async fn get_incremental_group_members_batch(
        &self,
        caller: &Caller,
        req: pb::BatchGetIncrementalGroupMemberReq,
    ) -> Result<pb::BatchGetIncrementalGroupMemberResp, AppError> {
        if !req.user_id.is_empty() {
            caller.check_self_or_admin(&req.user_id)?;
        }
        Ok(pb::BatchGetIncrementalGroupMemberResp::default())
    }

    /// `/group/get_group_application_unhandled_count`. Zero until the groups issue.
    pub async fn get_group_application_unhandled_count(
        &self,
        caller: &Caller,
        req: pb::GetGroupApplicationUnhandledCountReq,
    ) -> Result<pb::GetGroupApplicationUnhandledCountResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        Ok(pb::GetGroupApplicationUnhandledCountResp::default())
    }

    /// `/group/get_recv_group_applicationList` (requests to groups the user manages). Empty
    /// until the groups issue.
    pub async fn get_recv_group_application_list(
        &self,
        caller: &Caller,
        req: pb::GetGroupApplicationListReq,
    ) -> Result<pb::GetGroupApplicationListResp, AppError> {
        page_window(req.pagination.as_ref())?;
        owner(caller, &req.from_user_id, "fromUserID")?;
        Ok(pb::GetGroupApplicationListResp::default())
    }

    /// `/group/get_user_req_group_applicationList` (the user's own requests). Empty until the
    /// groups issue.
    pub async fn get_user_req_group_application_list(
        &self,
        caller: &Caller,
        req: pb::GetUserReqApplicationListReq,
    ) -> Result<pb::GetUserReqApplicationListResp, AppError> {
        page_window(req.pagination.as_ref())?;
        owner(caller, &req.user_id, "userID")?;
        Ok(pb::GetUserReqApplicationListResp::default())
    }
}
