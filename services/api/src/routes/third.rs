//! `/third/*` and `/object/*`: what the SDKs call at login (push token, badge, upload limits).
//! Object storage itself is not implemented; `/object/part_limit` reports MinIO's limits so
//! the SDK can plan uploads.

use crate::envelope::{ApiResult, ok};
use crate::extract::{ApiJson, Auth};
use axum::{Router, extract::State, routing::post};
use rill_app::App;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<crate::ApiState> {
    Router::new()
        .route("/third/fcm_update_token", post(fcm_update_token))
        .route("/third/set_app_badge", post(set_app_badge))
        .route("/object/part_limit", post(part_limit))
}

// rill-wire has no `openim.third` package; these mirror its JSON shapes.

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct FcmUpdateTokenReq {
    #[serde(rename = "platformID")]
    platform_id: i32,
    fcm_token: String,
    account: String,
    expire_time: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SetAppBadgeReq {
    #[serde(rename = "userID")]
    user_id: String,
    app_unread_count: i32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PartLimitResp {
    min_part_size: i64,
    max_part_size: i64,
    max_num_size: i32,
}

async fn fcm_update_token(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<FcmUpdateTokenReq>,
) -> ApiResult {
    app.fcm_update_token(
        &caller,
        &req.account,
        req.platform_id,
        &req.fcm_token,
        req.expire_time,
    )
    .await?;
    ok(())
}

async fn set_app_badge(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<SetAppBadgeReq>,
) -> ApiResult {
    app.set_app_badge(&caller, &req.user_id, req.app_unread_count)
        .await?;
    ok(())
}

/// MinIO's multipart limits (OpenIM's default object store): 5 MiB..5 GiB parts, 10000 parts.
async fn part_limit(Auth(_caller): Auth) -> ApiResult<PartLimitResp> {
    ok(PartLimitResp {
        min_part_size: 5 * 1024 * 1024,
        max_part_size: 5 * 1024 * 1024 * 1024,
        max_num_size: 10_000,
    })
}
