//! `/msg/*`: sending (admin), seqs, pulls, revoke, read marks and the server clock. Thin:
//! parse → one `App` command → envelope; the rules live in `rill-app` (send, pull, seqs,
//! revoke; read marks in the read-model module).

use crate::envelope::{ApiResult, ok};
use crate::extract::{ApiJson, Auth};
use axum::{Router, extract::State, routing::post};
use rill_app::App;
use rill_app::send::ApiSendMsg;
use rill_wire::pb::{msg as pb, sdkws};
use serde::Serialize;

pub fn router() -> Router<crate::ApiState> {
    Router::new()
        .route("/msg/send_msg", post(send_msg))
        .route("/msg/newest_seq", post(newest_seq))
        .route("/msg/pull_msg_by_seq", post(pull_msg_by_seq))
        .route(
            "/msg/get_conversations_has_read_and_max_seq",
            post(get_conversations_has_read_and_max_seq),
        )
        .route("/msg/revoke_msg", post(revoke_msg))
        .route("/msg/mark_msgs_as_read", post(mark_msgs_as_read))
        .route(
            "/msg/mark_conversation_as_read",
            post(mark_conversation_as_read),
        )
        .route(
            "/msg/set_conversation_has_read_seq",
            post(set_conversation_has_read_seq),
        )
        .route("/msg/get_server_time", post(get_server_time))
        .route("/msg/clear_conversation_msg", post(clear_conversation_msg))
        .route("/msg/user_clear_all_msg", post(user_clear_all_msg))
        .route("/msg/delete_msgs", post(delete_msgs))
}

async fn delete_msgs(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::DeleteMsgsReq>,
) -> ApiResult<pb::DeleteMsgsResp> {
    ok(app.delete_msgs(&caller, req).await?)
}

async fn clear_conversation_msg(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::ClearConversationsMsgReq>,
) -> ApiResult<pb::ClearConversationsMsgResp> {
    ok(app.clear_conversation_msg(&caller, req).await?)
}

async fn user_clear_all_msg(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::UserClearAllMsgReq>,
) -> ApiResult<pb::UserClearAllMsgResp> {
    ok(app.user_clear_all_msg(&caller, req).await?)
}

/// HTTP send_msg answers without `modify` unless a webhook changed the message.
#[derive(Serialize)]
struct SendMsgReply {
    #[serde(rename = "serverMsgID")]
    server_msg_id: String,
    #[serde(rename = "clientMsgID")]
    client_msg_id: String,
    #[serde(rename = "sendTime")]
    send_time: i64,
}

async fn send_msg(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<ApiSendMsg>,
) -> ApiResult<SendMsgReply> {
    let resp = app.send_msg_http(&caller, req).await?;
    ok(SendMsgReply {
        server_msg_id: resp.server_msg_id,
        client_msg_id: resp.client_msg_id,
        send_time: resp.send_time,
    })
}

async fn newest_seq(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<sdkws::GetMaxSeqReq>,
) -> ApiResult<sdkws::GetMaxSeqResp> {
    ok(app.newest_seqs(&caller, req).await?)
}

async fn pull_msg_by_seq(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<sdkws::PullMessageBySeqsReq>,
) -> ApiResult<sdkws::PullMessageBySeqsResp> {
    ok(app.pull_by_ranges(&caller, req).await?)
}

async fn get_conversations_has_read_and_max_seq(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::GetConversationsHasReadAndMaxSeqReq>,
) -> ApiResult<pb::GetConversationsHasReadAndMaxSeqResp> {
    ok(app.has_read_and_max_seqs(&caller, req).await?)
}

async fn revoke_msg(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::RevokeMsgReq>,
) -> ApiResult {
    app.revoke_message(&caller, req).await?;
    ok(())
}

async fn mark_msgs_as_read(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::MarkMsgsAsReadReq>,
) -> ApiResult {
    app.mark_msgs_as_read(&caller, req).await?;
    ok(())
}

async fn mark_conversation_as_read(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::MarkConversationAsReadReq>,
) -> ApiResult {
    app.mark_conversation_as_read(&caller, req).await?;
    ok(())
}

async fn set_conversation_has_read_seq(
    State(app): State<App>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<pb::SetConversationHasReadSeqReq>,
) -> ApiResult {
    app.set_conversation_has_read_seq(&caller, req).await?;
    ok(())
}

async fn get_server_time(Auth(_caller): Auth) -> ApiResult<pb::GetServerTimeResp> {
    ok(pb::GetServerTimeResp {
        server_time: rill_core::now_ms(),
    })
}
