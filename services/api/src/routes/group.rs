//! `/group/*`: the group queries of login. EMPTY UNTIL THE GROUPS ISSUE (see
//! `rill_app::groups`): well-formed empty answers.

use crate::envelope::{ApiResult, ok};
use crate::extract::{ApiJson, Auth};
use axum::{Router, extract::State, routing::post};
use rill_app::App;
use rill_wire::pb::group as pb;

pub fn router() -> Router<crate::ApiState> {
    Router::new()
        .route(
            "/group/get_incremental_join_groups",
            post(get_incremental_join_groups),
        )
        .route(
            "/group/get_full_join_group_ids",
            post(get_full_join_group_ids),
        )
        .route("/group/get_joined_group_list", post(get_joined_group_list))
        .route("/group/get_groups_info", post(get_groups_info))
        .route(
            "/group/get_incremental_group_members_batch",
            post(get_incremental_group_members_batch),
        )
        .route(
            "/group/get_group_application_unhandled_count",
            post(get_group_application_unhandled_count),
        )
        .route(
            "/group/get_recv_group_applicationList",
            post(get_recv_group_application_list),
        )
        .route(
            "/group/get_user_req_group_applicationList",
            post(get_user_req_group_application_list),
        )
}

async fn get_incremental_join_groups(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetIncrementalJoinGroupReq>,
) -> ApiResult<pb::GetIncrementalJoinGroupResp> {
    ok(app.get_incremental_join_groups(&caller, req).await?)
}

async fn get_full_join_group_ids(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetFullJoinGroupIDsReq>,
) -> ApiResult<pb::GetFullJoinGroupIDsResp> {
    ok(app.get_full_join_group_ids(&caller, req).await?)
}

async fn get_joined_group_list(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetJoinedGroupListReq>,
) -> ApiResult<pb::GetJoinedGroupListResp> {
    ok(app.get_joined_group_list(&caller, req).await?)
}

async fn get_groups_info(
    State(app): State<App>,
    ApiJson(req): ApiJson<pb::GetGroupsInfoReq>,
) -> ApiResult<pb::GetGroupsInfoResp> {
    ok(app.get_groups_info(req).await?)
}

async fn get_incremental_group_members_batch(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::BatchGetIncrementalGroupMemberReq>,
) -> ApiResult<pb::BatchGetIncrementalGroupMemberResp> {
    ok(app
        .get_incremental_group_members_batch(&caller, req)
        .await?)
}

async fn get_group_application_unhandled_count(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetGroupApplicationUnhandledCountReq>,
) -> ApiResult<pb::GetGroupApplicationUnhandledCountResp> {
    ok(app
        .get_group_application_unhandled_count(&caller, req)
        .await?)
}

async fn get_recv_group_application_list(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetGroupApplicationListReq>,
) -> ApiResult<pb::GetGroupApplicationListResp> {
    ok(app.get_recv_group_application_list(&caller, req).await?)
}

async fn get_user_req_group_application_list(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetUserReqApplicationListReq>,
) -> ApiResult<pb::GetUserReqApplicationListResp> {
    ok(app
        .get_user_req_group_application_list(&caller, req)
        .await?)
}
