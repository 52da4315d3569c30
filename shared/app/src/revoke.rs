//! Revoking a message (HTTP revoke_msg).
//!
//! The stored message stays; a revoke record is kept in a Redis hash per conversation
//! (`<prefix>:{p}:rv:<conversationID>`, field = seq, under the partition's hash tag) and every
//! later read rewrites the message to content type 2101 with
//! `{"detail":"<MessageRevokedContent JSON>"}`. A 2101 notification carrying `RevokeMsgTips`
//! is stored in the `n_` twin of the conversation, so every device of both ends learns of it.
//!
//! The record should also become a log event so projections (history, latest message) can
//! apply it; until that event exists the Redis hash is the source of truth.

use crate::{App, AppError, Caller};
use rill_core::types::{content, msg_from, session, status};
use rill_core::{ErrCode, options};
use rill_wire::pb::msg::{RevokeMsgReq, RevokeMsgResp};
use rill_wire::pb::sdkws::{MessageRevokedContent, MsgData, RevokeMsgTips};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Who revoked a message, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeRecord {
    pub revoker_id: String,
    /// The revoker's role: appMangerLevel for single chats, the member role in groups.
    pub role: i32,
    pub nickname: String,
    /// Unix ms.
    pub time: i64,
}

/// The revoke hash of a conversation.
pub fn revoke_key(keys: &rill_log::Keys, conversation_id: &str) -> String {
    let p = keys.partition_of(conversation_id);
    format!("{}:{{{p}}}:rv:{conversation_id}", keys.prefix())
}

/// Rewrites a read message as revoked (OpenIM's read-time representation).
pub fn apply(msg: &mut MsgData, r: &RevokeRecord) {
    let revoked = MessageRevokedContent {
        revoker_id: r.revoker_id.clone(),
        revoker_role: r.role,
        client_msg_id: msg.client_msg_id.clone(),
        revoker_nickname: r.nickname.clone(),
        revoke_time: r.time,
        source_message_send_time: msg.send_time,
        source_message_send_id: msg.send_id.clone(),
        source_message_sender_nickname: msg.sender_nickname.clone(),
        session_type: msg.session_type,
        seq: msg.seq,
        ex: msg.ex.clone(),
    };
    let detail = serde_json::to_string(&revoked).unwrap_or_default();
    msg.content_type = content::MSG_REVOKE_NOTIFICATION;
    msg.content = serde_json::json!({ "detail": detail })
        .to_string()
        .into_bytes();
}

fn notification_options() -> BTreeMap<String, bool> {
    // OpenIM's NewOptions for a reliable (stored) notification without a chat copy.
    use options::*;
    [
        (IS_NOT_NOTIFICATION, false),
        (IS_SEND_MSG, false),
        (HISTORY, true),
        (PERSISTENT, true),
        (OFFLINE_PUSH, false),
        (UNREAD_COUNT, false),
        (CONVERSATION_UPDATE, false),
        (SENDER_SYNC, true),
        (NOT_PRIVATE, false),
        (SENDER_CONVERSATION_UPDATE, false),
        (REACTION_FROM_CACHE, false),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

impl App {
    /// The revoke records of `seqs` in a conversation (absent when not revoked).
    pub async fn revoke_records(
        &self,
        conversation_id: &str,
        seqs: &[i64],
    ) -> Result<HashMap<i64, RevokeRecord>, AppError> {
        if seqs.is_empty() {
            return Ok(HashMap::new());
        }
        let key = revoke_key(self.log().keys(), conversation_id);
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(&key).arg(seqs);
        let values: Vec<Option<String>> = cmd.query_async(&mut self.redis()).await?;
        Ok(seqs
            .iter()
            .zip(values)
            .filter_map(|(s, v)| Some((*s, serde_json::from_str(&v?).ok()?)))
            .collect())
    }

    /// HTTP revoke_msg `{conversationID, seq, userID}`.
    pub async fn revoke_message(
        &self,
        caller: &Caller,
        req: RevokeMsgReq,
    ) -> Result<RevokeMsgResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("user_id is empty"));
        }
        if req.conversation_id.is_empty() {
            return Err(AppError::args("conversation_id is empty"));
        }
        if req.seq < 1 {
            return Err(AppError::args("seq is invalid"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        let db = self.store().database();
        let user = rill_store::users::get(db, &req.user_id)
            .await?
            .ok_or_else(|| AppError::coded(ErrCode::RecordNotFound, "userID not found"))?;
        let not_found = || AppError::coded(ErrCode::RecordNotFound, "msg not found");
        if !caller.is_admin && !self.may_read(&req.user_id, &req.conversation_id).await? {
            return Err(not_found());
        }
        let msg = self
            .load_messages(&req.conversation_id, &[req.seq])
            .await?
            .pop()
            .filter(|m| m.status < status::DELETED && !m.send_id.is_empty())
            .ok_or_else(not_found)?;
        if msg.content_type == content::MSG_REVOKE_NOTIFICATION {
            return Err(AppError::coded(
                ErrCode::MsgAlreadyRevoke,
                "msg already revoke",
            ));
        }
        let mut role = 0;
        if !caller.is_admin {
            match msg.session_type {
                session::SINGLE => {
                    caller.check_self_or_admin(&msg.send_id)?;
                    role = user.app_manger_level;
                }
                session::READ_GROUP => {
                    let snap = self.group_snapshot(&msg.group_id).await?;
                    role =
                        crate::membership::rules::revoke_role(&snap, &req.user_id, &msg.send_id)?;
                }
                other => {
                    return Err(AppError::coded(
                        ErrCode::ServerInternal,
                        format!("msg sessionType not supported: {other}"),
                    ));
                }
            }
        }
        let now = rill_core::now_ms();
        let record = RevokeRecord {
            revoker_id: req.user_id.clone(),
            role,
            nickname: user.nickname.clone(),
            time: now,
        };
        let key = revoke_key(self.log().keys(), &req.conversation_id);
        let value = serde_json::to_string(&record)
            .map_err(|e| AppError::coded(ErrCode::ServerInternal, e.to_string()))?;
        let set: i64 = redis::cmd("HSETNX")
            .arg(&key)
            .arg(req.seq)
            .arg(value)
            .query_async(&mut self.redis())
            .await?;
        if set == 0 {
            return Err(AppError::coded(
                ErrCode::MsgAlreadyRevoke,
                "msg already revoke",
            ));
        }
        self.send_revoke_notification(caller, &req, &msg, now)
            .await?;
        Ok(RevokeMsgResp {})
    }

    /// The 2101 notification, stored in the `n_` twin of the revoked message's conversation.
    async fn send_revoke_notification(
        &self,
        caller: &Caller,
        req: &RevokeMsgReq,
        msg: &MsgData,
        now: i64,
    ) -> Result<(), AppError> {
        let tips = RevokeMsgTips {
            revoker_user_id: caller.user_id.clone(),
            client_msg_id: msg.client_msg_id.clone(),
            revoke_time: now,
            sesstion_type: msg.session_type,
            seq: req.seq,
            conversation_id: req.conversation_id.clone(),
            is_admin_revoke: self.config().is_admin(&caller.user_id),
        };
        let detail = serde_json::to_string(&tips)
            .map_err(|e| AppError::coded(ErrCode::ServerInternal, e.to_string()))?;
        // From the revoker to the other end when the revoker is an end (OpenIM), else between
        // the original ends, so the notification always lands in this conversation's twin.
        let (send_id, recv_id) = if msg.session_type == session::READ_GROUP {
            // OpenIM: from the revoker to the group.
            (req.user_id.clone(), msg.group_id.clone())
        } else if req.user_id == msg.send_id {
            (msg.send_id.clone(), msg.recv_id.clone())
        } else if req.user_id == msg.recv_id {
            (msg.recv_id.clone(), msg.send_id.clone())
        } else {
            (msg.send_id.clone(), msg.recv_id.clone())
        };
        let group_id = if msg.session_type == session::READ_GROUP {
            msg.group_id.clone()
        } else {
            String::new()
        };
        let notification = MsgData {
            send_id: send_id.clone(),
            recv_id,
            group_id,
            client_msg_id: crate::send::generated_client_msg_id(&send_id),
            session_type: msg.session_type,
            msg_from: msg_from::SYSTEM,
            content_type: content::MSG_REVOKE_NOTIFICATION,
            content: serde_json::json!({ "detail": detail })
                .to_string()
                .into_bytes(),
            create_time: now,
            options: notification_options(),
            ..Default::default()
        };
        self.send_system_message(notification).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_messages_are_rewritten() {
        let mut m = MsgData {
            send_id: "u1".into(),
            client_msg_id: "c1".into(),
            content_type: content::TEXT,
            content: b"{\"content\":\"hi\"}".to_vec(),
            seq: 7,
            send_time: 1000,
            session_type: 1,
            ..Default::default()
        };
        let r = RevokeRecord {
            revoker_id: "u1".into(),
            role: 0,
            nickname: "n".into(),
            time: 2000,
        };
        apply(&mut m, &r);
        assert_eq!(m.content_type, 2101);
        let outer: serde_json::Value =
            serde_json::from_slice(&m.content).unwrap_or(serde_json::Value::Null);
        let detail = outer["detail"].as_str().unwrap_or_default();
        let inner: serde_json::Value =
            serde_json::from_str(detail).unwrap_or(serde_json::Value::Null);
        assert_eq!(inner["revokerID"], "u1");
        assert_eq!(inner["seq"], 7);
        assert_eq!(inner["sourceMessageSendTime"], 1000);
        assert_eq!(inner["clientMsgID"], "c1");
        assert_eq!(m.seq, 7);
    }

    #[test]
    fn revoke_keys_share_the_partition_tag() {
        let keys = rill_log::Keys::new("rill", 16);
        let k = revoke_key(&keys, "si_u1_u2");
        let conv = keys.conversation("si_u1_u2");
        let tag = |s: &str| s.split('}').next().map(str::to_string);
        assert_eq!(tag(&k), tag(&conv));
    }
}
