//! Gateway delivery streams: how the push worker hands messages and kicks to a gateway.
//!
//! One stream per gateway, `<prefix>:gw:<gatewayID>:deliver`, capped with `MAXLEN ~` and given
//! a TTL on every write, so the stream of a gateway that died (and is no longer read) expires.
//! A push holds the target users and the message once (never one per member); the gateway fans
//! it out to its local connections of those users.
//!
//! Entry format: one field `b`, a MessagePack array of [`Delivery`] in the order they apply —
//! everything one [`send_many`] call has for that gateway, cut into entries of about
//! [`ENTRY_BUDGET`] bytes. A push batch of hundreds of messages is then a handful of XADDs and
//! stream entries per gateway instead of one per message (fewer commands for Redis, fewer reply
//! elements to parse on both sides). Readers also accept the first format, one field `d`
//! holding a single `Delivery`, which older push workers write.
//!
//! Delivery is best-effort by design: a gateway reads with plain XREAD from where it started,
//! and clients fill any gap by pulling (they compare seqs).

use crate::{Keys, LogError, presence};
use redis::aio::ConnectionLike;
use serde::{Deserialize, Serialize};

/// Approximate cap of one gateway's stream, in entries.
pub const MAX_LEN: usize = 10_000;
/// An entry is closed once its deliveries' estimated size reaches this many bytes (a single
/// larger delivery, say a push to a huge group, is an entry of its own). Bounds an entry, and
/// with [`MAX_LEN`] a stream nobody reads, to a known size.
pub const ENTRY_BUDGET: usize = 64 * 1024;
/// Field of an entry holding an array of deliveries.
const FIELD_BATCH: &str = "b";
/// Field of an entry holding one delivery (the first format; still read).
const FIELD_ONE: &str = "d";
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

    /// About how many bytes the delivery takes encoded (for cutting entries, not exact).
    fn estimated_size(&self) -> usize {
        const OVERHEAD: usize = 48;
        match self {
            Delivery::Push {
                user_ids,
                conversation_id,
                message,
            } => {
                OVERHEAD
                    + conversation_id.len()
                    + message.len()
                    + user_ids.iter().map(|u| u.len() + 2).sum::<usize>()
            }
            Delivery::Kick {
                user_id,
                spare_token,
                ..
            } => OVERHEAD + user_id.len() + spare_token.as_ref().map_or(0, String::len),
        }
    }
}

/// Encodes deliveries as the value of a `b` field.
fn encode_batch(deliveries: &[&Delivery]) -> Result<Vec<u8>, LogError> {
    rmp_serde::to_vec_named(deliveries).map_err(|e| LogError::Encode(e.to_string()))
}

/// Decodes the deliveries of one entry, in either format.
fn decode_entry(entry: &crate::reply::Entry) -> Result<Vec<Delivery>, LogError> {
    if let Some(b) = entry.bytes(FIELD_BATCH) {
        return rmp_serde::from_slice(b).map_err(|e| LogError::Decode(e.to_string()));
    }
    match entry.bytes(FIELD_ONE) {
        Some(d) => Ok(vec![Delivery::decode(d)?]),
        None => Err(LogError::Decode(
            "delivery entry without field b or d".into(),
        )),
    }
}

/// Cuts one gateway's deliveries, in order, into runs of about [`ENTRY_BUDGET`] bytes.
fn entries_of<'a>(deliveries: &[&'a Delivery]) -> Vec<Vec<&'a Delivery>> {
    let mut out: Vec<Vec<&Delivery>> = Vec::new();
    let mut current: Vec<&Delivery> = Vec::new();
    let mut size = 0;
    for &d in deliveries {
        let s = d.estimated_size();
        if !current.is_empty() && size + s > ENTRY_BUDGET {
            out.push(std::mem::take(&mut current));
            size = 0;
        }
        current.push(d);
        size += s;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The delivery stream of a gateway.
pub fn stream_key(keys: &Keys, gateway_id: &str) -> String {
    keys.global(&format!("gw:{gateway_id}:deliver"))
}

/// Appends deliveries to their gateways' streams in one pipelined round trip: per gateway, its
/// deliveries in their order, as few entries as [`ENTRY_BUDGET`] allows; each stream's TTL is
/// renewed once.
pub async fn send_many<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
    deliveries: &[(String, Delivery)],
) -> Result<(), LogError> {
    if deliveries.is_empty() {
        return Ok(());
    }
    // gateway → its deliveries, gateways in order of first appearance (few per batch: a
    // linear search beats hashing).
    let mut by_gateway: Vec<(&str, Vec<&Delivery>)> = Vec::new();
    for (gateway_id, d) in deliveries {
        match by_gateway.iter_mut().find(|(g, _)| g == gateway_id) {
            Some((_, list)) => list.push(d),
            None => by_gateway.push((gateway_id, vec![d])),
        }
    }
    let mut pipe = redis::pipe();
    for (gateway_id, list) in &by_gateway {
        let key = stream_key(keys, gateway_id);
        for entry in entries_of(list) {
            pipe.cmd("XADD")
                .arg(&key)
                .arg("MAXLEN")
                .arg("~")
                .arg(MAX_LEN)
                .arg("*")
                .arg(FIELD_BATCH)
                .arg(encode_batch(&entry)?)
                .ignore();
        }
        pipe.expire(&key, TTL_SECS).ignore();
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

/// Reads the deliveries of the next (at most `count`) entries of `gateway_id` after entry
/// `after` (`"0-0"` for a new gateway), blocking up to `block_ms`. Undecodable entries are
/// skipped (logged). Use a connection of its own without a response timeout: a BLOCK holds up
/// everything else on it (crates.md §5).
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
            match decode_entry(&entry) {
                Ok(d) => batch.deliveries.extend(d),
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

    fn push(users: usize, body: usize) -> Delivery {
        Delivery::Push {
            user_ids: (0..users).map(|i| format!("user{i}")).collect(),
            conversation_id: "sg_g".into(),
            message: bytes::Bytes::from(vec![7u8; body]),
        }
    }

    fn entry(field: &str, value: Vec<u8>) -> crate::reply::Entry {
        crate::reply::Entry {
            id: "1-0".into(),
            fields: vec![(field.to_string(), redis::Value::BulkString(value))],
        }
    }

    #[test]
    fn entries_are_cut_by_size_and_keep_order() {
        let small: Vec<Delivery> = (0..200).map(|i| push(1, 300 + i)).collect();
        let refs: Vec<&Delivery> = small.iter().collect();
        let cut = entries_of(&refs);
        assert!(
            cut.len() > 1,
            "200 deliveries of ~450 bytes exceed one budget"
        );
        for e in &cut {
            let size: usize = e.iter().map(|d| d.estimated_size()).sum();
            assert!(size <= ENTRY_BUDGET, "entry of {size} bytes");
        }
        let flat: Vec<&Delivery> = cut.into_iter().flatten().collect();
        assert_eq!(flat, refs, "every delivery once, in order");

        // One delivery over the budget is an entry of its own, between its neighbours.
        let big = push(20_000, 10);
        let mixed = [&small[0], &big, &small[1]];
        let cut = entries_of(&mixed);
        assert_eq!(cut, vec![vec![&small[0]], vec![&big], vec![&small[1]]]);
        assert!(entries_of(&[]).is_empty());
    }

    #[test]
    fn both_entry_formats_decode() {
        let (a, b) = (push(2, 10), push(1, 20));
        let batch = encode_batch(&[&a, &b]).unwrap_or_default();
        assert_eq!(
            decode_entry(&entry("b", batch)).ok(),
            Some(vec![a.clone(), b])
        );
        // The first format: one delivery in field d.
        let one = a.encode().unwrap_or_default();
        assert_eq!(decode_entry(&entry("d", one)).ok(), Some(vec![a]));
        assert!(decode_entry(&entry("x", vec![1])).is_err());
        assert!(decode_entry(&entry("b", vec![0xc1])).is_err());
    }
}
