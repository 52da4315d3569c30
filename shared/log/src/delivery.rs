//! Gateway delivery streams: how the push worker hands messages and kicks to a gateway.
//!
//! One stream per gateway, `<prefix>:gw:<gatewayID>:deliver`, capped with `MAXLEN ~` and given
//! a TTL on every write, so the stream of a gateway that died (and is no longer read) expires.
//! An entry carries one field `d`: a MessagePack [`Delivery`]. A push holds the target users and
//! the message once (one entry per gateway per message, never per member); the gateway fans it
//! out to its local connections of those users.
//!
//! Delivery is best-effort by design: a gateway reads with plain XREAD from where it started,
//! and clients fill any gap by pulling (they compare seqs).

use crate::{Keys, LogError, presence};
use redis::aio::ConnectionLike;
use serde::{Deserialize, Serialize};

/// Approximate cap of one gateway's stream.
pub const MAX_LEN: usize = 10_000;
/// A stream nobody writes to for this long disappears (its gateway is gone or idle).
pub const TTL_SECS: i64 = 300;

/// What a gateway is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Delivery {
    /// Write a 2001 push of `message` (protobuf `sdkws.MsgData`, seq set) to every local
    /// connection of `user_ids`.
    Push {
        user_ids: Vec<String>,
        conversation_id: String,
        message: bytes::Bytes,
    },
    /// Send 2002 to and close every local connection of `user_id` on `platform_id`, except the
    /// ones holding `spare_token`.
    Kick {
        user_id: String,
        platform_id: i32,
        spare_token: Option<String>,
    },
}

impl Delivery {
    pub fn encode(&self) -> Result<Vec<u8>, LogError> {
        rmp_serde::to_vec_named(self).map_err(|e| LogError::Encode(e.to_string()))
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, LogError> {
        rmp_serde::from_slice(bytes).map_err(|e| LogError::Decode(e.to_string()))
    }
}

/// The delivery stream of a gateway.
pub fn stream_key(keys: &Keys, gateway_id: &str) -> String {
    keys.global(&format!("gw:{gateway_id}:deliver"))
}

fn add_to_pipe(pipe: &mut redis::Pipeline, key: &str, delivery: &Delivery) -> Result<(), LogError> {
    pipe.cmd("XADD")
        .arg(key)
        .arg("MAXLEN")
        .arg("~")
        .arg(MAX_LEN)
        .arg("*")
        .arg("d")
        .arg(delivery.encode()?)
        .ignore();
    Ok(())
}

/// Appends deliveries to their gateways' streams in one pipelined round trip, and renews each
/// stream's TTL once (not once per delivery: a push batch sends hundreds to one gateway).
pub async fn send_many<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    deliveries: &[(String, Delivery)],
) -> Result<(), LogError> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    let mut streams: Vec<String> = Vec::new();
    for (gateway_id, d) in deliveries {
        let key = stream_key(keys, gateway_id);
        add_to_pipe(&mut pipe, &key, d)?;
        if !streams.contains(&key) {
            streams.push(key);
        }
    }
    for key in &streams {
        pipe.expire(key, TTL_SECS).ignore();
    }
    pipe.query_async::<()>(conn).await?;
    Ok(())
}

/// Appends one delivery to one gateway's stream.
pub async fn send<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    gateway_id: &str,
    delivery: &Delivery,
) -> Result<(), LogError> {
    send_many(conn, keys, &[(gateway_id.to_string(), delivery.clone())]).await
}

/// Kicks `user_id` off `platform_id` on every gateway holding such a connection (sparing the
/// connections that hold `spare_token`). Returns how many gateways were told.
pub async fn kick<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    user_id: &str,
    platform_id: i32,
    spare_token: Option<&str>,
) -> Result<usize, LogError> {
    let conns = presence::connections(conn, keys, user_id).await?;
    let mut gateways: Vec<String> = conns
        .into_iter()
        .filter(|p| p.platform_id == platform_id && Some(p.token.as_str()) != spare_token)
        .map(|p| p.gateway_id)
        .collect();
    gateways.sort();
    gateways.dedup();
    let delivery = Delivery::Kick {
        user_id: user_id.to_string(),
        platform_id,
        spare_token: spare_token.map(str::to_string),
    };
    let batch: Vec<(String, Delivery)> = gateways
        .iter()
        .map(|g| (g.clone(), delivery.clone()))
        .collect();
    send_many(conn, keys, &batch).await?;
    Ok(gateways.len())
}

/// What one [`read`] returned.
#[derive(Debug, Default)]
pub struct Batch {
    /// The id to pass as `after` next time (`None` when nothing arrived).
    pub last_id: Option<String>,
    pub deliveries: Vec<Delivery>,
}

/// Reads the next deliveries of `gateway_id` after entry `after` (`"0-0"` for a new gateway),
/// blocking up to `block_ms`. Undecodable entries are skipped (logged). Use a connection of its
/// own without a response timeout: a BLOCK holds up everything else on it (crates.md §5).
pub async fn read<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    gateway_id: &str,
    after: &str,
    count: usize,
    block_ms: u64,
) -> Result<Batch, LogError> {
    let key = stream_key(keys, gateway_id);
    let opts = redis::streams::StreamReadOptions::default()
        .count(count)
        .block(block_ms as usize);
    let mut cmd = redis::cmd("XREAD");
    cmd.arg(&opts).arg("STREAMS").arg(&key).arg(after);
    let reply: redis::Value = cmd.query_async(conn).await?;
    let mut batch = Batch::default();
    for (_, entries) in crate::reply::read(reply)? {
        for entry in entries {
            let decoded = entry
                .bytes("d")
                .ok_or_else(|| LogError::Decode("delivery entry without field d".into()))
                .and_then(Delivery::decode);
            match decoded {
                Ok(d) => batch.deliveries.push(d),
                Err(e) => tracing::warn!(id = %entry.id, error = %e, "skipping bad delivery entry"),
            }
            batch.last_id = Some(entry.id);
        }
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_round_trip() {
        let d = Delivery::Push {
            user_ids: vec!["u1".into(), "u2".into()],
            conversation_id: "si_u1_u2".into(),
            message: bytes::Bytes::from_static(b"\x0a\x02u1"),
        };
        let bytes = d.encode().unwrap_or_default();
        assert_eq!(Delivery::decode(&bytes).ok(), Some(d));
        let k = Delivery::Kick {
            user_id: "u1".into(),
            platform_id: 2,
            spare_token: Some("t".into()),
        };
        assert_eq!(
            Delivery::decode(&k.encode().unwrap_or_default()).ok(),
            Some(k)
        );
    }
}
