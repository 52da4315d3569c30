//! The push handler: log entries → recipients → delivery streams.

use rill_app::App;
use rill_app::send::Outgoing;
use rill_log::{BatchOutcome, Handler, LogEntry};
use rill_wire::pb::sdkws::MsgData;
use tracing::Instrument as _;

/// Pushes every message entry of a batch in one delivery round (one presence lookup, one
/// pipelined write of all delivery-stream entries).
#[derive(Clone)]
pub struct PushHandler {
    app: App,
}

impl PushHandler {
    pub fn new(app: App) -> Self {
        Self { app }
    }

    /// The online deliveries for a batch, in batch order. Recipients are resolved for the
    /// whole batch at once (the group snapshots of all its group messages in one round trip).
    pub async fn outgoing(&self, batch: &[LogEntry]) -> Result<Vec<Outgoing>, rill_app::AppError> {
        let mut messages = Vec::with_capacity(batch.len());
        for entry in batch {
            let Some(mut message) = rill_app::pull::message_of(entry.envelope.event.clone()) else {
                continue;
            };
            message.seq = entry.seq;
            messages.push((entry, message));
        }
        let refs: Vec<&rill_core::Message> = messages.iter().map(|(_, m)| m).collect();
        let recipients = self
            .app
            .recipients_many(&refs)
            .instrument(tracing::info_span!(
                "push_recipients",
                messages = refs.len()
            ))
            .await?;
        let mut items = Vec::with_capacity(messages.len());
        for ((entry, message), recipients) in messages.into_iter().zip(recipients) {
            // One span per message, child of the sender's trace carried in the entry.
            let span = tracing::info_span!(
                "push",
                conversation_id = %entry.conversation_id,
                seq = entry.seq,
                recipients = recipients.len()
            );
            let trace = &entry.envelope.trace;
            rill_telemetry::set_parent_from(&trace.traceparent, &trace.tracestate, &span);
            // No await below: holding the guard across the iteration is fine.
            let _in_span = span.enter();
            if recipients.is_empty() {
                continue;
            }
            let message: MsgData = message.into();
            items.push(Outgoing {
                conversation_id: entry.conversation_id.clone(),
                message,
                recipients,
            });
        }
        Ok(items)
    }

    async fn push(&self, batch: &[LogEntry]) -> Result<(), rill_app::AppError> {
        let items = self.outgoing(batch).await?;
        let report = self.app.deliver_online(&items).await?;
        metrics::counter!("rill_push_messages_total").increment(items.len() as u64);
        metrics::counter!("rill_push_deliveries_total").increment(report.deliveries as u64);
        Ok(())
    }
}

impl Handler for PushHandler {
    async fn handle(&self, batch: &[LogEntry]) -> BatchOutcome {
        match self.push(batch).await {
            Ok(()) => BatchOutcome::all_ok(),
            Err(e) => {
                tracing::warn!(error = %e, entries = batch.len(), "push failed; the batch will be redelivered");
                metrics::counter!("rill_push_failures_total").increment(1);
                BatchOutcome::all_failed(batch.len(), &e.to_string())
            }
        }
    }
}
