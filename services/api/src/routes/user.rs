//! `/user/*`: registration, profiles, lookups, online status, client config.

use crate::envelope::{ApiResult, ok};
use crate::extract::{ApiJson, Auth};
use axum::{Router, extract::State, routing::post};
use rill_app::App;
use rill_wire::pb::{msggateway, user as pb};

pub fn router() -> Router<crate::ApiState> {
    Router::new()
        .route("/user/user_register", post(user_register))
        .route("/user/update_user_info", post(update_user_info))
        .route("/user/update_user_info_ex", post(update_user_info_ex))
        .route(
            "/user/set_global_msg_recv_opt",
            post(set_global_msg_recv_opt),
        )
        .route("/user/get_users_info", post(get_users_info))
        .route("/user/get_all_users_uid", post(get_all_users_uid))
        .route("/user/account_check", post(account_check))
        .route("/user/get_users", post(get_users))
        .route(
            "/user/get_users_online_status",
            post(get_users_online_status),
        )
        .route("/user/get_users_status", post(get_users_status))
        .route("/user/subscribe_users_status", post(subscribe_users_status))
        .route(
            "/user/get_subscribe_users_status",
            post(get_subscribe_users_status),
        )
        .route("/user/get_user_client_config", post(get_user_client_config))
        .route(
            "/user/process_user_command_get",
            post(process_user_command_get),
        )
        .route(
            "/user/process_user_command_get_all",
            post(process_user_command_get_all),
        )
}

async fn user_register(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::UserRegisterReq>,
) -> ApiResult {
    app.user_register(&caller, req).await?;
    ok(())
}

async fn update_user_info(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::UpdateUserInfoReq>,
) -> ApiResult {
    app.update_user_info(&caller, req).await?;
    ok(())
}

async fn update_user_info_ex(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::UpdateUserInfoExReq>,
) -> ApiResult {
    app.update_user_info_ex(&caller, req).await?;
    ok(())
}

async fn set_global_msg_recv_opt(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::SetGlobalRecvMessageOptReq>,
) -> ApiResult {
    app.set_global_recv_msg_opt(&caller, req).await?;
    ok(())
}

async fn get_users_info(
    State(app): State<App>,
    ApiJson(req): ApiJson<pb::GetDesignateUsersReq>,
) -> ApiResult<pb::GetDesignateUsersResp> {
    ok(app.get_users_info(req).await?)
}

async fn get_all_users_uid(
    State(app): State<App>,
    ApiJson(req): ApiJson<pb::GetAllUserIdReq>,
) -> ApiResult<pb::GetAllUserIdResp> {
    ok(app.get_all_users_uid(req).await?)
}

async fn account_check(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::AccountCheckReq>,
) -> ApiResult<pb::AccountCheckResp> {
    ok(app.account_check(&caller, req).await?)
}

async fn get_users(
    State(app): State<App>,
    ApiJson(req): ApiJson<pb::GetPaginationUsersReq>,
) -> ApiResult<pb::GetPaginationUsersResp> {
    ok(app.get_users(req).await?)
}

/// NOTE: `data` is a bare JSON array here, as in OpenIM.
async fn get_users_online_status(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<msggateway::GetUsersOnlineStatusReq>,
) -> ApiResult<Vec<msggateway::SuccessResult>> {
    ok(app.get_users_online_status(&caller, req).await?)
}

async fn get_users_status(
    State(app): State<App>,
    ApiJson(req): ApiJson<pb::GetUserStatusReq>,
) -> ApiResult<pb::GetUserStatusResp> {
    ok(app.get_users_status(req).await?)
}

async fn subscribe_users_status(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::SubscribeOrCancelUsersStatusReq>,
) -> ApiResult<pb::SubscribeOrCancelUsersStatusResp> {
    ok(app.subscribe_users_status(&caller, req).await?)
}

async fn get_subscribe_users_status(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetSubscribeUsersStatusReq>,
) -> ApiResult<pb::GetSubscribeUsersStatusResp> {
    ok(app.get_subscribe_users_status(&caller, req).await?)
}

async fn get_user_client_config(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetUserClientConfigReq>,
) -> ApiResult<pb::GetUserClientConfigResp> {
    ok(app.get_user_client_config(&caller, req).await?)
}

async fn process_user_command_get(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::ProcessUserCommandGetReq>,
) -> ApiResult<pb::ProcessUserCommandGetResp> {
    ok(app.process_user_command_get(&caller, req).await?)
}

async fn process_user_command_get_all(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::ProcessUserCommandGetAllReq>,
) -> ApiResult<pb::ProcessUserCommandGetAllResp> {
    ok(app.process_user_command_get_all(&caller, req).await?)
}
