//! The gateway's shared state: its local connections (user → connections), registration with
//! presence and the multi-login policy, and local delivery of pushes and kicks.
//!
//! The connection map is a std mutex held only to clone or edit a user's entry; nothing awaits
//! while holding it. Frames are queued on each connection's bounded writer queue with
//! `try_send`: a client that does not read fills its queue and is closed, never slowing others.

use crate::Config;
use crate::conn::Outbound;
use crate::push_frame;
use crate::queue::{PushError, WriteQueue};
use axum::extract::ws::Message;
use rill_app::App;
use rill_app::tokens;
use rill_core::Platform;
use rill_core::platform::PlatformClass;
use rill_log::delivery::{self, Delivery};
use rill_log::presence::{self, Presence};
use rill_wire::frame::{Compression, Encoding, WsResp, encode_resp};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// WS push identifiers (protocol.md §2.3).
pub const PUSH_MSG: i32 = 2001;
pub const KICK_ONLINE: i32 = 2002;

/// One live WebSocket connection.
pub struct Conn {
    pub id: String,
    pub user_id: String,
    pub platform_id: i32,
    pub token: String,
    pub encoding: Encoding,
    pub compression: Compression,
    pub background: AtomicBool,
    /// True while counted and recorded in presence; cleared by the one unregister that undoes it.
    registered: AtomicBool,
    /// Users this connection subscribed to with 2005 (for status updates).
    pub subscriptions: Mutex<std::collections::HashSet<String>>,
    /// Frames for the writer task.
    pub(crate) queue: WriteQueue,
    /// Cancelled when the connection must end (bad frame, overflow, kick done, shutdown).
    pub closed: CancellationToken,
}

impl Conn {
    pub fn new(id: String, params: &crate::handshake::ConnParams, write_queue: usize) -> Self {
        Conn {
            id,
            user_id: params.user_id.clone(),
            platform_id: params.platform_id,
            token: params.token.clone(),
            encoding: params.encoding,
            compression: params.compression,
            background: AtomicBool::new(params.background),
            registered: AtomicBool::new(false),
            subscriptions: Mutex::new(Default::default()),
            queue: WriteQueue::new(write_queue),
            closed: CancellationToken::new(),
        }
    }

    /// Queues a frame; a full queue closes the connection (the client is not reading).
    pub fn send(&self, out: Outbound) -> bool {
        match self.queue.push(out) {
            Ok(()) => true,
            Err(PushError::Full) => {
                tracing::warn!(conn = %self.id, user = %self.user_id, "write queue full; closing");
                metrics::counter!("rill_gateway_write_overflows_total").increment(1);
                self.closed.cancel();
                false
            }
            Err(PushError::Closed) => false,
        }
    }

    /// Queues a reply or push, encoded for this connection.
    pub fn send_resp(&self, resp: &WsResp) -> bool {
        let frame = encode_resp(resp, self.encoding, self.compression);
        self.send(Outbound::Frame(Message::Binary(frame.into())))
    }

    /// Sends 2002 and then closes (after the frame is written).
    pub fn kick(&self) {
        metrics::counter!("rill_gateway_kicks_total").increment(1);
        if self.send_resp(&WsResp::push(KICK_ONLINE, Vec::new())) {
            self.send(Outbound::Close);
        }
    }

    pub fn is_background(&self) -> bool {
        self.background.load(Ordering::Relaxed)
    }

    fn presence(&self, gateway_id: &str) -> Presence {
        Presence {
            gateway_id: gateway_id.to_string(),
            conn_id: self.id.clone(),
            platform_id: self.platform_id,
            token: self.token.clone(),
            background: self.is_background(),
        }
    }
}

/// Everything the gateway's tasks share.
pub struct Hub {
    pub app: App,
    pub config: Config,
    pub gateway_id: String,
    conns: Mutex<HashMap<String, Vec<Arc<Conn>>>>,
    count: AtomicUsize,
    next_id: AtomicU64,
    pub shutdown: CancellationToken,
    /// Connection tasks, so shutdown can wait for them.
    pub tracker: TaskTracker,
}

impl Hub {
    pub fn new(app: App, config: Config, gateway_id: String, shutdown: CancellationToken) -> Self {
        Hub {
            app,
            config,
            gateway_id,
            conns: Mutex::new(HashMap::new()),
            count: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            shutdown,
            tracker: TaskTracker::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Arc<Conn>>>> {
        // A panic while holding the lock leaves the map consistent (edits are single calls).
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn connection_count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// A connection id unique across gateways.
    pub fn next_conn_id(&self) -> String {
        format!(
            "{}-{}",
            self.gateway_id,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The local connections of a user (a snapshot).
    pub fn user_conns(&self, user_id: &str) -> Vec<Arc<Conn>> {
        self.lock().get(user_id).cloned().unwrap_or_default()
    }

    /// Every local connection with its user (a snapshot).
    pub fn all_conns(&self) -> Vec<Arc<Conn>> {
        self.lock().values().flatten().cloned().collect()
    }

    /// Adds a connection locally and to presence, then applies the multi-login policy.
    pub async fn register(&self, conn: Arc<Conn>) {
        conn.registered.store(true, Ordering::Relaxed);
        {
            let mut map = self.lock();
            map.entry(conn.user_id.clone())
                .or_default()
                .push(conn.clone());
        }
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!("rill_gateway_connections").set(n as f64);
        let keys = self.app.log().keys().clone();
        let mut redis = self.app.redis();
        if let Err(e) = presence::register(
            &mut redis,
            &keys,
            &conn.user_id,
            &conn.presence(&self.gateway_id),
        )
        .await
        {
            tracing::warn!(error = %e, user = %conn.user_id, "recording presence failed");
        }
        if let Err(e) = self.enforce_multi_login(&conn).await {
            tracing::warn!(error = %e, user = %conn.user_id, "multi-login check failed");
        }
    }

    /// Removes a connection locally and from presence (idempotent).
    pub async fn unregister(&self, conn: &Arc<Conn>) {
        self.lock_remove(conn);
        if !conn.registered.swap(false, Ordering::Relaxed) {
            return;
        }
        let n = self.count.fetch_sub(1, Ordering::Relaxed).saturating_sub(1);
        metrics::gauge!("rill_gateway_connections").set(n as f64);
        let keys = self.app.log().keys().clone();
        let mut redis = self.app.redis();
        if let Err(e) =
            presence::unregister(&mut redis, &keys, &conn.user_id, &self.gateway_id, &conn.id).await
        {
            tracing::warn!(error = %e, user = %conn.user_id, "removing presence failed");
        }
    }

    /// Rewrites a connection's presence (background flag changed).
    pub async fn refresh_presence(&self, conn: &Conn) {
        let keys = self.app.log().keys().clone();
        let mut redis = self.app.redis();
        if let Err(e) = presence::register(
            &mut redis,
            &keys,
            &conn.user_id,
            &conn.presence(&self.gateway_id),
        )
        .await
        {
            tracing::warn!(error = %e, user = %conn.user_id, "updating presence failed");
        }
    }

    /// Re-records every local connection (after this gateway's records were swept).
    pub async fn reregister_all(&self) -> Result<(), rill_log::LogError> {
        let entries: Vec<(String, Presence)> = self
            .all_conns()
            .iter()
            .map(|c| (c.user_id.clone(), c.presence(&self.gateway_id)))
            .collect();
        let keys = self.app.log().keys().clone();
        presence::register_many(&mut self.app.redis(), &keys, &entries).await
    }

    /// OpenIM's multi-terminal check on connect (protocol.md §2.5): connections the policy
    /// forbids next to the new one get 2002 and are closed, on this gateway directly and on
    /// others through their delivery streams; their tokens are marked kicked.
    async fn enforce_multi_login(&self, new: &Conn) -> Result<(), rill_app::AppError> {
        let policy = self.app.config().multi_login_policy;
        let Some(new_platform) = Platform::from_id(new.platform_id) else {
            return Ok(());
        };
        let victim = |p: &Presence| -> bool {
            if p.conn_id == new.id || p.token == new.token {
                return false;
            }
            let Some(other) = Platform::from_id(p.platform_id) else {
                return false;
            };
            match policy {
                tokens::policy::ALL_LOGIN_BUT_SAME_TERM_KICK => other == new_platform,
                tokens::policy::ALL_LOGIN_BUT_SAME_CLASS_KICK => {
                    other.class() == new_platform.class()
                }
                tokens::policy::PC_AND_OTHER => {
                    new_platform.class() != PlatformClass::Pc && other.class() != PlatformClass::Pc
                }
                _ => false,
            }
        };
        if !matches!(
            policy,
            tokens::policy::ALL_LOGIN_BUT_SAME_TERM_KICK
                | tokens::policy::ALL_LOGIN_BUT_SAME_CLASS_KICK
                | tokens::policy::PC_AND_OTHER
        ) {
            return Ok(());
        }
        let keys = self.app.log().keys().clone();
        let mut redis = self.app.redis();
        let mut victims: Vec<Presence> = presence::connections(&mut redis, &keys, &new.user_id)
            .await?
            .into_iter()
            .filter(|p| victim(p))
            .collect();
        // Local connections not yet visible in presence still count.
        for c in self.user_conns(&new.user_id) {
            let p = c.presence(&self.gateway_id);
            if victim(&p) && !victims.iter().any(|v| v.conn_id == p.conn_id) {
                victims.push(p);
            }
        }
        if victims.is_empty() {
            return Ok(());
        }
        let mut remote: BTreeSet<(String, i32)> = BTreeSet::new();
        let mut kicked_tokens: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        for v in &victims {
            kicked_tokens
                .entry(v.platform_id)
                .or_default()
                .push(v.token.clone());
            if v.gateway_id == self.gateway_id {
                for c in self.user_conns(&new.user_id) {
                    if c.id == v.conn_id {
                        self.lock_remove(&c);
                        c.kick();
                    }
                }
            } else {
                remote.insert((v.gateway_id.clone(), v.platform_id));
            }
        }
        let batch: Vec<(String, Delivery)> = remote
            .into_iter()
            .map(|(gw, platform_id)| {
                let kick = Delivery::Kick {
                    user_id: new.user_id.clone(),
                    platform_id,
                    spare_token: Some(new.token.clone()),
                };
                (gw, kick)
            })
            .collect();
        delivery::send_many(&mut redis, &keys, &batch).await?;
        // The kicked tokens stop working too (OpenIM's InvalidateToken / KickTokens).
        let mut pipe = redis::pipe();
        for (platform_id, list) in &kicked_tokens {
            let Some(p) = Platform::from_id(*platform_id) else {
                continue;
            };
            let key = tokens::table_key(&keys, &new.user_id, p);
            for t in list {
                pipe.cmd("HSET")
                    .arg(&key)
                    .arg(t)
                    .arg(tokens::state::KICKED)
                    .ignore();
            }
        }
        pipe.query_async::<()>(&mut redis).await?;
        Ok(())
    }

    /// Drops a connection from the local map right away (it is being kicked), so pushes stop.
    fn lock_remove(&self, conn: &Arc<Conn>) {
        let mut map = self.lock();
        if let Some(list) = map.get_mut(&conn.user_id) {
            list.retain(|c| !Arc::ptr_eq(c, conn));
            if list.is_empty() {
                map.remove(&conn.user_id);
            }
        }
    }

    /// Applies one entry of this gateway's delivery stream.
    pub fn deliver(&self, d: Delivery) {
        match d {
            Delivery::Push {
                user_ids,
                conversation_id,
                message,
            } => self.push_local(&user_ids, &conversation_id, message),
            Delivery::Kick {
                user_id,
                platform_id,
                spare_token,
            } => {
                for c in self.user_conns(&user_id) {
                    if c.platform_id == platform_id
                        && Some(c.token.as_str()) != spare_token.as_deref()
                    {
                        self.lock_remove(&c);
                        c.kick();
                    }
                }
            }
        }
    }

    /// Writes a 2001 push of one message (encoded `sdkws.MsgData`) to every local connection of
    /// `user_ids` (a backgrounded iOS app is skipped: OpenIM leaves it to offline push).
    pub fn push_local(&self, user_ids: &[String], conversation_id: &str, message: bytes::Bytes) {
        let Some(server_msg_id) = push_frame::server_msg_id(&message) else {
            tracing::warn!(conversation_id, "undecodable message in a push; skipped");
            return;
        };
        // The SDK runs its follow-up API calls (user info for a new conversation, ...) under
        // the push's operationID and refuses to call with an empty one; OpenIM forwards the
        // sender's. Ours is derived from the message, so it is stable across redeliveries.
        let mut resp = WsResp::push(PUSH_MSG, push_frame::body(conversation_id, message));
        resp.operation_id = format!("push_{server_msg_id}");
        // At most four encodings (gob/JSON × plain/gzip); encoded once each.
        let mut frames: Vec<((Encoding, Compression), bytes::Bytes)> = Vec::with_capacity(4);
        let mut pushed = 0u64;
        for user in user_ids {
            for c in self.user_conns(user) {
                if c.is_background() && c.platform_id == Platform::Ios.id() {
                    continue;
                }
                let kind = (c.encoding, c.compression);
                let frame = match frames.iter().find(|(k, _)| *k == kind) {
                    Some((_, f)) => f.clone(),
                    None => {
                        let f: bytes::Bytes = encode_resp(&resp, c.encoding, c.compression).into();
                        frames.push((kind, f.clone()));
                        f
                    }
                };
                if c.send(Outbound::Frame(Message::Binary(frame))) {
                    pushed += 1;
                }
            }
        }
        metrics::counter!("rill_gateway_pushes_total").increment(pushed);
    }
}
