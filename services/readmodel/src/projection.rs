//! The read-model projection: partition-log entries → conversation heads (per conversation:
//! the latest message and its seq), conversation rows (per owner: existence, has-read seq) and
//! the owners' version logs.
//!
//! Used by the worker ([`crate::ReadModelHandler`]) and by `rill rebuild readmodel`; there is
//! no other implementation. Idempotent and order-free: seqs move with `$max`, the latest
//! message is replaced only by a greater seq, and a row's creation is logged once (see
//! `rill_store::conversations`).
//!
//! Who gets a row: both ends of a single or notification chat (OpenIM creates both when the
//! first message is stored); in a group chat the sender — members' rows are created when they
//! join (`App::create_group_conversations`), as OpenIM does at group creation, and read the
//! conversation's head. `n_` conversations have no rows (OpenIM keeps none either).

use futures_util::{StreamExt, TryStreamExt, stream};
use rill_core::Message;
use rill_core::types::session;
use rill_log::{Event, LogEntry};
use rill_store::StoreError;
use rill_store::conversations::{self, MessageEffect};
use rill_store::versions::ChangeKind;
use std::collections::{BTreeMap, BTreeSet};

/// Concurrent version-log updates per batch.
const CONCURRENCY: usize = 16;

/// What one call did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Messages applied.
    pub messages: usize,
    /// Entries that are not chat messages with a seq.
    pub skipped: usize,
    /// (owner, conversation) rows written.
    pub rows: usize,
    /// Rows created by this call (recorded as inserts in the owners' version logs).
    pub created: usize,
}

/// Per conversation: its newest message, who must have a row, and each sender's newest seq.
#[derive(Default)]
struct ConvWork<'a> {
    latest: Option<&'a Message>,
    /// owner → newest seq they sent in this batch (0 = a recipient only).
    owners: BTreeMap<String, i64>,
}

/// Applies the chat messages among `entries`. `Err` means a store call failed; the whole call
/// may be repeated (everything it does is idempotent).
pub async fn project(db: &mongodb::Database, entries: &[LogEntry]) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let mut work: BTreeMap<&str, ConvWork<'_>> = BTreeMap::new();
    for entry in entries {
        #[allow(irrefutable_let_patterns)]
        let Event::Message(msg) = &entry.envelope.event else {
            report.skipped += 1;
            continue;
        };
        let conv = entry.conversation_id.as_str();
        if entry.seq <= 0 || conv.is_empty() || conv.starts_with("n_") {
            report.skipped += 1;
            continue;
        }
        let group = match msg.session_type {
            session::SINGLE | session::NOTIFICATION => false,
            session::READ_GROUP => true,
            _ => {
                report.skipped += 1;
                continue;
            }
        };
        report.messages += 1;
        let w = work.entry(conv).or_default();
        if w.latest.is_none_or(|l| l.seq < entry.seq) {
            w.latest = Some(msg);
        }
        let sent = w.owners.entry(msg.send_id.clone()).or_default();
        *sent = (*sent).max(entry.seq);
        if !group {
            w.owners.entry(msg.recv_id.clone()).or_default();
        }
    }

    // The envelope's message carries its seq (the runtime fills it in); make sure of it.
    let mut latest_by_conv: BTreeMap<&str, Message> = BTreeMap::new();
    for (conv, w) in &work {
        if let Some(l) = w.latest {
            let mut m = l.clone();
            if m.seq <= 0 {
                m.seq = entries
                    .iter()
                    .filter(|e| e.conversation_id == *conv)
                    .map(|e| e.seq)
                    .max()
                    .unwrap_or(0);
            }
            latest_by_conv.insert(conv, m);
        }
    }

    let mut effects: Vec<MessageEffect<'_>> = Vec::new();
    for (conv, w) in &work {
        let Some(latest) = latest_by_conv.get(conv) else {
            continue;
        };
        for (owner, &sent) in &w.owners {
            if owner.is_empty() {
                continue;
            }
            effects.push(MessageEffect {
                owner,
                conversation_id: conv,
                latest,
                has_read_seq: sent,
            });
        }
    }
    report.rows = effects.len();

    let created = conversations::apply_messages(db, &effects).await?;

    // One new version per owner covering all of its new rows.
    let mut by_owner: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (owner, conv) in created {
        by_owner.entry(owner).or_default().insert(conv);
    }
    report.created = by_owner.values().map(BTreeSet::len).sum();
    stream::iter(by_owner)
        .map(|(owner, convs)| async move {
            let changes: Vec<(String, ChangeKind)> =
                convs.into_iter().map(|c| (c, ChangeKind::Insert)).collect();
            conversations::record_changes(db, &owner, &changes).await
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(report)
}
