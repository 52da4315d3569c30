//! "Projected": every consumer group of the topology has read and acknowledged everything on
//! every partition log (history stored in Mongo, read models updated, pushes handed out).

use anyhow::Context as _;
use redis::Value;
use rill_log::{Keys, Topology};
use std::time::{Duration, Instant};

pub struct Projections {
    conn: redis::aio::MultiplexedConnection,
    logs: Vec<String>,
    groups: Vec<String>,
}

impl Projections {
    /// Watches `groups` on every partition log of `topology`.
    pub async fn connect(
        redis_url: &str,
        topology: &Topology,
        groups: &[String],
    ) -> anyhow::Result<Projections> {
        let client = rill_log::redis_client(redis_url).context("--redis")?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .context("connecting to Redis")?;
        let keys = Keys::new(topology.key_prefix.clone(), topology.partitions);
        Ok(Projections {
            conn,
            logs: (0..topology.partitions)
                .map(|p| keys.partition_log(p))
                .collect(),
            groups: groups.to_vec(),
        })
    }

    /// Entries not yet acknowledged, summed over groups and partitions (pending + unread).
    pub async fn backlog(&mut self) -> anyhow::Result<u64> {
        let mut pipe = redis::pipe();
        for key in &self.logs {
            pipe.cmd("XINFO").arg("STREAM").arg(key);
            pipe.cmd("XINFO").arg("GROUPS").arg(key);
        }
        let replies: Vec<redis::RedisResult<redis::Value>> =
            pipe.ignore_errors().query_async(&mut self.conn).await?;
        let mut backlog = 0u64;
        for pair in replies.chunks(2) {
            let [Ok(stream), Ok(groups)] = pair else {
                continue;
            }; // no such stream yet
            let last = field(stream, "last-generated-id")
                .map(id_of)
                .unwrap_or_default();
            let Value::Array(groups) = groups else {
                continue;
            };
            for g in groups {
                let Some(name) = field(g, "name").and_then(text) else {
                    continue;
                };
                if !self.groups.contains(&name) {
                    continue;
                }
                backlog += field(g, "pending").and_then(int).unwrap_or(0);
                // Unread = entries after the group's last-delivered id; `lag` when Redis knows it.
                let delivered = field(g, "last-delivered-id").map(id_of).unwrap_or_default();
                if delivered < last {
                    backlog += field(g, "lag").and_then(int).unwrap_or(1).max(1);
                }
            }
        }
        Ok(backlog)
    }

    /// Polls until the backlog is zero; the instant it was seen, or `None` at the deadline.
    pub async fn wait_drained(&mut self, timeout: Duration) -> anyhow::Result<Option<Instant>> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.backlog().await? == 0 {
                return Ok(Some(Instant::now()));
            }
            if Instant::now() > deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The value of `key` in a RESP2 flat array or a RESP3 map.
fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Array(items) => items
            .chunks(2)
            .find(|kv| text(&kv[0]).as_deref() == Some(key))
            .and_then(|kv| kv.get(1)),
        Value::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| text(k).as_deref() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn int(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        other => text(other).and_then(|s| s.parse().ok()),
    }
}

fn id_of(v: &Value) -> (u64, u64) {
    text(v).map(|s| parse_id(&s)).unwrap_or_default()
}

fn parse_id(id: &str) -> (u64, u64) {
    let mut parts = id.splitn(2, '-');
    let ms = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let seq = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (ms, seq)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn ids_order_numerically() {
        assert!(super::parse_id("10-2") > super::parse_id("9-99"));
        assert!(super::parse_id("5-10") > super::parse_id("5-9"));
        assert_eq!(super::parse_id("0-0"), (0, 0));
    }
}
