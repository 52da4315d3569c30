//! Shared set-up of the gateway tests: a private Redis, a Mongo database, the App, a gateway
//! on a loopback port, the push worker, and a WebSocket client speaking OpenIM's frames.
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use rill_app::{App, AppConfig, Caller};
use rill_log::{Log, Topology};
use rill_testkit::{MongoServer, RedisServer, unique_name};
use rill_wire::frame::{Compression, Encoding, WsReq, WsResp, decode_resp, encode_req};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

pub const USERS: [&str; 4] = ["u1", "u2", "u3", "u4"];
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Env {
    pub redis: RedisServer,
    pub app: App,
    pub ws: SocketAddr,
    pub shutdown: CancellationToken,
    pub gateway: tokio::task::JoinHandle<Result<(), rill_gateway::Error>>,
}

pub fn topology() -> anyhow::Result<Topology> {
    let yaml = r#"
partitions: 4
key_prefix: rill
hot_window: 100000
log_retention: 7d
dedup_window: 1h
groups:
  push: { batch_size: 128, block: 50ms, claim_idle: 2s, max_deliveries: 5 }
"#;
    Ok(Topology::from_yaml_str(yaml)?.with_prefix(unique_name("g")))
}

pub fn admin() -> Caller {
    Caller {
        user_id: "imAdmin".into(),
        platform_id: 10,
        is_admin: true,
    }
}

pub async fn env() -> anyhow::Result<Env> {
    env_with(rill_gateway::Config::default()).await
}

/// Redis, Mongo, App with users u1..u4, a gateway on 127.0.0.1:0 and the push worker.
pub async fn env_with(config: rill_gateway::Config) -> anyhow::Result<Env> {
    let redis = RedisServer::start().await?;
    let log = Log::connect(redis.client(), topology()?).await?;
    let mongo = MongoServer::shared().await?;
    let store = rill_store::Store::connect(&mongo.uri(), &unique_name("gw")).await?;
    store.ensure_indexes().await?;
    let users: Vec<rill_store::users::UserDoc> = USERS
        .iter()
        .map(|u| rill_store::users::UserDoc {
            user_id: u.to_string(),
            nickname: format!("nick-{u}"),
            ..Default::default()
        })
        .collect();
    rill_store::users::insert_many(store.database(), &users).await?;
    let app = App::new(AppConfig::default(), log, store);
    let shutdown = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let ws = listener.local_addr()?;
    let gateway = tokio::spawn(rill_gateway::run(
        app.clone(),
        config,
        listener,
        shutdown.clone(),
    ));
    tokio::spawn(rill_push::run(
        app.clone(),
        "push-test".into(),
        shutdown.clone(),
    ));
    Ok(Env {
        redis,
        app,
        ws,
        shutdown,
        gateway,
    })
}

impl Env {
    pub async fn token(&self, user: &str, platform: i32) -> anyhow::Result<String> {
        Ok(self.app.user_token(&admin(), user, platform).await?.token)
    }

    pub fn url(&self, query: &str) -> String {
        format!("ws://{}/?{query}", self.ws)
    }

    /// A gob+gzip client as the Go SDK connects.
    pub async fn client(&self, user: &str, platform: i32) -> anyhow::Result<Client> {
        let token = self.token(user, platform).await?;
        self.client_with(user, &token, platform, "").await
    }

    pub async fn client_with(
        &self,
        user: &str,
        token: &str,
        platform: i32,
        extra: &str,
    ) -> anyhow::Result<Client> {
        let query = format!(
            "sendID={user}&token={token}&platformID={platform}&operationID=op&isBackground=false&compression=gzip{extra}"
        );
        let (ws, _) = tokio_tungstenite::connect_async(self.url(&query)).await?;
        let encoding = if extra.contains("sdkType=js") {
            Encoding::Json
        } else {
            Encoding::Gob
        };
        let mut c = Client {
            ws,
            user: user.to_string(),
            encoding,
            compression: Compression::Gzip,
            pushes: VecDeque::new(),
            incr: 0,
        };
        if extra.contains("isMsgResp=true") {
            let first = c.next_frame().await?;
            anyhow::ensure!(
                matches!(&first, Message::Text(t) if t.as_str() == r#"{"errCode":0,"errMsg":"","errDlt":""}"#),
                "expected the connect ack, got {first:?}"
            );
        }
        Ok(c)
    }

    /// A handshake the server refuses without upgrading: the JSON body it answers with.
    pub async fn refused(&self, query: &str) -> anyhow::Result<serde_json::Value> {
        match tokio_tungstenite::connect_async(self.url(query)).await {
            Ok(_) => anyhow::bail!("the handshake was accepted: {query}"),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                anyhow::ensure!(resp.status() == 200, "status {}", resp.status());
                let body = resp.body().clone().unwrap_or_default();
                Ok(serde_json::from_slice(&body)?)
            }
            Err(e) => anyhow::bail!("unexpected handshake error {e}"),
        }
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub user: String,
    pub encoding: Encoding,
    pub compression: Compression,
    /// Server pushes read while waiting for a reply.
    pub pushes: VecDeque<WsResp>,
    incr: u64,
}

impl Client {
    pub async fn next_frame(&mut self) -> anyhow::Result<Message> {
        match tokio::time::timeout(WAIT, self.ws.next()).await {
            Err(_) => anyhow::bail!("no frame within {WAIT:?}"),
            Ok(None) => anyhow::bail!("connection ended"),
            Ok(Some(m)) => Ok(m?),
        }
    }

    pub fn frame(&mut self, id: i32, data: Vec<u8>) -> (String, Vec<u8>) {
        self.incr += 1;
        let msg_incr = format!("{}_{}", self.user, self.incr);
        let req = WsReq {
            req_identifier: id,
            token: String::new(),
            send_id: self.user.clone(),
            operation_id: format!("op-{}", self.incr),
            msg_incr: msg_incr.clone(),
            data,
        };
        (msg_incr, encode_req(&req, self.encoding, self.compression))
    }

    pub async fn send_raw(&mut self, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.ws.send(Message::Binary(bytes.into())).await?;
        Ok(())
    }

    /// Sends a request and waits for its reply (pushes read meanwhile are kept).
    pub async fn request(&mut self, id: i32, data: Vec<u8>) -> anyhow::Result<WsResp> {
        let (incr, bytes) = self.frame(id, data);
        self.send_raw(bytes).await?;
        loop {
            let resp = self.next_resp().await?;
            if resp.msg_incr == incr && resp.req_identifier == id {
                return Ok(resp);
            }
            self.pushes.push_back(resp);
        }
    }

    /// The next binary frame, decoded.
    pub async fn next_resp(&mut self) -> anyhow::Result<WsResp> {
        loop {
            match self.next_frame().await? {
                Message::Binary(b) => return Ok(decode_resp(&b, self.encoding, self.compression)?),
                Message::Close(c) => anyhow::bail!("closed: {c:?}"),
                _ => continue,
            }
        }
    }

    /// The next server push with `id` (2001, 2002, ...).
    pub async fn next_push(&mut self, id: i32) -> anyhow::Result<WsResp> {
        if let Some(i) = self.pushes.iter().position(|p| p.req_identifier == id)
            && let Some(p) = self.pushes.remove(i)
        {
            return Ok(p);
        }
        loop {
            let r = self.next_resp().await?;
            if r.req_identifier == id {
                return Ok(r);
            }
            self.pushes.push_back(r);
        }
    }

    /// The message of the next 2001 push, with its conversation.
    pub async fn next_message(
        &mut self,
    ) -> anyhow::Result<(String, rill_wire::pb::sdkws::MsgData)> {
        let p = self.next_push(2001).await?;
        let pm = rill_wire::pb::sdkws::PushMessages::decode(p.data.as_slice())?;
        let (conv, pulled) = pm
            .msgs
            .into_iter()
            .chain(pm.notification_msgs)
            .next()
            .ok_or_else(|| anyhow::anyhow!("empty push"))?;
        let msg = pulled
            .msgs
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no message"))?;
        Ok((conv, msg))
    }

    /// Reads until the server closes the connection; returns every binary frame seen.
    pub async fn until_closed(&mut self) -> anyhow::Result<Vec<WsResp>> {
        let mut seen = Vec::new();
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Err(_) => anyhow::bail!("the connection stayed open"),
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return Ok(seen),
                Ok(Some(Ok(Message::Binary(b)))) => {
                    if let Ok(r) = decode_resp(&b, self.encoding, self.compression) {
                        seen.push(r);
                    }
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Sends a text message through 1003 and returns the ack.
    pub async fn send_text(
        &mut self,
        to: &str,
        client_msg_id: &str,
        text: &str,
    ) -> anyhow::Result<WsResp> {
        let msg = text_msg(&self.user, to, client_msg_id, text);
        self.request(1003, msg.encode_to_vec()).await
    }
}

pub fn text_msg(
    from: &str,
    to: &str,
    client_msg_id: &str,
    text: &str,
) -> rill_wire::pb::sdkws::MsgData {
    rill_wire::pb::sdkws::MsgData {
        send_id: from.into(),
        recv_id: to.into(),
        client_msg_id: client_msg_id.into(),
        sender_platform_id: 3,
        session_type: 1,
        msg_from: 100,
        content_type: 101,
        content: serde_json::json!({ "content": text })
            .to_string()
            .into_bytes(),
        create_time: rill_core::now_ms(),
        status: 1,
        ..Default::default()
    }
}

/// Polls `f` until it is true or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let start = tokio::time::Instant::now();
    loop {
        if f().await? {
            return Ok(());
        }
        if start.elapsed() > within {
            anyhow::bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
