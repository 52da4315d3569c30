//! Opening one client WebSocket the way the SDKs do (protocol.md §2.1), optionally from a chosen
//! loopback source address so that more than one address's worth of ephemeral ports is usable.

use super::frame::{Codec, Wire};
use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

pub type Ws = WebSocketStream<TcpStream>;

/// Who connects.
#[derive(Debug, Clone)]
pub struct Login {
    pub user_id: String,
    pub token: String,
    pub platform_id: i32,
}

/// Where the gateway listens: `ws://127.0.0.1:10001` (loopback only).
#[derive(Debug, Clone)]
pub struct GatewayAddr {
    pub base: String,
    pub addr: SocketAddr,
}

impl GatewayAddr {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("ws://")
            .with_context(|| format!("{url}: only ws:// is supported"))?;
        let hostport = rest.split('/').next().unwrap_or_default();
        let addr: SocketAddr = hostport
            .parse()
            .with_context(|| format!("{url}: expected ws://<ip>:<port>"))?;
        if !addr.ip().is_loopback() {
            bail!("{url}: the load tool only targets loopback addresses");
        }
        Ok(Self {
            base: format!("ws://{addr}/"),
            addr,
        })
    }
}

static OP: AtomicU64 = AtomicU64::new(0);

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// Small client buffers: the tool may hold tens of thousands of idle sockets.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
}

/// Connects `login` over `wire`, binding the socket to `source` first when given. With JSON
/// (`isMsgResp=true`, as the JS SDK) the connect ack text frame is read and checked.
pub async fn connect(
    gw: &GatewayAddr,
    login: &Login,
    wire: Wire,
    source: Option<IpAddr>,
) -> anyhow::Result<Ws> {
    let op = OP.fetch_add(1, Ordering::Relaxed);
    let mut url = format!(
        "{}?sendID={}&token={}&platformID={}&operationID=bench-{op}&isBackground=false",
        gw.base, login.user_id, login.token, login.platform_id
    );
    if wire.gzip {
        url.push_str("&compression=gzip");
    }
    if wire.codec == Codec::Json {
        url.push_str("&sdkType=js&isMsgResp=true");
    }
    let fut = async {
        let socket = TcpSocket::new_v4().context("socket")?;
        if let Some(ip) = source {
            socket
                .bind(SocketAddr::new(ip, 0))
                .with_context(|| format!("binding the client socket to {ip}"))?;
        }
        let stream = socket
            .connect(gw.addr)
            .await
            .with_context(|| format!("connecting to {}", gw.addr))?;
        stream.set_nodelay(true)?;
        let (ws, _resp) =
            tokio_tungstenite::client_async_with_config(url.as_str(), stream, Some(ws_config()))
                .await
                .map_err(|e| handshake_error(&login.user_id, e))?;
        anyhow::Ok(ws)
    };
    let mut ws = tokio::time::timeout(HANDSHAKE_TIMEOUT, fut)
        .await
        .with_context(|| format!("WS handshake of {} timed out", login.user_id))??;
    if wire.codec == Codec::Json {
        read_connect_ack(&mut ws, &login.user_id).await?;
    }
    Ok(ws)
}

/// A failed upgrade carries OpenIM's JSON error envelope in the HTTP body: show it.
fn handshake_error(user: &str, e: WsError) -> anyhow::Error {
    match e {
        WsError::Http(resp) => {
            let body = resp
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
                .into_owned();
            anyhow::anyhow!(
                "WS upgrade of {user} refused: HTTP {} {body}",
                resp.status()
            )
        }
        e => anyhow::anyhow!("WS handshake of {user}: {e}"),
    }
}

async fn read_connect_ack(ws: &mut Ws, user: &str) -> anyhow::Result<()> {
    let frame = tokio::time::timeout(HANDSHAKE_TIMEOUT, ws.next())
        .await
        .with_context(|| format!("no connect ack for {user}"))?
        .with_context(|| format!("{user}: closed before the connect ack"))??;
    let Message::Text(text) = frame else {
        bail!("{user}: expected the text connect ack, got {frame:?}");
    };
    let v: serde_json::Value = serde_json::from_str(text.as_str())
        .with_context(|| format!("{user}: connect ack {text}"))?;
    match v.get("errCode").and_then(serde_json::Value::as_i64) {
        Some(0) => Ok(()),
        _ => bail!("{user}: connect refused: {text}"),
    }
}

/// Source addresses 127.0.0.2, 127.0.0.3, ...: `per_address` sockets each.
pub fn source_address(index: usize, per_address: usize) -> IpAddr {
    let n = 2 + index / per_address.max(1);
    let n = n.min(0x00ff_fffe) as u32;
    IpAddr::from([127, (n >> 16) as u8, (n >> 8) as u8, n as u8])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_advance_per_block() {
        assert_eq!(source_address(0, 1000).to_string(), "127.0.0.2");
        assert_eq!(source_address(999, 1000).to_string(), "127.0.0.2");
        assert_eq!(source_address(1000, 1000).to_string(), "127.0.0.3");
        assert_eq!(source_address(254_000, 1000).to_string(), "127.0.1.0");
    }

    #[test]
    fn only_loopback_targets() {
        assert!(GatewayAddr::parse("ws://127.0.0.1:10001").is_ok());
        assert!(GatewayAddr::parse("ws://10.0.0.1:10001").is_err());
        assert!(GatewayAddr::parse("wss://127.0.0.1:10001").is_err());
    }
}
