//! Partition-log retention: trim by age, but never past an entry some group still needs.
//!
//! The bound for one group is the smaller of its oldest pending id (read, not acked) and its
//! last-delivered id (everything after it is unread). XTRIM MINID removes ids strictly below
//! the bound, so the last delivered entry itself is kept: one entry of slack, no arithmetic on
//! ids. Every group present on the stream counts, including ones streams.yaml no longer lists
//! (delete such a group with XGROUP DESTROY to release it).
//!
//! The bound is computed, then trimmed, in two steps. Groups only move forward between them,
//! except for an operator's `XGROUP SETID` backwards (replay) racing the trim, which can only
//! lose entries already older than the retention age.

use crate::status::now_ms;
use crate::{Log, LogError};
use redis::streams::{StreamInfoGroupsReply, StreamPendingReply};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What one trim did on one partition.
#[derive(Debug, Clone, PartialEq)]
pub struct TrimReport {
    pub partition: u32,
    /// The MINID used (entries below it were eligible).
    pub min_id: String,
    /// Which limit decided: `"age"` or the group that held it back.
    pub held_by: String,
    pub trimmed: u64,
}

/// How to trim.
#[derive(Debug, Clone, Copy)]
pub struct TrimOptions {
    /// Entries younger than this are kept.
    pub retention: Duration,
    /// `MINID ~`: Redis trims whole nodes only (cheap, keeps a few more). Exact otherwise.
    pub approximate: bool,
}

impl TrimOptions {
    /// streams.yaml's `log_retention`, approximate: what the periodic task does.
    pub fn from_topology(log: &Log) -> Self {
        Self {
            retention: log.topology().log_retention,
            approximate: true,
        }
    }
}

/// Trims every partition log (`rill trim`).
pub async fn trim_all(log: &Log, options: TrimOptions) -> Result<Vec<TrimReport>, LogError> {
    let mut out = Vec::with_capacity(log.topology().partitions as usize);
    for p in 0..log.topology().partitions {
        out.push(trim_partition(log, p, options).await?);
    }
    Ok(out)
}

/// Trims one partition log.
pub async fn trim_partition(
    log: &Log,
    partition: u32,
    options: TrimOptions,
) -> Result<TrimReport, LogError> {
    let key = log.partition_log(partition);
    let mut conn = log.conn();
    let age_ms = u64::try_from(options.retention.as_millis()).unwrap_or(u64::MAX);
    let mut bound = StreamId(now_ms().saturating_sub(age_ms), 0);
    let mut held_by = "age".to_string();

    let groups: StreamInfoGroupsReply = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(key)
        .query_async(&mut conn)
        .await?;
    for g in &groups.groups {
        let mut group_bound = StreamId::parse(&g.last_delivered_id)?;
        if g.pending > 0 {
            let pending: StreamPendingReply = redis::cmd("XPENDING")
                .arg(key)
                .arg(&g.name)
                .query_async(&mut conn)
                .await?;
            if let StreamPendingReply::Data(d) = pending {
                group_bound = group_bound.min(StreamId::parse(&d.start_id)?);
            }
        }
        if group_bound < bound {
            bound = group_bound;
            held_by = g.name.clone();
        }
    }
    let min_id = bound.to_string();
    let mut cmd = redis::cmd("XTRIM");
    cmd.arg(key).arg("MINID");
    if options.approximate {
        cmd.arg("~");
    }
    let trimmed: u64 = cmd.arg(&min_id).query_async(&mut conn).await?;
    if trimmed > 0 {
        metrics::counter!("rill_log_trimmed_total", "partition" => partition.to_string())
            .increment(trimmed);
    }
    Ok(TrimReport {
        partition,
        min_id,
        held_by,
        trimmed,
    })
}

/// The periodic task: trims every `every` until `shutdown`. Errors are logged, not fatal.
pub async fn run_retention(log: Log, every: Duration, shutdown: CancellationToken) {
    let options = TrimOptions::from_topology(&log);
    loop {
        match trim_all(&log, options).await {
            Ok(reports) => {
                let trimmed: u64 = reports.iter().map(|r| r.trimmed).sum();
                tracing::debug!(trimmed, "partition logs trimmed");
            }
            Err(e) => tracing::warn!(error = %e, "partition-log trim failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// A stream id, ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct StreamId(pub u64, pub u64);

impl StreamId {
    pub(crate) fn parse(id: &str) -> Result<Self, LogError> {
        let bad = || LogError::Reply(format!("not a stream id: {id:?}"));
        let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
        Ok(Self(
            ms.parse().map_err(|_| bad())?,
            seq.parse().map_err(|_| bad())?,
        ))
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::StreamId;

    #[test]
    fn ids_order_numerically() {
        assert!(StreamId::parse("9-5").unwrap() < StreamId::parse("10-0").unwrap());
        assert!(StreamId::parse("10-2").unwrap() < StreamId::parse("10-10").unwrap());
        assert_eq!(StreamId::parse("42").unwrap(), StreamId(42, 0));
        assert!(StreamId::parse("x-1").is_err());
        assert_eq!(StreamId(3, 4).to_string(), "3-4");
    }
}
