//! The consumer-group runtime: XREADGROUP batches with BLOCK over the partitions a worker owns,
//! the handler, XACK, XAUTOCLAIM of stale entries, dead letters after max deliveries, graceful
//! shutdown, and lag/pending/processed metrics. (API surface; the log helper fills it in.)

use crate::Envelope;
use std::future::Future;

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
}

/// A projection. Must be idempotent: redelivery and replay are normal.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, batch: &[LogEntry]) -> impl Future<Output = BatchOutcome> + Send;
}
