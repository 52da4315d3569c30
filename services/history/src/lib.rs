//! rill-history: the projection worker that stores every message of the partition logs in
//! MongoDB (`messages`, one document per message, unique (conversationID, seq)).
//!
//! Pull serves seqs older than the hot window from there. The projection itself
//! ([`projection::project`]) is a library function shared with `rill rebuild history`.

pub mod projection;

use rill_log::{BatchOutcome, ConsumerOptions, Handler, LogEntry};
use rill_store::retry::{Backoff, is_transient};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use projection::{Report, project};

/// The consumer group of this worker.
pub const GROUP: &str = "history";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Log(#[from] rill_log::LogError),
}

/// Runs consumer `consumer` of the history group over every partition until `shutdown`.
pub async fn run(
    app: rill_app::App,
    consumer: String,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    run_with(app, consumer, shutdown, ConsumerOptions::default()).await
}

/// [`run`] with a partition subset or group settings of its own (tests, tools).
pub async fn run_with(
    app: rill_app::App,
    consumer: String,
    shutdown: CancellationToken,
    options: ConsumerOptions,
) -> Result<(), Error> {
    let handler = HistoryHandler::new(app.store().database().clone(), shutdown.clone());
    rill_log::run_consumer_with(app.log(), GROUP, &consumer, handler, shutdown, options).await?;
    Ok(())
}

/// Whole-batch errors that are not an outage are retried this often before the batch is
/// reported failed (then the runtime's delivery count decides about dead letters).
const OTHER_ERROR_ATTEMPTS: u32 = 3;

/// The consumer-group handler: projects a batch, and waits out a Mongo outage instead of
/// failing entries (so a long outage never dead-letters anything).
pub struct HistoryHandler {
    db: mongodb::Database,
    shutdown: CancellationToken,
    max_backoff: Duration,
}

impl HistoryHandler {
    pub fn new(db: mongodb::Database, shutdown: CancellationToken) -> Self {
        Self {
            db,
            shutdown,
            max_backoff: Duration::from_secs(5),
        }
    }

    /// After repeated whole-batch failures that are not an outage: each entry on its own, so
    /// only the entries that really cannot be projected are reported failed.
    async fn one_by_one(&self, batch: &[LogEntry]) -> BatchOutcome {
        let mut failed = Vec::new();
        for (i, entry) in batch.iter().enumerate() {
            match project(&self.db, std::slice::from_ref(entry)).await {
                Ok(r) => failed.extend(r_failed(&r).into_iter().map(|why| (i, why))),
                Err(e) => failed.push((i, e.to_string())),
            }
        }
        BatchOutcome { failed }
    }
}

impl Handler for HistoryHandler {
    async fn handle(&self, batch: &[LogEntry]) -> BatchOutcome {
        let mut backoff = Backoff::new(self.max_backoff);
        let mut other_errors = 0;
        loop {
            let error = match project(&self.db, batch).await {
                Ok(report) => {
                    metrics::counter!("rill_history_inserted_total")
                        .increment(report.inserted as u64);
                    metrics::counter!("rill_history_duplicates_total")
                        .increment(report.duplicates as u64);
                    for (i, why) in &report.failed {
                        tracing::error!(id = %batch[*i].id, conversation = %batch[*i].conversation_id, seq = batch[*i].seq, why, "message not storable");
                    }
                    return BatchOutcome {
                        failed: report.failed,
                    };
                }
                Err(e) => e,
            };
            if is_transient(&error) {
                metrics::counter!("rill_projection_outage_retries_total", "group" => GROUP)
                    .increment(1);
                tracing::warn!(error = %error, entries = batch.len(), "mongo unavailable; holding the batch and retrying");
            } else {
                other_errors += 1;
                tracing::error!(error = %error, attempt = other_errors, "history batch failed");
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

fn r_failed(r: &Report) -> Vec<String> {
    r.failed.iter().map(|(_, why)| why.clone()).collect()
}
