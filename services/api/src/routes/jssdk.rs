//! `/jssdk/*`: the JS SDK's conversation list endpoints. The body is protobuf
//! (`application/x-protobuf`) or JSON; a protobuf request is answered with the JSON envelope
//! whose `data` is the base64 of the protobuf response (clients.md §2) — the JS SDK crashes on
//! any other shape.

use crate::envelope::ApiResult;
use crate::extract::{Auth, JsonOrProto};
use axum::{Router, extract::State, routing::post};
use rill_app::App;
use rill_wire::pb::jssdk as pb;

pub fn router() -> Router<crate::ApiState> {
    Router::new()
        .route("/jssdk/get_conversations", post(get_conversations))
        .route(
            "/jssdk/get_active_conversations",
            post(get_active_conversations),
        )
}

async fn get_conversations(
    State(app): State<App>,
    Auth(caller): Auth,
    req: JsonOrProto<pb::GetConversationsReq>,
) -> ApiResult<serde_json::Value> {
    let resp = app
        .jssdk_get_conversations(&caller, req.value.clone())
        .await?;
    req.reply(resp)
}

async fn get_active_conversations(
    State(app): State<App>,
    Auth(caller): Auth,
    req: JsonOrProto<pb::GetActiveConversationsReq>,
) -> ApiResult<serde_json::Value> {
    let resp = app
        .jssdk_get_active_conversations(&caller, req.value.clone())
        .await?;
    req.reply(resp)
}
