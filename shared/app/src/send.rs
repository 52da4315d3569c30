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
use std::collections::{BTreeMap, HashMap, HashSet};

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
    /// Deliveries handed to gateways (one per gateway per message; several share a stream
    /// entry).
    pub deliveries: usize,
    /// Recipients with at least one live connection, summed over messages.
    pub online_recipients: usize,
}

/// OpenIM's server message id: md5 hex of "time-sendID-random".
pub fn server_msg_id(send_id: &str) -> String {
    let seed = format!(
        "{}-{send_id}-{}",
        rill_core::now_ms(),
        rand::random::<u64>()
    );
    hex::encode(Md5::digest(seed.as_bytes()))
}

/// A client message id for messages the server creates (notifications, HTTP send_msg).
pub fn generated_client_msg_id(send_id: &str) -> String {
    let seed = format!(
        "{send_id}-{}-{}",
        rill_core::now_ms(),
        uuid::Uuid::new_v4().simple()
    );
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
            for k in [
                CONVERSATION_UPDATE,
                SENDER_CONVERSATION_UPDATE,
                UNREAD_COUNT,
                OFFLINE_PUSH,
            ] {
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
    #[tracing::instrument(skip_all, fields(send_id = %msg.send_id, client_msg_id = %msg.client_msg_id))]
    pub async fn send_message(
        &self,
        caller: &Caller,
        mut msg: MsgData,
    ) -> Result<SendMsgResp, AppError> {
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
    pub async fn send_system_message(&self, msg: MsgData) -> Result<SendMsgResp, AppError> {
        Ok(self.send_system_message_seq(msg).await?.0)
    }

    /// [`send_system_message`](Self::send_system_message), also returning the seq the log
    /// assigned (`None` for an online-only message).
    pub async fn send_system_message_seq(
        &self,
        mut msg: MsgData,
    ) -> Result<(SendMsgResp, Option<i64>), AppError> {
        if msg.msg_from == 0 {
            msg.msg_from = msg_from::SYSTEM;
        }
        encapsulate(&mut msg);
        self.store_or_push_seq(msg).await
    }

    /// Single-chat rules: admins and notification content types skip them; the receiver must
    /// exist and accept messages (global and per-conversation recvMsgOpt).
    async fn verify_single(&self, msg: &mut MsgData) -> Result<(), AppError> {
        if msg.recv_id.is_empty() {
            return Err(AppError::args("recvID is empty"));
        }
        let exempt =
            self.config().is_admin(&msg.send_id) || content::is_notification(msg.content_type);
        let conversation_id = rill_core::conversation::single(&msg.send_id, &msg.recv_id);
        // Three independent reads: issued together they share one Redis round trip (the
        // multiplexed connection writes them in one go). Their answers are judged below in
        // OpenIM's order, so which error a bad send gets does not change.
        let (global, relation, conversation_opt) = tokio::join!(
            self.receiver_global_opt(&msg.recv_id),
            async {
                if exempt {
                    return Ok(());
                }
                self.check_single_chat_relation(&msg.send_id, &msg.recv_id)
                    .await
            },
            async {
                if exempt {
                    return Ok(None);
                }
                self.conversation_opt(&msg.recv_id, &conversation_id).await
            },
        );
        let global = global?.ok_or_else(|| {
            AppError::coded(
                ErrCode::RecordNotFound,
                format!("userID not found: {}", msg.recv_id),
            )
        })?;
        if exempt {
            return Ok(());
        }
        relation?;
        match global {
            recv_opt::NOT_RECEIVE => return Err(AppError::args("message is not sent")),
            recv_opt::RECEIVE_NOT_NOTIFY => {
                set_option(msg, options::OFFLINE_PUSH, false);
                return Ok(());
            }
            _ => {}
        }
        match conversation_opt? {
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

    /// The receiver's global recvMsgOpt, `None` when the user does not exist. Read through the
    /// process tier ([`crate::send_checks`]), then the Redis user cache (Mongo only on a miss),
    /// so sends keep working while Mongo is down. Only registered users are kept in the process
    /// tier: a user registered a moment ago must not be refused by a stale "not found".
    async fn receiver_global_opt(&self, user_id: &str) -> Result<Option<i32>, AppError> {
        self.send_checks()
            .global_opts
            .read_through(
                user_id.to_string(),
                async {
                    let brief = self.user_brief(user_id).await?;
                    Ok(brief.map(|u| u.global_recv_msg_opt))
                },
                Option::is_some,
            )
            .await
    }

    /// The owner's recvMsgOpt for a conversation (`None`: no row yet, i.e. receive).
    async fn conversation_opt(
        &self,
        owner: &str,
        conversation_id: &str,
    ) -> Result<Option<i32>, AppError> {
        // Redis only (written through by set_conversations): sends must not wait on Mongo.
        self.send_checks()
            .conversation_opts
            .read_through(
                (owner.to_string(), conversation_id.to_string()),
                self.recv_opt(owner, conversation_id),
                |_| true,
            )
            .await
    }

    /// Group rules (existence, dismissal, membership, mutes; OpenIM's `messageVerification`),
    /// checked against the cached membership snapshot, so the send path reads no Mongo.
    async fn verify_group(&self, msg: &MsgData) -> Result<(), AppError> {
        if msg.group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        let snap = self.group_snapshot(&msg.group_id).await?;
        crate::membership::rules::check_send(
            &snap,
            &crate::membership::rules::GroupSend {
                send_id: &msg.send_id,
                content_type: msg.content_type,
                sender_is_admin: self.config().is_admin(&msg.send_id),
                now_ms: rill_core::now_ms(),
            },
        )
    }

    /// Appends a validated, encapsulated message; online-only messages are pushed directly.
    async fn store_or_push(&self, msg: MsgData) -> Result<SendMsgResp, AppError> {
        Ok(self.store_or_push_seq(msg).await?.0)
    }

    /// [`store_or_push`](Self::store_or_push) with the assigned seq (`None`: online only).
    async fn store_or_push_seq(
        &self,
        msg: MsgData,
    ) -> Result<(SendMsgResp, Option<i64>), AppError> {
        if !options::is_set(&msg.options, options::HISTORY) {
            let stored: Message = msg.clone().into();
            let conversation_id = stored
                .conversation_id()
                .ok_or_else(|| AppError::args("unknown sessionType"))?;
            let recipients = self.recipients(&stored).await?;
            let out = Outgoing {
                conversation_id,
                message: msg.clone(),
                recipients,
            };
            self.deliver_online(std::slice::from_ref(&out)).await?;
            metrics::counter!("rill_messages_sent_total", "stored" => "false").increment(1);
            return Ok((ack(&msg), None));
        }
        // The message moves into the stored form; the ack is taken first.
        let this_ack = ack(&msg);
        let stored: Message = msg.into();
        let conversation_id = stored
            .conversation_id()
            .ok_or_else(|| AppError::args("unknown sessionType"))?;
        // The trace context rides in the entry, so the workers' spans join the sender's trace.
        let (traceparent, tracestate) = rill_telemetry::current_trace_context();
        let envelope = Envelope::new(Event::Message(stored)).with_trace(rill_log::TraceContext {
            traceparent,
            tracestate,
        });
        let appended = self
            .log()
            .append(&conversation_id, &this_ack.client_msg_id, &envelope)
            .await?;
        metrics::counter!("rill_messages_sent_total", "stored" => "true").increment(1);
        if appended.duplicate {
            metrics::counter!("rill_messages_duplicate_sends_total").increment(1);
            let first = self
                .first_ack(&conversation_id, appended.seq, this_ack)
                .await;
            return Ok((first, Some(appended.seq)));
        }
        Ok((this_ack, Some(appended.seq)))
    }

    /// The ack of the first send of a retried clientMsgID (from the hot window, else history);
    /// falls back to this attempt's ack if the first copy cannot be read.
    async fn first_ack(&self, conversation_id: &str, seq: i64, retry: SendMsgResp) -> SendMsgResp {
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
            _ => retry,
        }
    }

    /// Who gets a message online (OpenIM's push rules): single and notification chats go to
    /// the receiver and, with `senderSync`, to every connection of the sender too (that is how
    /// the sender's devices learn the seq). Group chats go to every member, the sender
    /// included whatever `senderSync` says (OpenIM's `Push2Group`), plus the users a
    /// MemberQuit/MemberKicked notice is about, who are no longer members by then.
    pub async fn recipients(&self, msg: &Message) -> Result<Vec<String>, AppError> {
        match msg.session_type {
            session::READ_GROUP => {
                let snap = self.group_snapshot(&msg.group_id).await?;
                Ok(crate::membership::rules::recipients(
                    &snap,
                    msg.content_type,
                    &msg.content,
                ))
            }
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

    /// [`recipients`](Self::recipients) of many messages (a push batch), reading the
    /// snapshots of all their groups in one round trip.
    pub async fn recipients_many(&self, msgs: &[&Message]) -> Result<Vec<Vec<String>>, AppError> {
        let mut groups: Vec<&str> = msgs
            .iter()
            .filter(|m| m.session_type == session::READ_GROUP)
            .map(|m| m.group_id.as_str())
            .collect();
        groups.sort_unstable();
        groups.dedup();
        let snaps: HashMap<&str, _> = groups
            .iter()
            .copied()
            .zip(self.group_snapshots(&groups).await?)
            .collect();
        let mut out = Vec::with_capacity(msgs.len());
        for m in msgs {
            match snaps.get(m.group_id.as_str()) {
                Some(snap) if m.session_type == session::READ_GROUP => out.push(
                    crate::membership::rules::recipients(snap, m.content_type, &m.content),
                ),
                _ => out.push(self.recipients(m).await?),
            }
        }
        Ok(out)
    }

    /// Hands messages to the gateways holding their recipients' live connections: one
    /// presence lookup for all recipients, then one delivery per gateway per message (never
    /// per member), written in one pipeline (`delivery::send_many` packs each gateway's into
    /// few stream entries). Order within a conversation is kept: each gateway's deliveries
    /// are written in the order of `items`.
    pub async fn deliver_online(&self, items: &[Outgoing]) -> Result<DeliveryReport, AppError> {
        // A batch may hold many messages to one big group: dedup before cloning.
        let mut unique: Vec<&str> = items
            .iter()
            .flat_map(|o| o.recipients.iter().map(String::as_str))
            .collect();
        unique.sort_unstable();
        unique.dedup();
        let users: Vec<String> = unique.into_iter().map(str::to_string).collect();
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
            let mut seen: HashSet<&str> = HashSet::with_capacity(item.recipients.len());
            for user in &item.recipients {
                if !seen.insert(user.as_str()) {
                    continue;
                }
                let Some(conns) = by_user.get(user.as_str()) else {
                    continue;
                };
                let live: Vec<&presence::Presence> =
                    conns.iter().filter(|p| !skips_online_push(p)).collect();
                if !live.is_empty() {
                    report.online_recipients += 1;
                }
                for p in live {
                    let targets = gateways.entry(p.gateway_id.as_str()).or_default();
                    // A user's connections are visited together, so a user already added to
                    // this gateway is its last entry: O(1) per connection, not a scan of
                    // thousands of group members.
                    if targets.last() != Some(user) {
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
        report.deliveries = batch.len();
        delivery::send_many(&mut conn, &keys, &batch).await?;
        Ok(report)
    }
}

/// The body of HTTP `/msg/send_msg` (OpenIM's `apistruct.SendMsgReq`): the content is a JSON
/// object validated against the element schema of its content type.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ApiSendMsg {
    #[serde(rename = "sendID")]
    pub send_id: String,
    #[serde(rename = "recvID")]
    pub recv_id: String,
    #[serde(rename = "groupID")]
    pub group_id: String,
    #[serde(rename = "senderNickname")]
    pub sender_nickname: String,
    #[serde(rename = "senderFaceURL")]
    pub sender_face_url: String,
    #[serde(rename = "senderPlatformID")]
    pub sender_platform_id: i32,
    pub content: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(rename = "contentType")]
    pub content_type: i32,
    #[serde(rename = "sessionType")]
    pub session_type: i32,
    #[serde(rename = "isOnlineOnly")]
    pub is_online_only: bool,
    #[serde(rename = "notOfflinePush")]
    pub not_offline_push: bool,
    #[serde(rename = "sendTime")]
    pub send_time: i64,
    #[serde(rename = "offlinePushInfo")]
    pub offline_push_info: Option<rill_wire::pb::sdkws::OfflinePushInfo>,
    pub ex: String,
}

type JsonMap = serde_json::Map<String, serde_json::Value>;

/// A string field that `validate:"required"` accepts (present, non-empty; numbers pass as
/// mapstructure's weak decoding turns them into strings).
fn required_str(c: &JsonMap, key: &str) -> Result<(), AppError> {
    match c.get(key) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(()),
        Some(serde_json::Value::Number(_)) => Ok(()),
        _ => Err(AppError::args(format!(
            "validation error: {key} is required"
        ))),
    }
}

/// A number field (numbers or numeric strings, weakly decoded) that must be at least `min`.
fn required_num(c: &JsonMap, key: &str, min: f64) -> Result<(), AppError> {
    let v = match c.get(key) {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.parse::<f64>().ok(),
        _ => None,
    };
    match v {
        Some(v) if v != 0.0 && v >= min => Ok(()),
        _ => Err(AppError::args(format!(
            "validation error: {key} is required"
        ))),
    }
}

/// OpenIM's element checks for HTTP send_msg; returns the @-list of an AtText message.
fn validate_content(content_type: i32, c: &JsonMap) -> Result<Vec<String>, AppError> {
    match content_type {
        content::TEXT | content::MARKDOWN_TEXT => required_str(c, "content")?,
        content::PICTURE => {
            for k in ["sourcePicture", "bigPicture", "snapshotPicture"] {
                if !c.get(k).is_some_and(serde_json::Value::is_object) {
                    return Err(AppError::args(format!("validation error: {k} is required")));
                }
            }
        }
        content::VOICE => {
            required_str(c, "sourceUrl")?;
            required_num(c, "duration", 1.0)?;
        }
        content::VIDEO => {
            for k in ["videoUrl", "videoType", "snapshotUrl"] {
                required_str(c, k)?;
            }
            for k in ["videoSize", "duration", "snapshotWidth", "snapshotHeight"] {
                required_num(c, k, f64::MIN)?;
            }
        }
        content::FILE => {
            required_str(c, "sourceUrl")?;
            required_str(c, "fileName")?;
            required_num(c, "fileSize", f64::MIN)?;
        }
        content::AT_TEXT => {
            let list = match c.get("atUserList") {
                Some(serde_json::Value::Array(a)) => a,
                _ => return Err(AppError::args("validation error: atUserList is required")),
            };
            if list.len() > 1000 {
                return Err(AppError::args(
                    "validation error: atUserList has more than 1000 users",
                ));
            }
            return Ok(list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect());
        }
        content::CUSTOM => required_str(c, "data")?,
        content::QUOTE => {}
        content::OA_NOTIFICATION => {
            required_str(c, "notificationName")?;
            required_num(c, "notificationType", f64::MIN)?;
            required_str(c, "text")?;
            let mix = c
                .get("mixType")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(0);
            if !(0..=5).contains(&mix) {
                return Err(AppError::args("validation error: mixType must be 0..5"));
            }
        }
        _ => {
            return Err(AppError::args(format!(
                "unsupported content type {content_type}"
            )));
        }
    }
    Ok(Vec::new())
}

impl App {
    /// HTTP `/msg/send_msg` (app admins only): builds the message from OpenIM's apistruct
    /// body (system message, generated clientMsgID, `isOnlineOnly`/`notOfflinePush` as
    /// options) and sends it like any other.
    pub async fn send_msg_http(
        &self,
        caller: &Caller,
        req: ApiSendMsg,
    ) -> Result<SendMsgResp, AppError> {
        if req.send_id.is_empty() {
            return Err(AppError::args("sendID is required"));
        }
        let Some(body) = req.content.as_ref() else {
            return Err(AppError::args("content is required"));
        };
        if req.content_type == 0 {
            return Err(AppError::args("contentType is required"));
        }
        if req.session_type == 0 {
            return Err(AppError::args("sessionType is required"));
        }
        if !caller.is_admin {
            return Err(AppError::no_permission("only app manager can send message"));
        }
        let at_users = validate_content(req.content_type, body)?;
        let mut session_type = req.session_type;
        let encoded = serde_json::Value::Object(body.clone()).to_string();
        let content = if req.content_type == content::OA_NOTIFICATION {
            session_type = session::NOTIFICATION;
            let sender = self.user_brief(&req.send_id).await?;
            if !sender.is_some_and(|u| {
                u.app_manger_level == rill_core::types::app_manager_level::NOTIFICATION_ACCOUNT
            }) {
                return Err(AppError::coded(
                    ErrCode::RecordNotFound,
                    format!("notification account {} not found", req.send_id),
                ));
            }
            serde_json::json!({ "detail": encoded }).to_string()
        } else {
            encoded
        };
        let mut opts = BTreeMap::new();
        if req.is_online_only {
            for k in [
                options::HISTORY,
                options::PERSISTENT,
                options::SENDER_SYNC,
                options::CONVERSATION_UPDATE,
            ] {
                opts.insert(k.to_string(), false);
            }
        }
        if req.not_offline_push {
            opts.insert(options::OFFLINE_PUSH.to_string(), false);
        }
        let msg = MsgData {
            send_id: req.send_id.clone(),
            recv_id: req.recv_id,
            group_id: req.group_id,
            client_msg_id: generated_client_msg_id(&req.send_id),
            sender_platform_id: req.sender_platform_id,
            sender_nickname: req.sender_nickname,
            sender_face_url: req.sender_face_url,
            session_type,
            msg_from: msg_from::SYSTEM,
            content_type: req.content_type,
            content: content.into_bytes(),
            create_time: rill_core::now_ms(),
            send_time: req.send_time,
            options: opts,
            offline_push_info: req.offline_push_info,
            at_user_id_list: at_users,
            ex: req.ex,
            ..Default::default()
        };
        self.send_message(caller, msg).await
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
        assert_eq!(
            check_shape(&m).err().map(|e| e.detail()).as_deref(),
            Some("content is empty")
        );
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

    fn obj(v: serde_json::Value) -> JsonMap {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn http_content_is_checked_per_content_type() {
        use serde_json::json;
        assert!(validate_content(101, &obj(json!({"content": "hi"}))).is_ok());
        assert!(validate_content(101, &obj(json!({"content": ""}))).is_err());
        assert!(validate_content(101, &obj(json!({}))).is_err());
        assert!(validate_content(103, &obj(json!({"sourceUrl": "u", "duration": 0}))).is_err());
        assert!(validate_content(103, &obj(json!({"sourceUrl": "u", "duration": "3"}))).is_ok());
        assert!(
            validate_content(
                105,
                &obj(json!({"sourceUrl": "u", "fileName": "f", "fileSize": 1}))
            )
            .is_ok()
        );
        assert!(validate_content(110, &obj(json!({"data": "d"}))).is_ok());
        let at = validate_content(106, &obj(json!({"text": "@u2", "atUserList": ["u2"]})));
        assert_eq!(at.ok(), Some(vec!["u2".to_string()]));
        let e = validate_content(109, &obj(json!({"longitude": 1, "latitude": 2})));
        assert_eq!(e.err().map(|e| e.code()), Some(ErrCode::Args));
        assert!(validate_content(1400, &obj(json!({"notificationName": "n", "notificationType": 1, "text": "t", "mixType": 9}))).is_err());
        assert!(
            validate_content(
                1400,
                &obj(json!({"notificationName": "n", "notificationType": 1, "text": "t"}))
            )
            .is_ok()
        );
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
