//! `/friend/*`: friends, friend applications, blacklists and their sync (see
//! `rill_app::friends`). Commands answer without `data`, as OpenIM does for its empty replies.

use crate::envelope::{ApiResult, ok};
use crate::extract::{ApiJson, Auth};
use axum::{Router, extract::State, routing::post};
use rill_app::App;
use rill_wire::pb::relation as pb;

/// A handler whose reply has no `data`.
macro_rules! command {
    ($name:ident, $req:ty) => {
        async fn $name(
            State(app): State<App>,
            Auth(caller): Auth,
            ApiJson(req): ApiJson<$req>,
        ) -> ApiResult {
            app.$name(&caller, req).await?;
            ok(())
        }
    };
}

/// A handler whose reply is `data`.
macro_rules! query {
    ($name:ident, $req:ty, $resp:ty) => {
        async fn $name(
            State(app): State<App>,
            Auth(caller): Auth,
            ApiJson(req): ApiJson<$req>,
        ) -> ApiResult<$resp> {
            ok(app.$name(&caller, req).await?)
        }
    };
}

pub fn router() -> Router<crate::ApiState> {
    Router::new()
        .route("/friend/add_friend", post(add_friend))
        .route("/friend/add_friend_response", post(add_friend_response))
        .route("/friend/delete_friend", post(delete_friend))
        .route("/friend/set_friend_remark", post(set_friend_remark))
        .route("/friend/update_friends", post(update_friends))
        .route("/friend/import_friend", post(import_friend))
        .route("/friend/add_black", post(add_black))
        .route("/friend/remove_black", post(remove_black))
        .route("/friend/get_friend_apply_list", post(get_friend_apply_list))
        .route(
            "/friend/get_self_friend_apply_list",
            post(get_self_friend_apply_list),
        )
        .route(
            "/friend/get_designated_friend_apply",
            post(get_designated_friend_apply),
        )
        .route(
            "/friend/get_self_unhandled_apply_count",
            post(get_self_unhandled_apply_count),
        )
        .route("/friend/get_friend_list", post(get_friend_list))
        .route(
            "/friend/get_designated_friends",
            post(get_designated_friends),
        )
        .route("/friend/is_friend", post(is_friend))
        .route("/friend/get_friend_id", post(get_friend_id))
        .route(
            "/friend/get_specified_friends_info",
            post(get_specified_friends_info),
        )
        .route("/friend/get_black_list", post(get_black_list))
        .route("/friend/get_specified_blacks", post(get_specified_blacks))
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
}

command!(add_friend, pb::ApplyToAddFriendReq);
command!(add_friend_response, pb::RespondFriendApplyReq);
command!(delete_friend, pb::DeleteFriendReq);
command!(set_friend_remark, pb::SetFriendRemarkReq);
command!(update_friends, pb::UpdateFriendsReq);
command!(import_friend, pb::ImportFriendReq);
command!(add_black, pb::AddBlackReq);
command!(remove_black, pb::RemoveBlackReq);

query!(
    get_friend_apply_list,
    pb::GetPaginationFriendsApplyToReq,
    pb::GetPaginationFriendsApplyToResp
);
query!(
    get_self_friend_apply_list,
    pb::GetPaginationFriendsApplyFromReq,
    pb::GetPaginationFriendsApplyFromResp
);
query!(
    get_designated_friend_apply,
    pb::GetDesignatedFriendsApplyReq,
    pb::GetDesignatedFriendsApplyResp
);
query!(
    get_self_unhandled_apply_count,
    pb::GetSelfUnhandledApplyCountReq,
    pb::GetSelfUnhandledApplyCountResp
);
query!(
    get_friend_list,
    pb::GetPaginationFriendsReq,
    pb::GetPaginationFriendsResp
);
query!(
    get_designated_friends,
    pb::GetDesignatedFriendsReq,
    pb::GetDesignatedFriendsResp
);
query!(is_friend, pb::IsFriendReq, pb::IsFriendResp);
query!(get_friend_id, pb::GetFriendIDsReq, pb::GetFriendIDsResp);
query!(
    get_specified_friends_info,
    pb::GetSpecifiedFriendsInfoReq,
    pb::GetSpecifiedFriendsInfoResp
);
query!(
    get_black_list,
    pb::GetPaginationBlacksReq,
    pb::GetPaginationBlacksResp
);
query!(
    get_specified_blacks,
    pb::GetSpecifiedBlacksReq,
    pb::GetSpecifiedBlacksResp
);
query!(
    get_incremental_friends,
    pb::GetIncrementalFriendsReq,
    pb::GetIncrementalFriendsResp
);
query!(
    get_incremental_blacks,
    pb::GetIncrementalBlacksReq,
    pb::GetIncrementalBlacksResp
);
query!(
    get_full_friend_user_ids,
    pb::GetFullFriendUserIDsReq,
    pb::GetFullFriendUserIDsResp
);
