//! `rill streams status`: per partition and group, where the log and the group stand.

use crate::{Log, LogError};
use redis::Value;
use redis::streams::{StreamInfoGroupsReply, StreamPendingReply};
use std::collections::HashMap;
use std::time::Duration;

/// One (partition, group) row.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStatus {
    pub partition: u32,
    pub group: String,
    /// Entries in the partition log (after retention trimming).
    pub length: u64,
    /// The partition log's last generated id (`0-0` when nothing was ever appended).
    pub last_id: String,
    /// The last entry the group has read.
    pub last_delivered_id: String,
    /// Entries not yet read by the group (`None` when Redis cannot tell, e.g. after SETID).
    pub lag: Option<u64>,
    /// Read but not acknowledged.
    pub pending: u64,
    /// Age of the oldest pending entry (from its id's timestamp).
    pub oldest_pending_age: Option<Duration>,
    pub consumers: u64,
    /// Length of the group's dead-letter stream on this partition.
    pub dead_letters: u64,
}

/// Every group present on every partition log (also groups streams.yaml no longer lists, since
/// they still hold back retention), ordered by partition then group.
pub async fn group_status(log: &Log) -> Result<Vec<GroupStatus>, LogError> {
    let partitions: Vec<u32> = (0..log.topology().partitions).collect();
    group_status_of(log, &partitions).await
}

/// `group_status` for some partitions.
pub async fn group_status_of(log: &Log, partitions: &[u32]) -> Result<Vec<GroupStatus>, LogError> {
    let mut conn = log.conn();
    let now = now_ms();
    let mut out = Vec::new();
    for &p in partitions {
        let key = log.partition_log(p);
        let (info, groups): (HashMap<String, Value>, StreamInfoGroupsReply) = redis::pipe()
            .cmd("XINFO")
            .arg("STREAM")
            .arg(key)
            .cmd("XINFO")
            .arg("GROUPS")
            .arg(key)
            .query_async(&mut conn)
            .await?;
        let length = info
            .get("length")
            .and_then(|v| redis::from_redis_value_ref::<u64>(v).ok())
            .unwrap_or(0);
        let last_id = info
            .get("last-generated-id")
            .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
            .unwrap_or_else(|| "0-0".into());
        let mut pipe = redis::pipe();
        for g in &groups.groups {
            pipe.cmd("XPENDING").arg(key).arg(&g.name);
            pipe.cmd("XLEN").arg(log.keys().dead_letters(p, &g.name));
        }
        let extra: Vec<Value> = pipe.query_async(&mut conn).await?;
        let mut extra = extra.into_iter();
        for g in groups.groups {
            let pending: StreamPendingReply = match extra.next() {
                Some(v) => redis::from_redis_value(v).map_err(redis::RedisError::from)?,
                None => StreamPendingReply::Empty,
            };
            let dead_letters: u64 = match extra.next() {
                Some(v) => redis::from_redis_value(v).map_err(redis::RedisError::from)?,
                None => 0,
            };
            let oldest_pending_age = match &pending {
                StreamPendingReply::Data(d) if d.count > 0 => {
                    id_ms(&d.start_id).map(|ms| Duration::from_millis(now.saturating_sub(ms)))
                }
                _ => None,
            };
            out.push(GroupStatus {
                partition: p,
                group: g.name,
                length,
                last_id: last_id.clone(),
                last_delivered_id: g.last_delivered_id,
                lag: g.lag.map(|l| l as u64),
                pending: g.pending as u64,
                oldest_pending_age,
                consumers: g.consumers as u64,
                dead_letters,
            });
        }
    }
    Ok(out)
}

/// Milliseconds part of a stream id `<ms>-<n>`.
pub(crate) fn id_ms(id: &str) -> Option<u64> {
    id.split_once('-')
        .map_or(Some(id), |(ms, _)| Some(ms))?
        .parse()
        .ok()
}

pub(crate) fn now_ms() -> u64 {
    u64::try_from(rill_core::now_ms()).unwrap_or(0)
}
