//! rill-readmodel: the projection worker that keeps the conversation read model — per owner
//! and conversation: max seq, has-read seq, latest message; and the owners' version logs that
//! OpenIM's incremental conversation sync answers from.
//!
//! The projection itself ([`projection::project`]) is a library function shared with
//! `rill rebuild readmodel`.

pub mod projection;

use rill_log::{ConsumerOptions, LogEntry};
use tokio_util::sync::CancellationToken;

pub use projection::{Report, project};

/// The consumer group of this worker.
pub const GROUP: &str = "readmodel";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Log(#[from] rill_log::LogError),
}

/// Runs consumer `consumer` of the readmodel group over every partition until `shutdown`.
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
    let handler = ReadModelHandler::new(Projection::new(app.clone()), shutdown.clone());
    rill_log::run_consumer_with(app.log(), GROUP, &consumer, handler, shutdown, options).await?;
    Ok(())
}

/// The worker's handler: this projection under the shared outage-tolerant runtime.
pub type ReadModelHandler = rill_app::projection::OutageTolerant<Projection>;

/// This crate's projection as the shared handler runs it: chat messages into the read model,
/// and entity events (relations, groups) applied again, idempotently, after the request that
/// appended them (which covers a request that died between its append and its apply).
pub struct Projection {
    app: rill_app::App,
}

impl Projection {
    pub fn new(app: rill_app::App) -> Self {
        Self { app }
    }
}

impl rill_app::projection::MongoProjection for Projection {
    const GROUP: &'static str = GROUP;

    async fn project(
        &self,
        batch: &[LogEntry],
    ) -> Result<Vec<(usize, String)>, rill_store::StoreError> {
        let report = project(self.app.store().database(), batch).await?;
        let mut failed = Vec::new();
        for (i, entry) in batch.iter().enumerate() {
            let rill_log::Event::Entity(event) = &entry.envelope.event else {
                continue;
            };
            let Some(rev) = rill_core::entity::Rev::from_entry_id(&entry.id) else {
                failed.push((i, format!("entry id {} is not a rev", entry.id)));
                continue;
            };
            match self.app.apply_entity_event(event, &rev).await {
                Ok(()) => metrics::counter!("rill_readmodel_entity_events_total").increment(1),
                Err(rill_app::AppError::Store(e)) => return Err(e),
                Err(e) => failed.push((i, e.to_string())),
            }
        }
        metrics::counter!("rill_readmodel_messages_total").increment(report.messages as u64);
        metrics::counter!("rill_readmodel_rows_created_total").increment(report.created as u64);
        Ok(failed)
    }
}
