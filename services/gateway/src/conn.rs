//! One WebSocket connection: a reader loop (this task) that decodes requests and answers them
//! in order, and a writer task that drains the bounded queue onto the socket.
//!
//! The connection ends on: the client closing, 30 s without any frame, a frame that is not a
//! valid request for this connection (undecodable gob/JSON, gzip garbage, oversized, unknown
//! reqIdentifier, sendID of another user), a full write queue, a kick, a logout, or shutdown.
//! Only that connection ends; nothing else is touched.

use crate::dispatch::{self, After};
use crate::handshake::ConnParams;
use crate::hub::{Conn, Hub};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use rill_wire::frame::{TextAction, decode_req, handle_text};
use std::sync::Arc;
use std::time::Duration;

/// What the writer task is asked to do.
#[derive(Debug)]
pub enum Outbound {
    Frame(Message),
    /// Send a close frame after everything queued before it, then end the connection.
    Close,
}

/// Frames written with one flush at most (tungstenite also writes on its own once its buffer
/// passes `write_buffer_size`).
const FRAMES_PER_WRITE: u64 = 64;
/// Server ping period for Web clients (platform 5), as OpenIM.
const WEB_PING: Duration = Duration::from_secs(27);
/// How long a closing connection waits for its writer to flush.
const WRITER_GRACE: Duration = Duration::from_secs(2);

/// Runs one upgraded connection to its end.
///
/// The future lives as long as the connection, so it is kept small: the setup runs before it
/// (an async fn would keep its arguments, the socket and the handshake parameters, for its
/// whole life), and the larger futures that run once or per request (register, unregister,
/// each request) are boxed, existing only while they run.
pub fn serve(
    hub: Arc<Hub>,
    socket: WebSocket,
    params: &ConnParams,
) -> impl Future<Output = ()> + Send + use<> {
    let (conn, stream, writer) = start(&hub, socket, params);
    run(hub, conn, stream, writer)
}

async fn run(
    hub: Arc<Hub>,
    conn: Arc<Conn>,
    stream: futures_util::stream::SplitStream<WebSocket>,
    writer: tokio::task::JoinHandle<()>,
) {
    Box::pin(hub.register(conn.clone())).await;
    tracing::debug!(conn = %conn.id, user = %conn.user_id, platform = conn.platform_id, "connected");

    read_loop(&hub, &conn, stream).await;

    // Let the writer flush what is queued (a logout reply, a kick) and send the close frame;
    // a writer stuck on a client that does not read is aborted after the grace period.
    conn.send(Outbound::Close);
    Box::pin(hub.unregister(&conn)).await;
    let mut writer = writer;
    if tokio::time::timeout(WRITER_GRACE, &mut writer)
        .await
        .is_err()
    {
        conn.closed.cancel();
        let _ = tokio::time::timeout(WRITER_GRACE, writer).await;
    }
    tracing::debug!(conn = %conn.id, user = %conn.user_id, "disconnected");
}

/// The connection's state, its queued connect ack, and its writer task.
fn start(
    hub: &Hub,
    socket: WebSocket,
    params: &ConnParams,
) -> (
    Arc<Conn>,
    futures_util::stream::SplitStream<WebSocket>,
    tokio::task::JoinHandle<()>,
) {
    let (sink, stream) = socket.split();
    let conn = Arc::new(Conn::new(
        hub.next_conn_id(),
        params,
        hub.config.write_queue,
    ));
    if params.send_response {
        conn.send(Outbound::Frame(Message::Text(
            rill_wire::frame::connect_ack_ok().into(),
        )));
    }
    let ping = (params.platform_id == rill_core::Platform::Web.id()).then_some(WEB_PING);
    let writer = tokio::spawn(write_loop(sink, conn.clone(), ping));
    (conn, stream, writer)
}

async fn read_loop(
    hub: &Arc<Hub>,
    conn: &Arc<Conn>,
    mut stream: futures_util::stream::SplitStream<WebSocket>,
) {
    let read_timeout = Duration::from_secs(hub.config.read_timeout_secs.max(1));
    loop {
        let next = tokio::select! {
            _ = conn.closed.cancelled() => return,
            _ = hub.shutdown.cancelled() => {
                conn.send(Outbound::Close);
                return;
            }
            next = tokio::time::timeout(read_timeout, stream.next()) => next,
        };
        let msg = match next {
            Err(_) => {
                tracing::debug!(conn = %conn.id, "read deadline passed");
                conn.send(Outbound::Close);
                return;
            }
            Ok(None) => return,
            Ok(Some(Err(e))) => {
                // Includes frames over the size limit.
                tracing::debug!(conn = %conn.id, error = %e, "read failed");
                metrics::counter!("rill_gateway_bad_frames_total").increment(1);
                return;
            }
            Ok(Some(Ok(m))) => m,
        };
        metrics::counter!("rill_gateway_frames_total", "dir" => "in").increment(1);
        let keep_going = match msg {
            Message::Binary(bytes) => on_binary(hub, conn, &bytes).await,
            Message::Text(text) => on_text(conn, text.as_str()),
            // tungstenite answers pings itself; any frame already reset the deadline.
            Message::Ping(_) | Message::Pong(_) => true,
            Message::Close(_) => return,
        };
        if !keep_going {
            return;
        }
    }
}

/// A request frame. Returns false when the connection must end.
async fn on_binary(hub: &Arc<Hub>, conn: &Arc<Conn>, bytes: &[u8]) -> bool {
    let req = match decode_req(bytes, conn.encoding, conn.compression) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(conn = %conn.id, user = %conn.user_id, error = %e, "undecodable frame; closing");
            metrics::counter!("rill_gateway_bad_frames_total").increment(1);
            conn.send(Outbound::Close);
            return false;
        }
    };
    if req.send_id != conn.user_id {
        tracing::info!(conn = %conn.id, user = %conn.user_id, send_id = %req.send_id,
            "request for another user; closing");
        metrics::counter!("rill_gateway_bad_frames_total").increment(1);
        conn.send(Outbound::Close);
        return false;
    }
    // Boxed: the request's state (the whole send path) is large, and inline it would sit in
    // every idle connection's future; boxed it exists only while a request runs.
    match Box::pin(dispatch::handle(hub, conn, &req)).await {
        Some((resp, after)) => {
            conn.send_resp(&resp);
            match after {
                After::Continue => true,
                After::Close => {
                    conn.send(Outbound::Close);
                    false
                }
            }
        }
        None => {
            tracing::info!(conn = %conn.id, req = req.req_identifier, "unknown reqIdentifier; closing");
            metrics::counter!("rill_gateway_bad_frames_total").increment(1);
            conn.send(Outbound::Close);
            false
        }
    }
}

/// The JSON heartbeat. Returns false when the connection must end.
fn on_text(conn: &Conn, text: &str) -> bool {
    match handle_text(text) {
        Ok(TextAction::Reply(pong)) => conn.send(Outbound::Frame(Message::Text(pong.into()))),
        Ok(TextAction::Ignore) => true,
        Err(e) => {
            tracing::info!(conn = %conn.id, error = %e, "bad text frame; closing");
            conn.send(Outbound::Close);
            false
        }
    }
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    conn: Arc<Conn>,
    ping: Option<Duration>,
) {
    // Once the writer is gone, sends fail and nothing more is queued.
    let _closing = conn.queue.close_on_drop();
    let mut ticker = ping.map(|p| {
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + p, p);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    loop {
        // Queued frames first, so a kick or logout reply goes out before the close.
        let first = tokio::select! {
            biased;
            out = conn.queue.pop() => out,
            _ = conn.closed.cancelled() => return,
            _ = tick(&mut ticker) => Outbound::Frame(Message::Ping(bytes::Bytes::new())),
        };
        // Everything queued behind the first frame goes out in the same write: a burst of
        // acks and pushes costs one syscall (on loopback, the sends were a quarter of the
        // server's CPU) instead of one per frame.
        let mut next = Some(first);
        let mut frames = 0u64;
        let mut last = false;
        let mut sent = true;
        while let Some(out) = next.take() {
            let frame = match out {
                Outbound::Frame(m) => m,
                Outbound::Close => {
                    last = true;
                    Message::Close(Some(normal_close()))
                }
            };
            sent = tokio::select! {
                r = sink.feed(frame) => r.is_ok(),
                _ = conn.closed.cancelled() => return,
            };
            frames += 1;
            if !sent || last || frames >= FRAMES_PER_WRITE {
                break;
            }
            next = conn.queue.try_pop();
        }
        if sent {
            sent = tokio::select! {
                r = sink.flush() => r.is_ok(),
                _ = conn.closed.cancelled() => return,
            };
        }
        if sent && !last {
            metrics::counter!("rill_gateway_frames_total", "dir" => "out").increment(frames);
            continue;
        }
        conn.closed.cancel();
        return;
    }
}

fn normal_close() -> CloseFrame {
    CloseFrame {
        code: 1000,
        reason: "".into(),
    }
}

async fn tick(ticker: &mut Option<tokio::time::Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending::<()>().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future a 4-argument async fn returns, without calling it.
    fn future_size4<F, A, B, C, D, R>(_: F) -> usize
    where
        F: FnOnce(A, B, C, D) -> R,
    {
        std::mem::size_of::<R>()
    }

    /// The same for 3 arguments.
    fn future_size3<F, A, B, C, R>(_: F) -> usize
    where
        F: FnOnce(A, B, C) -> R,
    {
        std::mem::size_of::<R>()
    }

    /// Every idle connection holds its reader's and its writer's futures: a request's state
    /// (several KiB for a send) must not be inlined into them.
    #[test]
    fn connection_futures_stay_small() {
        let reader = future_size4(run);
        let writer = future_size3(write_loop);
        eprintln!("reader {reader} B, writer {writer} B");
        assert!(reader <= 1024, "reader future is {reader} bytes");
        assert!(writer <= 1024, "writer future is {writer} bytes");
    }
}
