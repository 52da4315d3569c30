//! `/conversation/*` (protocol.md §1.3): thin handlers over the `App` conversation commands
//! (`rill_app::conversations`), which hold the rules and OpenIM's "O" authorisation.

use crate::envelope::{ApiResult, ok};
use crate::extract::{ApiJson, Auth};
use axum::{Router, extract::State, routing::post};
use rill_app::App;
use rill_wire::pb::conversation as pb;

pub fn router() -> Router<crate::ApiState> {
    Router::new()
        .route(
            "/conversation/get_sorted_conversation_list",
            post(get_sorted_conversation_list),
        )
        .route(
            "/conversation/get_all_conversations",
            post(get_all_conversations),
        )
        .route("/conversation/get_conversation", post(get_conversation))
        .route("/conversation/get_conversations", post(get_conversations))
        .route("/conversation/set_conversations", post(set_conversations))
        .route(
            "/conversation/get_full_conversation_ids",
            post(get_full_conversation_ids),
        )
        .route(
            "/conversation/get_incremental_conversations",
            post(get_incremental_conversations),
        )
        .route(
            "/conversation/get_owner_conversation",
            post(get_owner_conversation),
        )
        .route(
            "/conversation/get_not_notify_conversation_ids",
            post(get_not_notify_conversation_ids),
        )
        .route(
            "/conversation/get_pinned_conversation_ids",
            post(get_pinned_conversation_ids),
        )
        .route(
            "/conversation/delete_conversations",
            post(delete_conversations),
        )
        .route(
            "/conversation/update_conversations_by_user",
            post(update_conversations_by_user),
        )
}

async fn get_sorted_conversation_list(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetSortedConversationListReq>,
) -> ApiResult<pb::GetSortedConversationListResp> {
    ok(app.get_sorted_conversation_list(&caller, req).await?)
}

async fn get_all_conversations(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetAllConversationsReq>,
) -> ApiResult<pb::GetAllConversationsResp> {
    ok(app.get_all_conversations(&caller, req).await?)
}

async fn get_conversation(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetConversationReq>,
) -> ApiResult<pb::GetConversationResp> {
    ok(app.get_conversation(&caller, req).await?)
}

async fn get_conversations(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetConversationsReq>,
) -> ApiResult<pb::GetConversationsResp> {
    ok(app.get_conversations(&caller, req).await?)
}

async fn set_conversations(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::SetConversationsReq>,
) -> ApiResult {
    app.set_conversations(&caller, req).await?;
    ok(())
}

async fn get_full_conversation_ids(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetFullOwnerConversationIDsReq>,
) -> ApiResult<pb::GetFullOwnerConversationIDsResp> {
    ok(app.get_full_conversation_ids(&caller, req).await?)
}

async fn get_incremental_conversations(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetIncrementalConversationReq>,
) -> ApiResult<pb::GetIncrementalConversationResp> {
    ok(app.get_incremental_conversations(&caller, req).await?)
}

async fn get_owner_conversation(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetOwnerConversationReq>,
) -> ApiResult<pb::GetOwnerConversationResp> {
    ok(app.get_owner_conversation(&caller, req).await?)
}

async fn get_not_notify_conversation_ids(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetNotNotifyConversationIDsReq>,
) -> ApiResult<pb::GetNotNotifyConversationIDsResp> {
    ok(app.get_not_notify_conversation_ids(&caller, req).await?)
}

async fn get_pinned_conversation_ids(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetPinnedConversationIDsReq>,
) -> ApiResult<pb::GetPinnedConversationIDsResp> {
    ok(app.get_pinned_conversation_ids(&caller, req).await?)
}

async fn delete_conversations(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::DeleteConversationsReq>,
) -> ApiResult {
    app.delete_conversations(&caller, req).await?;
    ok(())
}

async fn update_conversations_by_user(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::UpdateConversationsByUserReq>,
) -> ApiResult {
    app.update_conversations_by_user(&caller, req).await?;
    ok(())
}
