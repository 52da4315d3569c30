//! Server notifications as OpenIM 3.8 sends them (protocol.md §4.3, §4.6): friend 1201–1210,
//! group 1501–1520, conversation 1300/1701–1704.
//!
//! Content is `{"detail":"<JSON of the Tips proto>"}`. In OpenIM HEAD every configurable
//! notification is forced to reliability level 1: it is pushed online only, with seq 0, in the
//! `n_` conversation (`isNotNotification=false`), and is never stored. If its `isSendMsg` is on
//! (per content type, [`defaults`]; a request's `sendMessage` overrides it) a copy is stored
//! *in the chat conversation* (`si_`/`sg_`) with a real seq and `unreadCount` on, which is the
//! "tip" the SDK shows in the chat. Clients do not rebuild state from notifications: they
//! re-sync with the version-based incremental endpoints, which a notification only triggers.

use crate::send::Outgoing;
use crate::{App, AppError};
use rill_core::types::{content, msg_from, session};
use rill_core::{ErrCode, options};
use rill_wire::pb::sdkws::MsgData;
use serde::Serialize;
use std::collections::BTreeMap;

/// Who a notification is for.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A single chat with this user (`recvID`); the sender's other devices get it too.
    User(&'a str),
    /// Every member of this group.
    Group(&'a str),
}

/// One notification to send.
pub struct Notice<'a, T: Serialize> {
    pub content_type: i32,
    /// The user the notification comes from (the operator; OpenIM's sendID).
    pub send_id: &'a str,
    pub target: Target<'a>,
    /// The Tips proto (its generated serde reproduces Go's JSON).
    pub tips: &'a T,
    /// Also push the online copy to these users (a kicked member, one who quit).
    pub extra_recipients: &'a [String],
    /// The request's `sendMessage`, overriding the content type's `isSendMsg`.
    pub send_message: Option<bool>,
}

/// OpenIM's notification.yml defaults: (isSendMsg, offlinePush.enable) per content type.
pub fn defaults(content_type: i32) -> (bool, bool) {
    let send_msg = matches!(
        content_type,
        1501 | 1504
            | 1507
            | 1508
            | 1509
            | 1510
            | 1511
            | 1512
            | 1513
            | 1514
            | 1515
            | 1519
            | 1520
            | 1201
            | 1701
    );
    let offline_push = matches!(content_type, 1503 | 1505 | 1506 | 1201..=1203);
    (send_msg, offline_push)
}

fn opts(pairs: &[(&str, bool)]) -> BTreeMap<String, bool> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// `{"detail":"<json>"}` as Go's encoding/json writes a NotificationElem.
pub fn detail_content<T: Serialize>(tips: &T) -> Result<Vec<u8>, AppError> {
    let detail = serde_json::to_string(tips).map_err(|e| {
        AppError::coded(
            ErrCode::ServerInternal,
            format!("encoding notification tips: {e}"),
        )
    })?;
    serde_json::to_vec(&serde_json::json!({ "detail": detail })).map_err(|e| {
        AppError::coded(
            ErrCode::ServerInternal,
            format!("encoding notification: {e}"),
        )
    })
}

impl App {
    /// Sends a notification: the online-only copy now, and the stored chat copy (when the
    /// content type's `isSendMsg` is on) through the log. Returns the stored copy's seq.
    pub async fn notify<T: Serialize>(&self, n: Notice<'_, T>) -> Result<Option<i64>, AppError> {
        let (default_send_msg, offline_push) = defaults(n.content_type);
        let send_msg = n.send_message.unwrap_or(default_send_msg);
        let sender = self.user_brief(n.send_id).await.ok().flatten();
        let mut msg = MsgData {
            send_id: n.send_id.to_string(),
            content_type: n.content_type,
            msg_from: msg_from::SYSTEM,
            content: detail_content(n.tips)?,
            create_time: rill_core::now_ms(),
            client_msg_id: crate::send::generated_client_msg_id(n.send_id),
            sender_platform_id: 0,
            ..Default::default()
        };
        if let Some(u) = &sender {
            msg.sender_nickname = u.nickname.clone();
            msg.sender_face_url = u.face_url.clone();
        }
        match n.target {
            Target::User(user) => {
                msg.session_type = session::SINGLE;
                msg.recv_id = user.to_string();
            }
            Target::Group(group) => {
                // OpenIM sets both recvID and groupID to the group id.
                msg.session_type = session::READ_GROUP;
                msg.recv_id = group.to_string();
                msg.group_id = group.to_string();
            }
        }
        // The online-only copy in the n_ conversation.
        let mut online = msg.clone();
        online.options = opts(&[
            (options::IS_NOT_NOTIFICATION, false),
            (options::HISTORY, false),
            (options::PERSISTENT, false),
            (options::SENDER_SYNC, true),
            (options::UNREAD_COUNT, false),
            (options::OFFLINE_PUSH, offline_push && !send_msg),
            (options::IS_SEND_MSG, send_msg),
        ]);
        online.server_msg_id = crate::send::server_msg_id(n.send_id);
        online.send_time = rill_core::now_ms();
        online.status = rill_core::types::status::SEND_SUCCESS;
        let stored: rill_core::Message = online.clone().into();
        let mut recipients = match n.target {
            Target::User(_) => self.recipients(&stored).await?,
            Target::Group(group) => self.group_member_ids(group).await?,
        };
        for u in n.extra_recipients {
            if !recipients.contains(u) {
                recipients.push(u.clone());
            }
        }
        if let Some(conversation_id) = stored.conversation_id() {
            self.deliver_online(&[Outgoing {
                conversation_id,
                message: online,
                recipients,
            }])
            .await?;
        }
        if !send_msg {
            return Ok(None);
        }
        // The chat copy: OpenIM clones the message with fresh options (absent = true, so it
        // lands in the chat conversation with history) keeping offlinePush and unreadCount.
        msg.options = opts(&[
            (options::OFFLINE_PUSH, offline_push),
            (options::UNREAD_COUNT, true),
        ]);
        debug_assert!(content::is_notification(msg.content_type));
        Ok(self.send_system_message_seq(msg).await?.1)
    }
}
