//! `/group/*`: every OpenIM 3.8 group route. Commands are in `rill_app::groups::{create,
//! members, join, roles, info, mute}`, reads in `rill_app::groups::queries` (and its request
//! and sync modules). Handlers are thin: parse → one `App` method → envelope.

use crate::envelope::{ApiResult, ok};
use crate::extract::{ApiJson, Auth};
use axum::{Router, extract::State, routing::post};
use rill_app::App;
use rill_wire::pb::group as pb;

/// A route whose OpenIM response has no fields: success carries no `data`.
macro_rules! command {
    ($name:ident, $method:ident, $req:ty) => {
        async fn $name(
            State(app): State<App>,
            Auth(caller): Auth,
            ApiJson(req): ApiJson<$req>,
        ) -> ApiResult {
            app.$method(&caller, req).await?;
            ok(())
        }
    };
}

/// A route answering with `data`.
macro_rules! query {
    ($name:ident, $method:ident, $req:ty, $resp:ty) => {
        async fn $name(
            State(app): State<App>,
            Auth(caller): Auth,
            ApiJson(req): ApiJson<$req>,
        ) -> ApiResult<$resp> {
            ok(app.$method(&caller, req).await?)
        }
    };
}

pub fn router() -> Router<crate::ApiState> {
    Router::new()
        // Commands.
        .route("/group/create_group", post(create_group))
        .route("/group/set_group_info", post(set_group_info))
        .route("/group/set_group_info_ex", post(set_group_info_ex))
        .route("/group/join_group", post(join_group))
        .route("/group/quit_group", post(quit_group))
        .route(
            "/group/group_application_response",
            post(group_application_response),
        )
        .route("/group/transfer_group", post(transfer_group))
        .route("/group/kick_group", post(kick_group))
        .route("/group/invite_user_to_group", post(invite_user_to_group))
        .route("/group/dismiss_group", post(dismiss_group))
        .route("/group/mute_group_member", post(mute_group_member))
        .route(
            "/group/cancel_mute_group_member",
            post(cancel_mute_group_member),
        )
        .route("/group/mute_group", post(mute_group))
        .route("/group/cancel_mute_group", post(cancel_mute_group))
        .route("/group/set_group_member_info", post(set_group_member_info))
        // Reads.
        .route(
            "/group/get_recv_group_applicationList",
            post(get_recv_group_application_list),
        )
        .route(
            "/group/get_user_req_group_applicationList",
            post(get_user_req_group_application_list),
        )
        .route(
            "/group/get_group_users_req_application_list",
            post(get_group_users_req_application_list),
        )
        .route(
            "/group/get_specified_user_group_request_info",
            post(get_specified_user_group_request_info),
        )
        .route("/group/get_groups_info", post(get_groups_info))
        .route(
            "/group/get_group_members_info",
            post(get_group_members_info),
        )
        .route("/group/get_group_member_list", post(get_group_member_list))
        .route("/group/get_joined_group_list", post(get_joined_group_list))
        .route(
            "/group/get_group_abstract_info",
            post(get_group_abstract_info),
        )
        .route("/group/get_groups", post(get_groups))
        .route(
            "/group/get_group_member_user_id",
            post(get_group_member_user_id),
        )
        .route(
            "/group/get_incremental_join_groups",
            post(get_incremental_join_groups),
        )
        .route(
            "/group/get_incremental_group_members",
            post(get_incremental_group_members),
        )
        .route(
            "/group/get_full_group_member_user_ids",
            post(get_full_group_member_user_ids),
        )
        .route(
            "/group/get_incremental_group_members_batch",
            post(get_incremental_group_members_batch),
        )
        .route(
            "/group/get_full_join_group_ids",
            post(get_full_join_group_ids),
        )
        .route(
            "/group/get_group_application_unhandled_count",
            post(get_group_application_unhandled_count),
        )
}

command!(set_group_info, set_group_info, pb::SetGroupInfoReq);
command!(set_group_info_ex, set_group_info_ex, pb::SetGroupInfoExReq);
command!(join_group, join_group, pb::JoinGroupReq);
command!(quit_group, quit_group, pb::QuitGroupReq);
command!(
    group_application_response,
    group_application_response,
    pb::GroupApplicationResponseReq
);
command!(
    transfer_group,
    transfer_group_owner,
    pb::TransferGroupOwnerReq
);
command!(kick_group, kick_group_member, pb::KickGroupMemberReq);
command!(
    invite_user_to_group,
    invite_user_to_group,
    pb::InviteUserToGroupReq
);
command!(dismiss_group, dismiss_group, pb::DismissGroupReq);
command!(mute_group_member, mute_group_member, pb::MuteGroupMemberReq);
command!(
    cancel_mute_group_member,
    cancel_mute_group_member,
    pb::CancelMuteGroupMemberReq
);
command!(mute_group, mute_group, pb::MuteGroupReq);
command!(cancel_mute_group, cancel_mute_group, pb::CancelMuteGroupReq);
command!(
    set_group_member_info,
    set_group_member_info,
    pb::SetGroupMemberInfoReq
);

/// The one command with a response: the new group's info.
async fn create_group(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::CreateGroupReq>,
) -> ApiResult<pb::CreateGroupResp> {
    ok(app.create_group(&caller, req).await?)
}

query!(
    get_recv_group_application_list,
    get_recv_group_application_list,
    pb::GetGroupApplicationListReq,
    pb::GetGroupApplicationListResp
);
query!(
    get_user_req_group_application_list,
    get_user_req_group_application_list,
    pb::GetUserReqApplicationListReq,
    pb::GetUserReqApplicationListResp
);
query!(
    get_group_users_req_application_list,
    get_group_users_req_application_list,
    pb::GetGroupUsersReqApplicationListReq,
    pb::GetGroupUsersReqApplicationListResp
);
query!(
    get_specified_user_group_request_info,
    get_specified_user_group_request_info,
    pb::GetSpecifiedUserGroupRequestInfoReq,
    pb::GetSpecifiedUserGroupRequestInfoResp
);
query!(
    get_group_members_info,
    get_group_members_info,
    pb::GetGroupMembersInfoReq,
    pb::GetGroupMembersInfoResp
);
query!(
    get_group_member_list,
    get_group_member_list,
    pb::GetGroupMemberListReq,
    pb::GetGroupMemberListResp
);
query!(
    get_joined_group_list,
    get_joined_group_list,
    pb::GetJoinedGroupListReq,
    pb::GetJoinedGroupListResp
);
query!(
    get_group_abstract_info,
    get_group_abstract_info,
    pb::GetGroupAbstractInfoReq,
    pb::GetGroupAbstractInfoResp
);
query!(get_groups, get_groups, pb::GetGroupsReq, pb::GetGroupsResp);
query!(
    get_group_member_user_id,
    get_group_member_user_id,
    pb::GetGroupMemberUserIDsReq,
    pb::GetGroupMemberUserIDsResp
);
query!(
    get_incremental_join_groups,
    get_incremental_join_groups,
    pb::GetIncrementalJoinGroupReq,
    pb::GetIncrementalJoinGroupResp
);
query!(
    get_incremental_group_members,
    get_incremental_group_members,
    pb::GetIncrementalGroupMemberReq,
    pb::GetIncrementalGroupMemberResp
);
query!(
    get_full_group_member_user_ids,
    get_full_group_member_user_ids,
    pb::GetFullGroupMemberUserIDsReq,
    pb::GetFullGroupMemberUserIDsResp
);
query!(
    get_incremental_group_members_batch,
    get_incremental_group_members_batch,
    pb::BatchGetIncrementalGroupMemberReq,
    pb::BatchGetIncrementalGroupMemberResp
);
query!(
    get_full_join_group_ids,
    get_full_join_group_ids,
    pb::GetFullJoinGroupIDsReq,
    pb::GetFullJoinGroupIDsResp
);
query!(
    get_group_application_unhandled_count,
    get_group_application_unhandled_count,
    pb::GetGroupApplicationUnhandledCountReq,
    pb::GetGroupApplicationUnhandledCountResp
);

/// `/group/get_groups_info` reads for any signed-in user.
async fn get_groups_info(
    State(app): State<App>,
    ApiJson(req): ApiJson<pb::GetGroupsInfoReq>,
) -> ApiResult<pb::GetGroupsInfoResp> {
    ok(app.get_groups_info(req).await?)
}
