//! The consumer-group handler every MongoDB projection runs under: it holds a batch through a
//! Mongo outage (backing off, so a long outage dead-letters nothing), retries other whole-batch
//! errors a few times, then projects entry by entry so only the entries that really cannot be
//! projected are reported failed.

use rill_log::{BatchOutcome, CancellationToken, Handler, LogEntry};
use rill_store::StoreError;
use rill_store::retry::{Backoff, is_transient};
use std::future::Future;
use std::time::Duration;

/// Whole-batch errors that are not an outage are retried this often before the batch is
/// projected entry by entry (then the runtime's delivery count decides about dead letters).
const OTHER_ERROR_ATTEMPTS: u32 = 3;

/// The longest wait between two attempts during an outage.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One Mongo projection of log entries. Must be idempotent.
pub trait MongoProjection: Send + Sync + 'static {
    /// The consumer group (metrics and logs).
    const GROUP: &'static str;

    /// Projects `batch`; returns the entries whose data cannot be projected as (index into the
    /// batch, reason), or an error for the whole batch.
    fn project(
        &self,
        batch: &[LogEntry],
    ) -> impl Future<Output = Result<Vec<(usize, String)>, StoreError>> + Send;
}

/// A [`MongoProjection`] as a consumer-group [`Handler`].
pub struct OutageTolerant<P> {
    projection: P,
    shutdown: CancellationToken,
}

impl<P: MongoProjection> OutageTolerant<P> {
    pub fn new(projection: P, shutdown: CancellationToken) -> Self {
        Self {
            projection,
            shutdown,
        }
    }

    async fn one_by_one(&self, batch: &[LogEntry]) -> BatchOutcome {
        let mut failed = Vec::new();
        for (i, entry) in batch.iter().enumerate() {
            match self.projection.project(std::slice::from_ref(entry)).await {
                Ok(f) => failed.extend(f.into_iter().map(|(_, why)| (i, why))),
                Err(e) => failed.push((i, e.to_string())),
            }
        }
        BatchOutcome { failed }
    }
}

impl<P: MongoProjection> Handler for OutageTolerant<P> {
    async fn handle(&self, batch: &[LogEntry]) -> BatchOutcome {
        let mut backoff = Backoff::new(MAX_BACKOFF);
        let mut other_errors = 0;
        loop {
            let error = match self.projection.project(batch).await {
                Ok(failed) => return BatchOutcome { failed },
                Err(e) => e,
            };
            if is_transient(&error) {
                metrics::counter!("rill_projection_outage_retries_total", "group" => P::GROUP)
                    .increment(1);
                tracing::warn!(group = P::GROUP, error = %error, entries = batch.len(), "mongo unavailable; holding the batch and retrying");
            } else {
                other_errors += 1;
                tracing::error!(group = P::GROUP, error = %error, attempt = other_errors, "projection batch failed");
                if other_errors >= OTHER_ERROR_ATTEMPTS {
                    return self.one_by_one(batch).await;
                }
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => {
                    // Left pending: redelivered after restart, not a data failure.
                    return BatchOutcome::all_failed(batch.len(), "shut down while waiting for mongo");
                }
                _ = tokio::time::sleep(backoff.next_delay()) => {}
            }
        }
    }
}
