//! `conversation_heads`: the newest projected message of each conversation, stored once.
//!
//! Why a collection of its own: the latest message used to be embedded in every owner's row, so
//! a single-chat message rewrote two rows with the whole message and a group message rewrote
//! every member's row (an `update_many` over the group). Profiling the read model at 2,000
//! msg/s put most of the Mongo-wire server's work there. Owner rows now hold only per-owner
//! state; the row readers of [`super`] join the head in, so [`ConversationRow`] keeps its shape.
//!
//! Invariant: a head moves only forward — `$max` on `latest`, whose first field is `seq` (BSON
//! compares sub-documents field by field) — so advancing is idempotent and order-free.

use super::{ConversationRow, Latest};
use crate::StoreError;
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use mongodb::{Collection, Database};
use rill_core::Message;
use std::collections::HashMap;

pub const COLLECTION: &str = "conversation_heads";

fn collection(db: &Database) -> Collection<Document> {
    db.collection(COLLECTION)
}

/// The update that moves one conversation's head to `msg` unless it is already further.
fn advance_statement(
    conversation_id: &str,
    msg: &Message,
) -> Result<(Document, Document), StoreError> {
    let latest = Latest {
        seq: msg.seq,
        send_time: msg.send_time,
        msg: msg.clone(),
    };
    let latest = bson::to_document(&latest).map_err(|err| StoreError::Bson(err.to_string()))?;
    Ok((
        doc! { "_id": conversation_id },
        doc! { "$max": { "latest": latest } },
    ))
}

/// Moves each conversation's head to its message (the newest of the conversation's messages;
/// the conversations distinct), creating heads as needed, in one round trip per
/// [`super::bulk::BULK_STATEMENTS`].
pub async fn advance(db: &Database, latest: &[(&str, &Message)]) -> Result<(), StoreError> {
    let statements = latest
        .iter()
        .map(|(conv, msg)| advance_statement(conv, msg))
        .collect::<Result<Vec<_>, _>>()?;
    super::bulk::upsert_all(db, COLLECTION, &statements).await
}

/// The heads of `conversation_ids` that exist.
pub async fn of(
    db: &Database,
    conversation_ids: &[&str],
) -> Result<HashMap<String, Latest>, StoreError> {
    if conversation_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let docs: Vec<Document> = collection(db)
        .find(doc! { "_id": { "$in": conversation_ids.to_vec() } })
        .await?
        .try_collect()
        .await?;
    let mut out = HashMap::with_capacity(docs.len());
    for mut d in docs {
        let (Some(Bson::String(id)), Some(Bson::Document(latest))) =
            (d.remove("_id"), d.remove("latest"))
        else {
            continue;
        };
        let latest: Latest =
            bson::from_document(latest).map_err(|e| StoreError::Bson(e.to_string()))?;
        out.insert(id, latest);
    }
    Ok(out)
}

/// Fills the conversation fields of `rows` from their heads. A row written before heads existed
/// carries its own copy; the newer of the two wins, so such rows need no migration.
pub async fn join(db: &Database, rows: &mut [ConversationRow]) -> Result<(), StoreError> {
    let mut ids: Vec<&str> = rows.iter().map(|r| r.conversation_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let heads = of(db, &ids).await?;
    for row in rows.iter_mut() {
        if let Some(head) = heads.get(&row.conversation_id) {
            apply(row, head);
        }
    }
    Ok(())
}

fn apply(row: &mut ConversationRow, head: &Latest) {
    if head.seq > row.conv_max_seq || row.latest.is_none() {
        row.conv_max_seq = row.conv_max_seq.max(head.seq);
        row.conv_max_seq_time = head.send_time;
        row.latest = Some(head.clone());
    }
}

/// Drops every head (for a rebuild of the read model).
pub async fn drop_all(db: &Database) -> Result<(), StoreError> {
    Ok(collection(db).drop().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(seq: i64) -> Latest {
        Latest {
            seq,
            send_time: 1000 + seq,
            msg: Message {
                seq,
                ..Default::default()
            },
        }
    }

    #[test]
    fn the_newer_of_row_and_head_wins() {
        let mut fresh = ConversationRow::default();
        apply(&mut fresh, &head(3));
        assert_eq!(
            (
                fresh.conv_max_seq,
                fresh.conv_max_seq_time,
                fresh.latest.map(|l| l.seq)
            ),
            (3, 1003, Some(3))
        );
        // A row from before heads existed, further than its head.
        let mut legacy = ConversationRow {
            conv_max_seq: 9,
            conv_max_seq_time: 1009,
            latest: Some(head(9)),
            ..Default::default()
        };
        apply(&mut legacy, &head(4));
        assert_eq!(
            (legacy.conv_max_seq, legacy.latest.map(|l| l.seq)),
            (9, Some(9))
        );
    }
}
