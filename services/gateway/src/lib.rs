//! rill-gateway: OpenIM's WebSocket gateway (:10001).
//!
//! A client connects with OpenIM's handshake (query `sendID, token, platformID, operationID,
//! isBackground, …`, any path), speaks gob (default) or JSON (`sdkType=js`) binary frames,
//! optionally gzip'd, and gets one reply per request plus server pushes (2001 messages,
//! 2002 kicks). The gateway records its connections in presence and heartbeats its liveness;
//! the push worker and the API reach its connections by appending to this gateway's delivery
//! stream, which one background task reads.
//!
//! Modules: [`handshake`] (parameters and their validation), [`conn`] (one connection's reader
//! and writer), [`dispatch`] (requests by reqIdentifier), [`hub`] (the connection map,
//! presence registration, multi-login, local delivery), [`queue`] (a connection's write queue),
//! [`background`] (heartbeat, delivery reader).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod background;
pub mod conn;
pub mod dispatch;
pub mod handshake;
pub mod hub;
mod push_frame;
pub mod queue;

use axum::Router;
use axum::extract::ws::{Message, WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::serve::ListenerExt;
use handshake::{ConnParams, Refusal};
use hub::Hub;
use rill_core::ErrCode;
use rill_log::presence;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Settings of this service (defaults are OpenIM 3.8's).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct Config {
    /// `websocketMaxConnNum`: connections beyond this are refused with 1601.
    pub max_connections: usize,
    /// Largest accepted frame (OpenIM's `maxMessageSize`, 51200 bytes).
    pub max_frame_bytes: usize,
    /// A connection without any frame for this long is closed (OpenIM's `pongWait`).
    pub read_timeout_secs: u64,
    /// Frames queued per connection; a client that lets the queue fill is disconnected.
    pub write_queue: usize,
    /// This gateway's id in presence and delivery; a fresh one per process when absent.
    pub gateway_id: Option<String>,
    /// How long shutdown waits for connections to close.
    pub shutdown_grace_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_connections: 100_000,
            max_frame_bytes: 51_200,
            read_timeout_secs: 30,
            write_queue: 256,
            gateway_id: None,
            shutdown_grace_secs: 5,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Log(#[from] rill_log::LogError),
}

/// A started gateway: its state and background tasks. Serve [`Gateway::router`] on a listener;
/// cancel the shutdown token and call [`Gateway::stop`] to end it.
#[derive(Clone)]
pub struct Gateway {
    hub: Arc<Hub>,
}

impl Gateway {
    /// Records the gateway as live and starts its heartbeat and delivery reader.
    pub async fn start(
        app: rill_app::App,
        config: Config,
        shutdown: CancellationToken,
    ) -> Result<Self, Error> {
        let id = config
            .gateway_id
            .clone()
            .unwrap_or_else(|| format!("gw{}", uuid::Uuid::new_v4().simple()));
        let hub = Arc::new(Hub::new(app, config, id, shutdown));
        let keys = hub.app.log().keys().clone();
        let mut redis = hub.app.redis();
        // Leftovers of an earlier process with the same id are stale.
        presence::remove_gateway(&mut redis, &keys, &hub.gateway_id).await?;
        presence::heartbeat(&mut redis, &keys, &hub.gateway_id).await?;
        let tail = background::stream_tail(&hub).await?;
        hub.tracker.spawn(background::heartbeat_loop(hub.clone()));
        hub.tracker
            .spawn(background::delivery_loop(hub.clone(), tail));
        tracing::info!(gateway = %hub.gateway_id, "gateway started");
        Ok(Gateway { hub })
    }

    pub fn id(&self) -> &str {
        &self.hub.gateway_id
    }

    /// Live connections on this gateway.
    pub fn connection_count(&self) -> usize {
        self.hub.connection_count()
    }

    /// The WebSocket handler on every path.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", any(ws_handler))
            .fallback(ws_handler)
            .with_state(self.hub.clone())
    }

    /// After shutdown was cancelled: waits for connections and tasks to end (bounded) and
    /// removes this gateway's presence, so its users read as offline at once.
    pub async fn stop(&self) {
        self.hub.shutdown.cancel();
        self.hub.tracker.close();
        let grace = Duration::from_secs(self.hub.config.shutdown_grace_secs.max(1));
        if tokio::time::timeout(grace, self.hub.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(gateway = %self.hub.gateway_id, "connections did not close in time");
        }
        let keys = self.hub.app.log().keys().clone();
        if let Err(e) =
            presence::remove_gateway(&mut self.hub.app.redis(), &keys, &self.hub.gateway_id).await
        {
            tracing::warn!(error = %e, "removing the gateway's presence failed");
        }
        tracing::info!(gateway = %self.hub.gateway_id, "gateway stopped");
    }
}

/// A started gateway's router (tests); its tasks end when `shutdown` is cancelled.
pub async fn router(
    app: rill_app::App,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(Router, Gateway), Error> {
    let gw = Gateway::start(app, config, shutdown).await?;
    Ok((gw.router(), gw))
}

/// Serves on `listener` until `shutdown` is cancelled, then closes every socket and removes
/// this gateway's presence.
pub async fn run(
    app: rill_app::App,
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let gw = Gateway::start(app, config, shutdown.clone()).await?;
    // Small frames both ways (acks, pushes): Nagle + delayed ACK would add ~40 ms to replies.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "setting TCP_NODELAY failed");
        }
    });
    let served = axum::serve(listener, gw.router())
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await;
    gw.stop().await;
    served?;
    Ok(())
}

fn refusal_response(r: &Refusal) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        r.body(),
    )
        .into_response()
}

async fn ws_handler(
    State(hub): State<Arc<Hub>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    // Before any parsing: OpenIM cannot tell a browser about these, so they are HTTP bodies.
    if hub.connection_count() >= hub.config.max_connections {
        return refusal_response(&Refusal::coded(
            ErrCode::ConnOverMaxNumLimit,
            "over max conn num limit",
        ));
    }
    let params = match handshake::parse(&query, &headers) {
        Ok(p) => p,
        Err(r) => return refusal_response(&r),
    };
    if let Err(r) = authenticate(&hub, &params).await {
        metrics::counter!("rill_gateway_refused_total").increment(1);
        return match (params.send_response, upgrade) {
            // A browser cannot read a failed upgrade: upgrade, say why in one text frame, close.
            (true, Ok(up)) => up.on_upgrade(move |mut socket| async move {
                let _ = socket.send(Message::Text(r.body().into())).await;
                let _ = socket.send(Message::Close(None)).await;
            }),
            _ => refusal_response(&r),
        };
    }
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let params = Box::new(params);
    let limit = hub.config.max_frame_bytes;
    let tracker = hub.tracker.clone();
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        // tungstenite zero-fills its whole read buffer on the first read (128 KiB by default)
        // and keeps it for the connection's life, so it weighs on every idle connection.
        // Requests and heartbeats fit in 1 KiB; the buffer grows to hold a larger frame
        // (≤ 51,200 bytes), read in pieces of this size.
        .read_buffer_size(READ_BUFFER_BYTES)
        // The connection runs in the upgrade's own task (no second task per connection),
        // tracked so shutdown can wait for every connection to close. That task's future keeps
        // room for this closure for the connection's life, hence the boxed parameters.
        .on_upgrade(move |socket| tracker.track_future(conn::serve(hub, socket, &params)))
}

/// Initial per-connection read buffer.
const READ_BUFFER_BYTES: usize = 1024;

/// The token must be valid and belong to the connecting user and platform.
async fn authenticate(hub: &Hub, p: &ConnParams) -> Result<(), Refusal> {
    let claims = hub
        .app
        .parse_token(&p.token)
        .await
        .map_err(|e| Refusal::coded(e.code(), e.detail()))?;
    if claims.user_id != p.user_id {
        return Err(Refusal::coded(
            ErrCode::TokenInvalid,
            format!("token uid {} != userID {}", claims.user_id, p.user_id),
        ));
    }
    if claims.platform_id != p.platform_id {
        return Err(Refusal::coded(
            ErrCode::TokenInvalid,
            format!(
                "token platform {} != platformID {}",
                claims.platform_id, p.platform_id
            ),
        ));
    }
    Ok(())
}
