//! rill-history: the projection worker that stores every message of the partition logs in
//! MongoDB (`messages`, one document per message, unique (conversationID, seq)).
//!
//! Pull serves seqs older than the hot window from there. The projection itself
//! ([`projection::project`]) is a library function shared with `rill rebuild history`.

pub mod projection;

use rill_log::{ConsumerOptions, LogEntry};
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
    let handler = HistoryHandler::new(
        Projection::new(app.store().database().clone()),
        shutdown.clone(),
    );
    rill_log::run_consumer_with(app.log(), GROUP, &consumer, handler, shutdown, options).await?;
    Ok(())
}

/// The worker's handler: this projection under the shared outage-tolerant runtime.
pub type HistoryHandler = rill_app::projection::OutageTolerant<Projection>;

/// This crate's projection as the shared handler runs it.
pub struct Projection {
    db: mongodb::Database,
}

impl Projection {
    pub fn new(db: mongodb::Database) -> Self {
        Self { db }
    }
}

impl rill_app::projection::MongoProjection for Projection {
    const GROUP: &'static str = GROUP;

    async fn project(
        &self,
        batch: &[LogEntry],
    ) -> Result<Vec<(usize, String)>, rill_store::StoreError> {
        let report = project(&self.db, batch).await?;
        metrics::counter!("rill_history_inserted_total").increment(report.inserted as u64);
        metrics::counter!("rill_history_duplicates_total").increment(report.duplicates as u64);
        for (i, why) in &report.failed {
            let e = &batch[*i];
            tracing::error!(id = %e.id, conversation = %e.conversation_id, seq = e.seq, why, "message not storable");
        }
        Ok(report.failed)
    }
}
