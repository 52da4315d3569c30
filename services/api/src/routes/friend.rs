//! `/friend/*`: the friend and blacklist queries of login and send. EMPTY UNTIL THE FRIENDS
//! ISSUE (see `rill_app::friends`): well-formed empty answers.

use crate::envelope::{ApiResult, ok};
use crate::extract::{ApiJson, Auth};
use axum::{Router, extract::State, routing::post};
use rill_app::App;
use rill_wire::pb::relation as pb;

pub fn router() -> Router<crate::ApiState> {
    Router::new()
        .route(
            "/friend/get_incremental_friends",
            post(get_incremental_friends),
        )
        .route(
            "/friend/get_incremental_blacks",
            post(get_incremental_blacks),
        )
        .route(
            "/friend/get_full_friend_user_ids",
            post(get_full_friend_user_ids),
        )
        .route("/friend/get_friend_list", post(get_friend_list))
        .route(
            "/friend/get_designated_friends",
            post(get_designated_friends),
        )
        .route("/friend/get_black_list", post(get_black_list))
        .route("/friend/get_specified_blacks", post(get_specified_blacks))
        .route(
            "/friend/get_self_unhandled_apply_count",
            post(get_self_unhandled_apply_count),
        )
        .route("/friend/get_friend_apply_list", post(get_friend_apply_list))
        .route(
            "/friend/get_self_friend_apply_list",
            post(get_self_friend_apply_list),
        )
        .route(
            "/friend/get_designated_friend_apply",
            post(get_designated_friend_apply),
        )
}

async fn get_incremental_friends(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetIncrementalFriendsReq>,
) -> ApiResult<pb::GetIncrementalFriendsResp> {
    ok(app.get_incremental_friends(&caller, req).await?)
}

async fn get_incremental_blacks(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetIncrementalBlacksReq>,
) -> ApiResult<pb::GetIncrementalBlacksResp> {
    ok(app.get_incremental_blacks(&caller, req).await?)
}

async fn get_full_friend_user_ids(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetFullFriendUserIDsReq>,
) -> ApiResult<pb::GetFullFriendUserIDsResp> {
    ok(app.get_full_friend_user_ids(&caller, req).await?)
}

async fn get_friend_list(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetPaginationFriendsReq>,
) -> ApiResult<pb::GetPaginationFriendsResp> {
    ok(app.get_friend_list(&caller, req).await?)
}

async fn get_designated_friends(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetDesignatedFriendsReq>,
) -> ApiResult<pb::GetDesignatedFriendsResp> {
    ok(app.get_designated_friends(&caller, req).await?)
}

async fn get_black_list(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetPaginationBlacksReq>,
) -> ApiResult<pb::GetPaginationBlacksResp> {
    ok(app.get_black_list(&caller, req).await?)
}

async fn get_specified_blacks(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetSpecifiedBlacksReq>,
) -> ApiResult<pb::GetSpecifiedBlacksResp> {
    ok(app.get_specified_blacks(&caller, req).await?)
}

async fn get_self_unhandled_apply_count(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetSelfUnhandledApplyCountReq>,
) -> ApiResult<pb::GetSelfUnhandledApplyCountResp> {
    ok(app.get_self_unhandled_apply_count(&caller, req).await?)
}

async fn get_friend_apply_list(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetPaginationFriendsApplyToReq>,
) -> ApiResult<pb::GetPaginationFriendsApplyToResp> {
    ok(app.get_friend_apply_list(&caller, req).await?)
}

async fn get_self_friend_apply_list(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetPaginationFriendsApplyFromReq>,
) -> ApiResult<pb::GetPaginationFriendsApplyFromResp> {
    ok(app.get_self_friend_apply_list(&caller, req).await?)
}

async fn get_designated_friend_apply(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetDesignatedFriendsApplyReq>,
) -> ApiResult<pb::GetDesignatedFriendsApplyResp> {
    ok(app.get_designated_friend_apply(&caller, req).await?)
}
