//! The consumer-group runtime: XREADGROUP batches with BLOCK over the partitions a worker owns,
//! the handler, XACK, XAUTOCLAIM of stale entries, dead letters after max deliveries, graceful
//! shutdown, and lag/pending/processed metrics. The loop itself lives in `worker.rs`.

use crate::config::GroupConfig;
use crate::{Envelope, Log, LogError};
use std::future::Future;
use tokio_util::sync::CancellationToken;

/// One entry of a partition log as a handler sees it.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub partition: u32,
    /// The partition-log entry id (`<ms>-<n>`).
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    pub envelope: Envelope,
    /// How many times this entry has been delivered to the group (1 on first delivery).
    pub deliveries: u64,
}

/// What a handler reports for a batch: the indexes (into the batch) of the entries it could
/// not handle, with a reason. Every other entry is acknowledged.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub failed: Vec<(usize, String)>,
}

impl BatchOutcome {
    pub fn all_ok() -> Self {
        Self::default()
    }

    /// Every entry of a batch of `len` failed for the same reason (e.g. the store is down).
    pub fn all_failed(len: usize, reason: &str) -> Self {
        Self {
            failed: (0..len).map(|i| (i, reason.to_string())).collect(),
        }
    }
}

/// A projection. Must be idempotent: redelivery and replay are normal.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, batch: &[LogEntry]) -> impl Future<Output = BatchOutcome> + Send;
}

/// A consumer name unique per process and stable for its lifetime: `<service>-<host>-<pid>`.
pub fn default_consumer_name(service: &str) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_string());
    format!("{service}-{host}-{}", std::process::id())
}

/// Choices beyond streams.yaml.
#[derive(Debug, Clone, Default)]
pub struct ConsumerOptions {
    /// The partitions this consumer reads; `None` = all. Consumers of one group may own
    /// overlapping sets: the group hands each entry to one of them.
    pub partitions: Option<Vec<u32>>,
    /// Replaces the group's streams.yaml settings (tests and tools); `None` = streams.yaml.
    pub config: Option<GroupConfig>,
}

/// Runs `handler` as consumer `consumer` of `group` over every partition until `shutdown` is
/// cancelled; then finishes and acknowledges the batch in hand and returns. Redis errors are
/// logged and retried with backoff (a restarting Redis does not end the worker); only a
/// configuration error returns early.
pub async fn run_consumer<H: Handler>(
    log: &Log,
    group: &str,
    consumer: &str,
    handler: H,
    shutdown: CancellationToken,
) -> Result<(), LogError> {
    run_consumer_with(
        log,
        group,
        consumer,
        handler,
        shutdown,
        ConsumerOptions::default(),
    )
    .await
}

/// `run_consumer` with a partition subset or group settings of its own.
pub async fn run_consumer_with<H: Handler>(
    log: &Log,
    group: &str,
    consumer: &str,
    handler: H,
    shutdown: CancellationToken,
    options: ConsumerOptions,
) -> Result<(), LogError> {
    let config = match options.config {
        Some(c) => c,
        None => log.topology().group(group).cloned().ok_or_else(|| {
            LogError::Config(format!(
                "groups.{group}: no such consumer group in streams.yaml"
            ))
        })?,
    };
    let partitions = match options.partitions {
        Some(p) => {
            if let Some(bad) = p.iter().find(|&&p| p >= log.topology().partitions) {
                return Err(LogError::Config(format!(
                    "partition {bad} does not exist (partitions: {})",
                    log.topology().partitions
                )));
            }
            p
        }
        None => (0..log.topology().partitions).collect(),
    };
    if partitions.is_empty() {
        return Err(LogError::Config(
            "a consumer needs at least one partition".into(),
        ));
    }
    crate::worker::Worker::new(log, group, consumer, config, partitions, handler)
        .run(shutdown)
        .await
}
