//! A connected simulated user: a reader task that decodes every frame and hands it to the
//! scenario's [`Handler`], and a writer half shared by the scenario's sender and the heartbeat.

use super::conn::{self, GatewayAddr, Login, Ws};
use super::frame::{FrameCodec, Wire};
use super::gob::{Req, Resp};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// WS request identifiers the tool uses (protocol.md §2.3).
pub const GET_NEWEST_SEQ: i32 = 1001;
pub const SEND_MSG: i32 = 1003;
pub const PUSH_MSG: i32 = 2001;
pub const KICK: i32 = 2002;

/// What a scenario does with incoming frames. Called on the connection's reader task: keep it
/// short and non-blocking.
pub trait Handler: Send + Sync + 'static {
    fn on_resp(&self, conn: usize, resp: Resp);
    fn on_pong(&self, _conn: usize) {}
    /// The connection ended (closed by the server, an error, or an undecodable frame).
    fn on_end(&self, conn: usize, why: String);
}

struct Writer {
    sink: SplitSink<Ws, Message>,
    codec: FrameCodec,
}

pub struct Conn {
    pub index: usize,
    pub user_id: String,
    writer: Mutex<Writer>,
    reader: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Conn {
    pub async fn open(
        gw: &GatewayAddr,
        login: &Login,
        wire: Wire,
        source: Option<IpAddr>,
        index: usize,
        handler: Arc<dyn Handler>,
    ) -> anyhow::Result<Arc<Conn>> {
        let ws = conn::connect(gw, login, wire, source).await?;
        let (sink, stream) = ws.split();
        let reader = tokio::spawn(read_loop(stream, wire.codec(), index, handler));
        Ok(Arc::new(Conn {
            index,
            user_id: login.user_id.clone(),
            writer: Mutex::new(Writer {
                sink,
                codec: wire.codec(),
            }),
            reader,
        }))
    }

    /// Encodes and writes one request.
    pub async fn send(&self, req: &Req) -> anyhow::Result<()> {
        let mut w = self.writer.lock().await;
        let frame = w.codec.encode(req);
        w.sink.send(Message::Binary(frame.into())).await?;
        Ok(())
    }

    /// A request with `data` from this connection's user.
    pub fn req(&self, ident: i32, msg_incr: String, data: Vec<u8>) -> Req {
        Req {
            req_identifier: ident,
            token: String::new(),
            send_id: self.user_id.clone(),
            operation_id: msg_incr.clone(),
            msg_incr,
            data,
        }
    }

    /// A WS ping, as the Go SDK sends every ~24 s (the server's read deadline is 30 s).
    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut w = self.writer.lock().await;
        w.sink.send(Message::Ping(b"bench".to_vec().into())).await?;
        Ok(())
    }

    pub async fn close(&self) {
        let mut w = self.writer.lock().await;
        let _ = tokio::time::timeout(Duration::from_secs(1), w.sink.close()).await;
    }

    pub fn is_finished(&self) -> bool {
        self.reader.is_finished()
    }
}

async fn read_loop(
    mut stream: SplitStream<Ws>,
    mut codec: FrameCodec,
    index: usize,
    handler: Arc<dyn Handler>,
) {
    let why = loop {
        match stream.next().await {
            Some(Ok(Message::Binary(bytes))) => match codec.decode(&bytes) {
                Ok(resp) => handler.on_resp(index, resp),
                Err(e) => break format!("undecodable frame: {e}"),
            },
            Some(Ok(Message::Pong(_))) => handler.on_pong(index),
            // Text frames: the JSON connect ack (already read) or a text pong.
            Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Frame(_))) => {}
            Some(Ok(Message::Close(frame))) => break format!("closed by the server: {frame:?}"),
            Some(Err(e)) => break format!("read error: {e}"),
            None => break "connection ended".to_string(),
        }
    };
    handler.on_end(index, why);
}

/// Pings every connection once per `every`, spread over the interval, until cancelled.
pub fn heartbeat(
    conns: Vec<Arc<Conn>>,
    every: Duration,
    stop: tokio_util::sync::CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        if conns.is_empty() {
            return;
        }
        // At most 100 timer waits per round, whatever the connection count.
        let rounds = 100usize;
        let chunk = conns.len().div_ceil(rounds);
        let gap = every / conns.len().div_ceil(chunk) as u32;
        loop {
            for batch in conns.chunks(chunk) {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(gap) => {}
                }
                for c in batch {
                    if !c.is_finished() {
                        let _ = c.ping().await;
                    }
                }
            }
        }
    })
}
