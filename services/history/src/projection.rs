//! The history projection: partition-log entries → one `messages` document each.
//!
//! Used by the worker ([`crate::HistoryHandler`]) and by `rill rebuild history`; there is no
//! other implementation. Idempotent: the unique (conversation_id, seq) index turns a second
//! insert of the same message into an ignored duplicate.

use rill_log::{Event, LogEntry};
use rill_store::{StoreError, messages};

/// What one call did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub inserted: usize,
    /// Already stored (redelivery, replay, rebuild).
    pub duplicates: usize,
    /// Entries that are not stored messages (other events, seq 0).
    pub skipped: usize,
    /// Entries whose data cannot be stored: (index into the batch, reason).
    pub failed: Vec<(usize, String)>,
}

/// Stores the messages among `entries` in one unordered insert. `Err` means the batch as a
/// whole failed (see [`rill_store::retry::is_transient`] for an outage): nothing is known about
/// single entries and the whole call may be repeated.
pub async fn project(db: &mongodb::Database, entries: &[LogEntry]) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let mut docs = Vec::with_capacity(entries.len());
    // Batch index of each document.
    let mut origin = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        // Future event kinds are not history: skipped, not failed.
        #[allow(irrefutable_let_patterns)]
        let Event::Message(msg) = &entry.envelope.event else {
            report.skipped += 1;
            continue;
        };
        if entry.seq <= 0 || entry.conversation_id.is_empty() {
            report.skipped += 1;
            continue;
        }
        // Entries from the log carry their seq in the message already (the worker sets it);
        // copy the message only when they do not.
        let msg = if msg.seq == entry.seq {
            std::borrow::Cow::Borrowed(msg)
        } else {
            let mut owned = msg.clone();
            owned.seq = entry.seq;
            std::borrow::Cow::Owned(owned)
        };
        match messages::to_document(&entry.conversation_id, &msg) {
            Ok(d) => {
                docs.push(d);
                origin.push(i);
            }
            Err(e) => report.failed.push((i, format!("not storable: {e}"))),
        }
    }
    let stored = messages::insert_many(db, docs).await?;
    report.inserted = stored.inserted;
    report.duplicates = stored.duplicates;
    report.failed.extend(
        stored
            .failed
            .into_iter()
            .filter_map(|(d, why)| Some((*origin.get(d)?, why))),
    );
    Ok(report)
}
