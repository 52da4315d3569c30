//! Sending a message (WS 1003, HTTP send_msg, server notifications) and handing messages to
//! the gateways that hold the recipients' connections.
//!
//! A send validates like OpenIM's msg service, fills the server fields, and appends to the
//! conversation's log; the ack carries no seq (OpenIM quirk: the sender learns it from its own
//! pushed copy). A retried clientMsgID is deduplicated by the log's append function and gets
//! the first send's ack. Online-only messages (`history=false`, e.g. typing) are never stored:
//! they go straight to the delivery streams with seq 0.
//!
//! The fan-out half ([`App::recipients`], [`App::deliver_online`]) is shared with the push
//! worker, so stored and online-only messages reach clients the same way.

use crate::{App, AppError, Caller};
use md5::{Digest, Md5};
use prost::Message as _;
use rill_core::types::{content, msg_from, recv_opt, session, status};
use rill_core::{ErrCode, Message, options, platform::Platform};
use rill_log::delivery::{self, Delivery};
use rill_log::{Envelope, Event, presence};
use rill_wire::pb::msg::SendMsgResp;
use rill_wire::pb::sdkws::MsgData;
use std::collections::{BTreeMap, HashMap};

/// A message ready for online delivery: its conversation, the wire message (seq set for stored
/// messages, 0 for online-only ones) and the users whose connections should get it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub conversation_id: String,
    pub message: MsgData,
    pub recipients: Vec<String>,
}

/// What one [`App::deliver_online`] call did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Delivery-stream entries written (one per gateway per message).
    pub entries: usize,
    /// Recipients with at least one live connection, summed over messages.
    pub online_recipients: usize,
}

/// OpenIM's server message id: md5 hex of "time-sendID-random".
pub fn server_msg_id(send_id: &str) -> String {
    let seed = format!("{}-{send_id}-{}", rill_core::now_ms(), rand::random::<u64>());
    hex::encode(Md5::digest(seed.as_bytes()))
}

/// A client message id for messages the server creates (notifications, HTTP send_msg).
pub fn generated_client_msg_id(send_id: &str) -> String {
    let seed = format!("{send_id}-{}-{}", rill_core::now_ms(), uuid::Uuid::new_v4().simple());
    hex::encode(Md5::digest(seed.as_bytes()))
}

/// `MsgData.Check()` of OpenIM's protocol package, reported as ArgsError.
fn check_shape(msg: &MsgData) -> Result<(), AppError> {
    if msg.send_id.is_empty() {
        return Err(AppError::args("sendID is empty"));
    }
    if msg.content.is_empty() {
        return Err(AppError::args("content is empty"));
    }
    let oa = msg.content_type == content::OA_NOTIFICATION;
    if (msg.session_type == session::NOTIFICATION) != oa {
        return Err(AppError::args(
            "notification msg must have correct session type and content type",
        ));
    }
    Ok(())
}

fn set_option(msg: &mut MsgData, key: &str, value: bool) {
    msg.options.insert(key.to_string(), value);
}

/// The server-side options OpenIM forces per content type (protocol.md §4.6).
fn force_options(msg: &mut MsgData) {
    use options::*;
    match msg.content_type {
        content::REVOKE_LEGACY => {
            set_option(msg, UNREAD_COUNT, false);
            set_option(msg, OFFLINE_PUSH, false);
        }
        content::HAS_READ_RECEIPT => {
            for k in [CONVERSATION_UPDATE, SENDER_CONVERSATION_UPDATE, UNREAD_COUNT, OFFLINE_PUSH] {
                set_option(msg, k, false);
            }
        }
        content::TYPING => {
            for k in [
                HISTORY,
                PERSISTENT,
                SENDER_SYNC,
                CONVERSATION_UPDATE,
                SENDER_CONVERSATION_UPDATE,
                UNREAD_COUNT,
                OFFLINE_PUSH,
            ] {
                set_option(msg, k, false);
            }
        }
        _ => {}
    }
}

/// Fills what the server owns: serverMsgID, sendTime, status, msgFrom, seq.
fn encapsulate(msg: &mut MsgData) {
    msg.server_msg_id = server_msg_id(&msg.send_id);
    if msg.send_time == 0 {
        msg.send_time = rill_core::now_ms();
    }
    if msg.msg_from == 0 {
        msg.msg_from = msg_from::USER;
    }
    if msg.client_msg_id.is_empty() {
        // An empty id would make every such message a "retry" of the first one.
        msg.client_msg_id = generated_client_msg_id(&msg.send_id);
    }
    msg.status = status::SEND_SUCCESS;
    msg.seq = 0;
    force_options(msg);
}

fn ack(msg: &MsgData) -> SendMsgResp {
    SendMsgResp {
        server_msg_id: msg.server_msg_id.clone(),
        client_msg_id: msg.client_msg_id.clone(),
        send_time: msg.send_time,
        modify: None,
    }
}

impl App {
    /// WS 1003 / HTTP send_msg: validates `msg` for `caller`, stores it (or pushes it online
    /// only) and returns OpenIM's ack `{serverMsgID, clientMsgID, sendTime}`.
    pub async fn send_message(&self, caller: &Caller, mut msg: MsgData) -> Result<SendMsgResp, AppError> {
        check_shape(&msg)?;
        if msg.content.len() > self.config().max_content_bytes {
            return Err(AppError::args(format!(
                "content is too large: {} bytes, at most {}",
                msg.content.len(),
                self.config().max_content_bytes
            )));
        }
        caller.check_self_or_admin(&msg.send_id)?;
        encapsulate(&mut msg);
        match msg.session_type {
            session::SINGLE => self.verify_single(&mut msg).await?,
            session::READ_GROUP => self.verify_group(&msg).await?,
            session::NOTIFICATION => {}
            _ => return Err(AppError::args("unknown sessionType")),
        }
        self.store_or_push(msg).await
    }

    /// Sends a message the server itself composed (notifications): no sender or receiver
    /// checks, the server fields filled as for any send.
    pub async fn send_system_message(&self, mut msg: MsgData) -> Result<SendMsgResp, AppError> {
        if msg.msg_from == 0 {
            msg.msg_from = msg_from::SYSTEM;
        }
        encapsulate(&mut msg);
        self.store_or_push(msg).await
    }

    /// Single-chat rules: admins and notification content types skip them; the receiver must
    /// exist and accept messages (global and per-conversation recvMsgOpt).
    async fn verify_single(&self, msg: &mut MsgData) -> Result<(), AppError> {
        if msg.recv_id.is_empty() {
            return Err(AppError::args("recvID is empty"));
        }
        let db = self.store().database();
        let receiver = rill_store::users::get(db, &msg.recv_id).await?.ok_or_else(|| {
            AppError::coded(ErrCode::RecordNotFound, format!("userID not found: {}", msg.recv_id))
        })?;
        if self.config().is_admin(&msg.send_id) || content::is_notification(msg.content_type) {
            return Ok(());
        }
        // Friendship and blacklist rules (1302/1303) slot in here once friends exist.
        match receiver.global_recv_msg_opt {
            recv_opt::NOT_RECEIVE => return Err(AppError::args("message is not sent")),
            recv_opt::RECEIVE_NOT_NOTIFY => {
                set_option(msg, options::OFFLINE_PUSH, false);
                return Ok(());
            }
            _ => {}
        }
        let conversation_id = rill_core::conversation::single(&msg.send_id, &msg.recv_id);
        let row = rill_store::conversations::get(db, &msg.recv_id, &conversation_id).await?;
        match row.map(|r| r.recv_msg_opt) {
            Some(recv_opt::NOT_RECEIVE) if msg.content_type != content::HAS_READ_RECEIPT => {
                Err(AppError::args("message is not sent"))
            }
            Some(recv_opt::RECEIVE_NOT_NOTIFY) => {
                set_option(msg, options::OFFLINE_PUSH, false);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Group rules (existence, dismissal, membership, mutes). Groups are not implemented yet,
    /// so every group is unknown; the membership checks belong here when they are.
    async fn verify_group(&self, msg: &MsgData) -> Result<(), AppError> {
        if msg.group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        Err(AppError::coded(
            ErrCode::GroupIdNotFound,
            format!("group {} not found (group chat is not supported yet)", msg.group_id),
        ))
    }

    /// Appends a validated, encapsulated message; online-only messages are pushed directly.
    async fn store_or_push(&self, msg: MsgData) -> Result<SendMsgResp, AppError> {
        let stored: Message = msg.clone().into();
        let conversation_id = stored
            .conversation_id()
            .ok_or_else(|| AppError::args("unknown sessionType"))?;
        if !options::is_set(&msg.options, options::HISTORY) {
            let recipients = self.recipients(&stored).await?;
            let out = Outgoing { conversation_id, message: msg.clone(), recipients };
            self.deliver_online(std::slice::from_ref(&out)).await?;
            metrics::counter!("rill_messages_sent_total", "stored" => "false").increment(1);
            return Ok(ack(&msg));
        }
        let envelope = Envelope::new(Event::Message(stored));
        let appended = self.log().append(&conversation_id, &msg.client_msg_id, &envelope).await?;
        metrics::counter!("rill_messages_sent_total", "stored" => "true").increment(1);
        if appended.duplicate {
            metrics::counter!("rill_messages_duplicate_sends_total").increment(1);
            return Ok(self.first_ack(&conversation_id, appended.seq, &msg).await);
        }
        Ok(ack(&msg))
    }

    /// The ack of the first send of a retried clientMsgID (from the hot window, else history);
    /// falls back to this attempt's ack if the first copy cannot be read.
    async fn first_ack(&self, conversation_id: &str, seq: i64, retry: &MsgData) -> SendMsgResp {
        let first = match self.log().range(conversation_id, seq, seq).await {
            Ok(entries) => entries
                .into_iter()
                .filter(|e| e.seq == seq)
                .find_map(|e| crate::pull::message_of(e.envelope.event)),
            Err(e) => {
                tracing::warn!(conversation_id, seq, error = %e, "reading the first send failed");
                None
            }
        };
        let first = match first {
            Some(m) => Some(m),
            None => rill_store::messages::by_seqs(self.store().database(), conversation_id, &[seq])
                .await
                .ok()
                .and_then(|mut v| v.pop()),
        };
        match first {
            Some(m) if m.client_msg_id == retry.client_msg_id => SendMsgResp {
                server_msg_id: m.server_msg_id,
                client_msg_id: m.client_msg_id,
                send_time: m.send_time,
                modify: None,
            },
            _ => ack(retry),
        }
    }

    /// Who gets a message online (OpenIM's push rules): single and notification chats go to
    /// the receiver and, with `senderSync`, to every connection of the sender too (that is how
    /// the sender's devices learn the seq). Group chats: the members (groups are not
    /// implemented yet, so nobody).
    pub async fn recipients(&self, msg: &Message) -> Result<Vec<String>, AppError> {
        match msg.session_type {
            session::READ_GROUP => Ok(Vec::new()),
            _ => {
                let mut out = Vec::with_capacity(2);
                if !msg.recv_id.is_empty() {
                    out.push(msg.recv_id.clone());
                }
                let sender_sync = options::is_set(&msg.options, options::SENDER_SYNC);
                if sender_sync && msg.send_id != msg.recv_id && !msg.send_id.is_empty() {
                    out.push(msg.send_id.clone());
                }
                Ok(out)
            }
        }
    }

    /// Hands messages to the gateways holding their recipients' live connections: one
    /// presence lookup for all recipients, then one delivery-stream entry per gateway per
    /// message (never per member), all in one pipeline. Order within a conversation is kept
    /// because entries are written in the order of `items`.
    pub async fn deliver_online(&self, items: &[Outgoing]) -> Result<DeliveryReport, AppError> {
        let mut users: Vec<String> = items.iter().flat_map(|o| o.recipients.iter().cloned()).collect();
        users.sort();
        users.dedup();
        if users.is_empty() {
            return Ok(DeliveryReport::default());
        }
        let keys = self.log().keys().clone();
        let mut conn = self.redis();
        let found = presence::connections_many(&mut conn, &keys, &users).await?;
        let by_user: HashMap<&str, Vec<presence::Presence>> =
            users.iter().map(String::as_str).zip(found).collect();
        let mut report = DeliveryReport::default();
        let mut batch: Vec<(String, Delivery)> = Vec::new();
        for item in items {
            // gateway → users it holds among this message's recipients
            let mut gateways: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for user in &item.recipients {
                let Some(conns) = by_user.get(user.as_str()) else { continue };
                let live: Vec<&presence::Presence> =
                    conns.iter().filter(|p| !skips_online_push(p)).collect();
                if !live.is_empty() {
                    report.online_recipients += 1;
                }
                for p in live {
                    let targets = gateways.entry(p.gateway_id.as_str()).or_default();
                    if !targets.contains(user) {
                        targets.push(user.clone());
                    }
                }
            }
            if gateways.is_empty() {
                continue;
            }
            let bytes = bytes::Bytes::from(item.message.encode_to_vec());
            for (gateway, user_ids) in gateways {
                batch.push((
                    gateway.to_string(),
                    Delivery::Push {
                        user_ids,
                        conversation_id: item.conversation_id.clone(),
                        message: bytes.clone(),
                    },
                ));
            }
        }
        report.entries = batch.len();
        delivery::send_many(&mut conn, &keys, &batch).await?;
        Ok(report)
    }
}

/// OpenIM skips online push to a backgrounded iOS app (it gets offline push instead).
fn skips_online_push(p: &presence::Presence) -> bool {
    p.background && Platform::from_id(p.platform_id) == Some(Platform::Ios)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(session_type: i32, content_type: i32) -> MsgData {
        MsgData {
            send_id: "u1".into(),
            recv_id: "u2".into(),
            session_type,
            content_type,
            content: br#"{"content":"hi"}"#.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn shape_checks_follow_openim() {
        assert!(check_shape(&msg(1, 101)).is_ok());
        assert!(check_shape(&msg(4, 1400)).is_ok());
        let e = check_shape(&msg(4, 101)).err().map(|e| e.detail());
        assert_eq!(
            e.as_deref(),
            Some("notification msg must have correct session type and content type")
        );
        assert!(check_shape(&msg(1, 1400)).is_err());
        let mut m = msg(1, 101);
        m.content.clear();
        assert_eq!(check_shape(&m).err().map(|e| e.detail()).as_deref(), Some("content is empty"));
        m.send_id.clear();
        assert_eq!(check_shape(&m).err().map(|e| e.code()), Some(ErrCode::Args));
    }

    #[test]
    fn typing_is_forced_online_only() {
        let mut m = msg(1, content::TYPING);
        m.seq = 9;
        encapsulate(&mut m);
        assert!(!options::is_set(&m.options, options::HISTORY));
        assert!(!options::is_set(&m.options, options::SENDER_SYNC));
        assert_eq!(m.status, status::SEND_SUCCESS);
        assert_eq!(m.msg_from, msg_from::USER);
        assert_eq!(m.seq, 0);
        assert_eq!(m.server_msg_id.len(), 32);
        assert!(m.send_time > 0);
        assert!(!m.client_msg_id.is_empty());
    }

    #[test]
    fn text_keeps_client_options() {
        let mut m = msg(1, content::TEXT);
        m.options.insert(options::OFFLINE_PUSH.into(), false);
        m.send_time = 5;
        encapsulate(&mut m);
        assert!(options::is_set(&m.options, options::HISTORY));
        assert!(!options::is_set(&m.options, options::OFFLINE_PUSH));
        assert_eq!(m.send_time, 5);
    }
}
