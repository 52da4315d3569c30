//! Requests by `reqIdentifier` (protocol.md §2.3). Each returns exactly one reply with the
//! request's identifier and msgIncr; application errors travel in errCode/errMsg (OpenIM puts
//! the code's name in errMsg; WS replies carry no errDlt). `None` means the identifier is
//! unknown, which closes the connection.

use crate::hub::{Conn, Hub};
use prost::Message;
use rill_app::{AppError, Caller};
use rill_core::ErrCode;
use rill_log::presence;
use rill_wire::frame::{WsReq, WsResp};
use rill_wire::pb::{msg, push, sdkws};
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub const GET_NEWEST_SEQ: i32 = 1001;
pub const PULL_MSG_BY_RANGE: i32 = 1002;
pub const SEND_MSG: i32 = 1003;
pub const SEND_SIGNAL_MSG: i32 = 1004;
pub const PULL_MSG_BY_SEQ_LIST: i32 = 1005;
pub const GET_CONV_MAX_READ_SEQ: i32 = 1006;
pub const PULL_CONV_LAST_MESSAGE: i32 = 1007;
pub const LOGOUT: i32 = 2003;
pub const SET_BACKGROUND_STATUS: i32 = 2004;
pub const SUB_USER_ONLINE_STATUS: i32 = 2005;

/// What happens to the connection after the reply is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Continue,
    /// 2003: the client logged out.
    Close,
}

fn decode<T: Message + Default>(req: &WsReq) -> Result<T, AppError> {
    T::decode(req.data.as_slice()).map_err(|e| AppError::args(format!("unmarshal request: {e}")))
}

fn reply<T: Message>(req: &WsReq, r: Result<T, AppError>) -> WsResp {
    match r {
        Ok(v) => WsResp::reply(req, v.encode_to_vec()),
        Err(e) => {
            let code = e.code();
            if code == ErrCode::ServerInternal || code == ErrCode::Database {
                tracing::warn!(req = req.req_identifier, error = %e, "request failed");
            }
            WsResp::error(req, code, code.name())
        }
    }
}

fn caller(hub: &Hub, conn: &Conn) -> Caller {
    Caller {
        user_id: conn.user_id.clone(),
        platform_id: conn.platform_id,
        is_admin: hub.app.config().is_admin(&conn.user_id),
    }
}

/// Handles one request of `conn`.
#[tracing::instrument(name = "ws.request", skip_all, fields(
    req = req.req_identifier,
    user = %conn.user_id,
    operation_id = %req.operation_id,
))]
pub async fn handle(hub: &Arc<Hub>, conn: &Arc<Conn>, req: &WsReq) -> Option<(WsResp, After)> {
    let app = &hub.app;
    let who = caller(hub, conn);
    let resp = match req.req_identifier {
        GET_NEWEST_SEQ => {
            let r = async { app.newest_seqs(&who, decode(req)?).await }.await;
            reply(req, r)
        }
        PULL_MSG_BY_RANGE => {
            let r = async { app.pull_by_ranges(&who, decode(req)?).await }.await;
            reply(req, r)
        }
        SEND_MSG => {
            let r = async { app.send_message(&who, decode::<sdkws::MsgData>(req)?).await }.await;
            reply(req, r)
        }
        // OpenIM's handler sends nothing and fails; keep the identifier known.
        SEND_SIGNAL_MSG => reply::<msg::SendMsgResp>(req, Err(AppError::args("msgData is nil"))),
        PULL_MSG_BY_SEQ_LIST => {
            let r = async { app.pull_by_seq_lists(&who, decode(req)?).await }.await;
            reply(req, r)
        }
        GET_CONV_MAX_READ_SEQ => {
            let r = async { app.has_read_and_max_seqs(&who, decode(req)?).await }.await;
            reply(req, r)
        }
        PULL_CONV_LAST_MESSAGE => {
            let r = async { app.last_messages(&who, decode(req)?).await }.await;
            reply(req, r)
        }
        LOGOUT => {
            let r = logout(hub, conn, req).await;
            return Some((reply(req, r), After::Close));
        }
        SET_BACKGROUND_STATUS => {
            let r = set_background(hub, conn, req).await;
            reply(req, r)
        }
        SUB_USER_ONLINE_STATUS => {
            let r = subscribe(hub, conn, req).await;
            reply(req, r)
        }
        _ => return None,
    };
    Some((resp, After::Continue))
}

/// 2003: forget the device's push token (offline push must stop), then the connection closes.
async fn logout(
    hub: &Hub,
    conn: &Conn,
    req: &WsReq,
) -> Result<push::DelUserPushTokenResp, AppError> {
    let r: push::DelUserPushTokenReq = decode(req)?;
    let platform_id = if r.platform_id == 0 {
        conn.platform_id
    } else {
        r.platform_id
    };
    let key = rill_app::users::push_token_key(&hub.app, &conn.user_id, platform_id);
    let _: i64 = redis::cmd("DEL")
        .arg(key)
        .query_async(&mut hub.app.redis())
        .await?;
    Ok(push::DelUserPushTokenResp {})
}

/// 2004: the app went to or came back from the background (iOS in background gets no online
/// push). Replies with empty data.
async fn set_background(
    hub: &Hub,
    conn: &Conn,
    req: &WsReq,
) -> Result<sdkws::SetAppBackgroundStatusResp, AppError> {
    let r: sdkws::SetAppBackgroundStatusReq = decode(req)?;
    conn.background.store(r.is_background, Ordering::Relaxed);
    hub.refresh_presence(conn).await;
    Ok(sdkws::SetAppBackgroundStatusResp {})
}

/// 2005: subscribe/unsubscribe to users' online status; the reply holds the current platforms
/// of the newly subscribed users.
async fn subscribe(
    hub: &Hub,
    conn: &Conn,
    req: &WsReq,
) -> Result<sdkws::SubUserOnlineStatusTips, AppError> {
    let r: sdkws::SubUserOnlineStatus = decode(req)?;
    {
        let mut subs = conn.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
        for u in &r.unsubscribe_user_id {
            subs.remove(u);
        }
        subs.extend(r.subscribe_user_id.iter().cloned());
    }
    let keys = hub.app.log().keys().clone();
    let found =
        presence::connections_many(&mut hub.app.redis(), &keys, &r.subscribe_user_id).await?;
    let subscribers = r
        .subscribe_user_id
        .iter()
        .zip(found)
        .map(|(user_id, conns)| {
            let mut platforms: Vec<i32> = conns.iter().map(|p| p.platform_id).collect();
            platforms.sort_unstable();
            platforms.dedup();
            sdkws::SubUserOnlineStatusElem {
                user_id: user_id.clone(),
                online_platform_i_ds: platforms,
            }
        })
        .collect();
    Ok(sdkws::SubUserOnlineStatusTips { subscribers })
}
