//! Presence: which gateway holds which connection of which user, with gateway liveness.
//!
//! Layout (all under `Keys::global`):
//! - `presence:u:<userID>`: hash `connID → JSON Presence`, one field per live connection;
//! - `presence:gw:<gatewayID>`: hash `connID → userID`, the gateway's own index, so the
//!   connections of a crashed gateway can be swept without scanning every user;
//! - `presence:gateways`: sorted set `gatewayID → last heartbeat (ms)`.
//!
//! Readers trust a connection only while its gateway's heartbeat is younger than
//! [`LIVENESS_TTL_MS`], so a crashed gateway's users read as offline at once; its leftovers are
//! removed later by [`sweep_dead`], which any live gateway runs from its heartbeat loop.

use crate::{Keys, LogError};
use redis::aio::ConnectionLike;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// A gateway whose last heartbeat is older than this is dead to readers.
pub const LIVENESS_TTL_MS: i64 = 15_000;
/// How often a gateway should heartbeat (well inside the TTL).
pub const HEARTBEAT_INTERVAL_MS: u64 = 5_000;
/// A dead gateway's leftovers are swept only after this long, so a gateway that merely stalled
/// for a few seconds keeps its records (it re-registers them if they were swept anyway).
pub const SWEEP_AFTER_MS: i64 = 60_000;

/// One live WebSocket connection of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub gateway_id: String,
    /// Unique across gateways (the gateway prefixes its own id).
    pub conn_id: String,
    pub platform_id: i32,
    pub token: String,
    pub background: bool,
}

fn user_key(keys: &Keys, user_id: &str) -> String {
    keys.global(&format!("presence:u:{user_id}"))
}

fn gateway_key(keys: &Keys, gateway_id: &str) -> String {
    keys.global(&format!("presence:gw:{gateway_id}"))
}

fn gateways_key(keys: &Keys) -> String {
    keys.global("presence:gateways")
}

fn encode(p: &Presence) -> Result<String, LogError> {
    serde_json::to_string(p).map_err(|e| LogError::Encode(e.to_string()))
}

/// Records a connection (and indexes it under its gateway) in one round trip.
pub async fn register<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    user_id: &str,
    presence: &Presence,
) -> Result<(), LogError> {
    let value = encode(presence)?;
    redis::pipe()
        .hset(user_key(keys, user_id), &presence.conn_id, value)
        .ignore()
        .hset(
            gateway_key(keys, &presence.gateway_id),
            &presence.conn_id,
            user_id,
        )
        .ignore()
        .query_async::<()>(conn)
        .await?;
    Ok(())
}

/// Re-records many connections at once (after a gateway finds its records were swept).
pub async fn register_many<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    entries: &[(String, Presence)],
) -> Result<(), LogError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for (user_id, p) in entries {
        pipe.hset(user_key(keys, user_id), &p.conn_id, encode(p)?)
            .ignore();
        pipe.hset(gateway_key(keys, &p.gateway_id), &p.conn_id, user_id)
            .ignore();
    }
    pipe.query_async::<()>(conn).await?;
    Ok(())
}

/// Removes a connection.
pub async fn unregister<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    user_id: &str,
    gateway_id: &str,
    conn_id: &str,
) -> Result<(), LogError> {
    redis::pipe()
        .hdel(user_key(keys, user_id), conn_id)
        .ignore()
        .hdel(gateway_key(keys, gateway_id), conn_id)
        .ignore()
        .query_async::<()>(conn)
        .await?;
    Ok(())
}

/// Records a gateway's heartbeat at `now_ms`. Returns true when the gateway was not in the
/// liveness set (first beat, or its records were swept after a stall: re-register them).
pub async fn heartbeat_at<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    gateway_id: &str,
    now_ms: i64,
) -> Result<bool, LogError> {
    let added: i64 = redis::cmd("ZADD")
        .arg(gateways_key(keys))
        .arg(now_ms)
        .arg(gateway_id)
        .query_async(conn)
        .await?;
    Ok(added == 1)
}

/// [`heartbeat_at`] with the current time.
pub async fn heartbeat<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    gateway_id: &str,
) -> Result<bool, LogError> {
    heartbeat_at(conn, keys, gateway_id, rill_core::now_ms()).await
}

/// The gateways whose heartbeat is younger than [`LIVENESS_TTL_MS`].
pub async fn live_gateways<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
) -> Result<HashSet<String>, LogError> {
    let ids: Vec<String> = live_gateways_cmd(keys).query_async(conn).await?;
    Ok(ids.into_iter().collect())
}

fn live_gateways_cmd(keys: &Keys) -> redis::Cmd {
    let mut cmd = redis::cmd("ZRANGEBYSCORE");
    cmd.arg(gateways_key(keys))
        .arg(rill_core::now_ms() - LIVENESS_TTL_MS)
        .arg("+inf");
    cmd
}

fn decode_live(fields: Vec<(String, String)>, live: &HashSet<String>) -> Vec<Presence> {
    let mut out: Vec<Presence> = fields
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_str::<Presence>(&v).ok())
        .filter(|p| live.contains(&p.gateway_id))
        .collect();
    out.sort_by(|a, b| a.conn_id.cmp(&b.conn_id));
    out
}

/// The live connections of one user (connections of dead gateways are left out).
pub async fn connections<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    user_id: &str,
) -> Result<Vec<Presence>, LogError> {
    let mut many = connections_many(conn, keys, &[user_id.to_string()]).await?;
    Ok(many.pop().unwrap_or_default())
}

/// The live connections of many users in one pipelined round trip, in the order of `user_ids`.
pub async fn connections_many<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    user_ids: &[String],
) -> Result<Vec<Vec<Presence>>, LogError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    pipe.add_command(live_gateways_cmd(keys));
    for u in user_ids {
        pipe.hgetall(user_key(keys, u));
    }
    let mut replies: Vec<redis::Value> = pipe.query_async(conn).await?;
    if replies.len() != user_ids.len() + 1 {
        return Err(LogError::Reply(format!(
            "presence pipeline returned {} replies for {} users",
            replies.len(),
            user_ids.len()
        )));
    }
    let rest = replies.split_off(1);
    let live: Vec<String> =
        redis::from_redis_value(replies.remove(0)).map_err(|e| LogError::Reply(e.to_string()))?;
    let live: HashSet<String> = live.into_iter().collect();
    rest.into_iter()
        .map(|v| {
            let fields: Vec<(String, String)> =
                redis::from_redis_value(v).map_err(|e| LogError::Reply(e.to_string()))?;
            Ok(decode_live(fields, &live))
        })
        .collect()
}

/// Removes every record of a gateway (graceful shutdown, or a sweep of a dead one).
pub async fn remove_gateway<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    gateway_id: &str,
) -> Result<(), LogError> {
    let gw_key = gateway_key(keys, gateway_id);
    let conns: Vec<(String, String)> = redis::cmd("HGETALL").arg(&gw_key).query_async(conn).await?;
    let mut pipe = redis::pipe();
    for (conn_id, user_id) in &conns {
        pipe.hdel(user_key(keys, user_id), conn_id).ignore();
    }
    pipe.del(&gw_key).ignore();
    pipe.del(crate::delivery::stream_key(keys, gateway_id))
        .ignore();
    pipe.zrem(gateways_key(keys), gateway_id).ignore();
    pipe.query_async::<()>(conn).await?;
    Ok(())
}

/// Removes the leftovers of gateways silent for longer than [`SWEEP_AFTER_MS`]. Idempotent, so
/// several gateways may sweep at once. Returns the swept gateway ids.
pub async fn sweep_dead<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
) -> Result<Vec<String>, LogError> {
    let dead: Vec<String> = redis::cmd("ZRANGEBYSCORE")
        .arg(gateways_key(keys))
        .arg("-inf")
        .arg(format!("({}", rill_core::now_ms() - SWEEP_AFTER_MS))
        .query_async(conn)
        .await?;
    for gw in &dead {
        remove_gateway(conn, keys, gw).await?;
    }
    Ok(dead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_gateways_are_filtered() {
        let p = |gw: &str, c: &str| Presence {
            gateway_id: gw.into(),
            conn_id: c.into(),
            platform_id: 1,
            token: "t".into(),
            background: false,
        };
        let fields = vec![
            ("b".to_string(), encode(&p("g1", "b")).unwrap_or_default()),
            ("a".to_string(), encode(&p("g2", "a")).unwrap_or_default()),
            ("x".to_string(), "not json".to_string()),
        ];
        let live: HashSet<String> = ["g1".to_string()].into_iter().collect();
        assert_eq!(decode_live(fields, &live), vec![p("g1", "b")]);
    }
}
