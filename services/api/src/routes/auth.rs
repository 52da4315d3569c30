//! `/auth/*`: token issue, parse and forced logout.

use crate::envelope::{ApiError, ApiResult, ok};
use crate::extract::{ApiJson, Auth};
use axum::{Router, extract::State, routing::post};
use rill_app::App;
use rill_wire::pb::auth as pb;

pub fn router() -> Router<crate::ApiState> {
    Router::new()
        .route("/auth/get_admin_token", post(get_admin_token))
        .route("/auth/get_user_token", post(get_user_token))
        .route("/auth/parse_token", post(parse_token))
        .route("/auth/force_logout", post(force_logout))
}

/// Whitelisted: no `token` header.
async fn get_admin_token(
    State(app): State<App>,
    ApiJson(req): ApiJson<pb::GetAdminTokenReq>,
) -> ApiResult<pb::GetAdminTokenResp> {
    let issued = app.admin_token(&req.secret, &req.user_id).await?;
    ok(pb::GetAdminTokenResp {
        token: issued.token,
        expire_time_seconds: issued.expire_time_seconds,
    })
}

async fn get_user_token(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetUserTokenReq>,
) -> ApiResult<pb::GetUserTokenResp> {
    let issued = app
        .user_token(&caller, &req.user_id, req.platform_id)
        .await?;
    ok(pb::GetUserTokenResp {
        token: issued.token,
        expire_time_seconds: issued.expire_time_seconds,
    })
}

/// Whitelisted. NOTE: `expireTimeSeconds` is the absolute expiry (Unix s), as in OpenIM.
async fn parse_token(
    State(app): State<App>,
    ApiJson(req): ApiJson<pb::ParseTokenReq>,
) -> ApiResult<pb::ParseTokenResp> {
    if req.token.is_empty() {
        // OpenIM's (sic) message for an empty token.
        return Err(ApiError::args("userID is empty"));
    }
    let claims = app.parse_token(&req.token).await?;
    ok(pb::ParseTokenResp {
        user_id: claims.user_id,
        platform_id: claims.platform_id,
        expire_time_seconds: claims.exp,
    })
}

async fn force_logout(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::ForceLogoutReq>,
) -> ApiResult {
    app.force_logout(&caller, &req.user_id, req.platform_id)
        .await?;
    ok(())
}
