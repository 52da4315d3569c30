//! The `messages` collection: message history, one document per message.
//!
//! Invariant: at most one document per (conversation_id, seq), enforced by a unique index, so
//! the history projection can insert blindly and treat E11000 as "already stored"; redelivery
//! and replay are then harmless. A document is the stored `rill_core::Message` (snake_case
//! fields, `content` as BSON binary) plus `conversation_id`.

use crate::StoreError;
use bson::{Bson, Document, RawDocumentBuf, doc};
use futures_util::TryStreamExt;
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use rill_core::Message;
use rill_core::types::status;

pub const COLLECTION: &str = "messages";
/// Name of the unique (conversation_id, seq) index.
pub const UNIQUE_INDEX: &str = "conv_seq_unique";

pub fn collection(db: &Database) -> Collection<Document> {
    db.collection(COLLECTION)
}

pub async fn ensure_indexes(db: &Database) -> Result<(), StoreError> {
    let index = IndexModel::builder()
        .keys(doc! { "conversation_id": 1, "seq": 1 })
        .options(
            IndexOptions::builder()
                .unique(true)
                .name(UNIQUE_INDEX.to_string())
                .build(),
        )
        .build();
    collection(db).create_index(index).await?;
    Ok(())
}

/// The stored document of `msg` in `conversation_id`, serialized straight to BSON bytes: the
/// history worker makes one per message, and a `Document` tree in between (a map of owned
/// keys and values, serialized again by the driver) was most of its BSON work. `seq` is an
/// `i64`, which BSON always writes as int64, so range queries and sorts compare like with
/// like.
pub fn to_document(conversation_id: &str, msg: &Message) -> Result<RawDocumentBuf, StoreError> {
    let mut d = bson::to_raw_document_buf(msg).map_err(|e| StoreError::Bson(e.to_string()))?;
    d.append("conversation_id", conversation_id);
    Ok(d)
}

/// The message of a stored document (extra fields such as `_id` are ignored).
pub fn from_document(d: Document) -> Result<Message, StoreError> {
    bson::from_document(d).map_err(|e| StoreError::Bson(e.to_string()))
}

/// What an unordered batch insert did. Duplicates are not failures: the message was stored
/// before (redelivery or replay).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InsertReport {
    pub inserted: usize,
    pub duplicates: usize,
    /// Documents the server refused for another reason: (index into the batch, reason).
    pub failed: Vec<(usize, String)>,
}

/// Inserts `docs` unordered (every document is tried even if some fail). Duplicate-key errors
/// are counted, other per-document write errors reported in `failed`; an `Err` means the batch
/// as a whole failed (connectivity, write concern) and nothing can be said per document.
pub async fn insert_many(
    db: &Database,
    docs: Vec<RawDocumentBuf>,
) -> Result<InsertReport, StoreError> {
    use mongodb::error::ErrorKind;
    let total = docs.len();
    if total == 0 {
        return Ok(InsertReport::default());
    }
    let coll = collection(db).clone_with_type::<RawDocumentBuf>();
    match coll.insert_many(docs).ordered(false).await {
        Ok(r) => Ok(InsertReport {
            inserted: r.inserted_ids.len(),
            ..Default::default()
        }),
        Err(e) => match e.kind.as_ref() {
            ErrorKind::InsertMany(ime) if ime.write_concern_error.is_none() => {
                let mut report = InsertReport::default();
                for w in ime.write_errors.iter().flatten() {
                    if w.code == crate::error::DUPLICATE_KEY {
                        report.duplicates += 1;
                    } else {
                        report
                            .failed
                            .push((w.index, format!("{}: {}", w.code, w.message)));
                    }
                }
                report.inserted = total - report.duplicates - report.failed.len();
                Ok(report)
            }
            _ => Err(e.into()),
        },
    }
}

async fn collect(
    db: &Database,
    filter: Document,
    sort: Document,
    limit: Option<i64>,
) -> Result<Vec<Message>, StoreError> {
    let coll = collection(db);
    let mut find = coll.find(filter).sort(sort);
    if let Some(n) = limit {
        find = find.limit(n);
    }
    let docs: Vec<Document> = find.await?.try_collect().await?;
    docs.into_iter().map(from_document).collect()
}

/// Stored messages with `from <= seq <= to`, ascending by seq. Holes (seqs never stored or
/// physically deleted) are simply absent; the caller decides how to present them.
pub async fn range(
    db: &Database,
    conversation_id: &str,
    from: i64,
    to: i64,
) -> Result<Vec<Message>, StoreError> {
    if from > to {
        return Ok(Vec::new());
    }
    collect(
        db,
        doc! { "conversation_id": conversation_id, "seq": { "$gte": from, "$lte": to } },
        doc! { "seq": 1 },
        None,
    )
    .await
}

/// Stored messages whose seq is in `seqs`, ascending by seq.
pub async fn by_seqs(
    db: &Database,
    conversation_id: &str,
    seqs: &[i64],
) -> Result<Vec<Message>, StoreError> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    collect(
        db,
        doc! { "conversation_id": conversation_id, "seq": { "$in": seqs.to_vec() } },
        doc! { "seq": 1 },
        None,
    )
    .await
}

/// The stored message with the greatest seq.
pub async fn latest(db: &Database, conversation_id: &str) -> Result<Option<Message>, StoreError> {
    let mut v = collect(
        db,
        doc! { "conversation_id": conversation_id },
        doc! { "seq": -1 },
        Some(1),
    )
    .await?;
    Ok(v.pop())
}

/// The newest message that is not deleted (status below 4), optionally at or below `max_seq`
/// (a per-user cap; 0 = none). OpenIM's GetLastMessage answers from this.
pub async fn last_valid(
    db: &Database,
    conversation_id: &str,
    max_seq: i64,
) -> Result<Option<Message>, StoreError> {
    let mut filter =
        doc! { "conversation_id": conversation_id, "status": { "$lt": status::DELETED } };
    if max_seq > 0 {
        filter.insert("seq", doc! { "$lte": max_seq });
    }
    let mut v = collect(db, filter, doc! { "seq": -1 }, Some(1)).await?;
    Ok(v.pop())
}

/// The greatest stored seq of a conversation (0 when none is stored).
pub async fn max_seq(db: &Database, conversation_id: &str) -> Result<i64, StoreError> {
    Ok(latest(db, conversation_id).await?.map_or(0, |m| m.seq))
}

/// The smallest stored seq of a conversation (0 when none is stored).
pub async fn min_seq(db: &Database, conversation_id: &str) -> Result<i64, StoreError> {
    let mut v = collect(
        db,
        doc! { "conversation_id": conversation_id },
        doc! { "seq": 1 },
        Some(1),
    )
    .await?;
    Ok(v.pop().map_or(0, |m| m.seq))
}

/// How many messages of a conversation are stored.
pub async fn count(db: &Database, conversation_id: &str) -> Result<u64, StoreError> {
    Ok(collection(db)
        .count_documents(doc! { "conversation_id": conversation_id })
        .await?)
}

/// Sets `is_read` on stored messages of a single chat (OpenIM's MarkSingleChatMsgsAsRead).
/// Messages not projected yet are unaffected; the read seq is what clients rely on.
pub async fn mark_read(
    db: &Database,
    conversation_id: &str,
    seqs: &[i64],
) -> Result<u64, StoreError> {
    if seqs.is_empty() {
        return Ok(0);
    }
    let r = collection(db)
        .update_many(
            doc! { "conversation_id": conversation_id, "seq": { "$in": seqs.to_vec() } },
            doc! { "$set": { "is_read": true } },
        )
        .await?;
    Ok(r.modified_count)
}

/// Every conversation with stored history (for rebuilds and start-up checks).
pub async fn conversation_ids(db: &Database) -> Result<Vec<String>, StoreError> {
    let values = collection(db).distinct("conversation_id", doc! {}).await?;
    let mut ids: Vec<String> = values
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    ids.sort();
    Ok(ids)
}

/// The greatest stored seq of every conversation with history, for the start-up check that
/// moves a conversation stream forward if Redis lost its tail (`Log::ensure_seq_floor`).
pub async fn max_seqs_all(db: &Database) -> Result<Vec<(String, i64)>, StoreError> {
    let pipeline = vec![
        doc! { "$group": { "_id": "$conversation_id", "max": { "$max": "$seq" } } },
        doc! { "$sort": { "_id": 1 } },
    ];
    let docs: Vec<Document> = collection(db)
        .aggregate(pipeline)
        .await?
        .try_collect()
        .await?;
    Ok(docs
        .into_iter()
        .filter_map(|d| {
            let id = d.get_str("_id").ok()?.to_string();
            let max = match d.get("max") {
                Some(Bson::Int64(n)) => *n,
                Some(Bson::Int32(n)) => i64::from(*n),
                _ => return None,
            };
            Some((id, max))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_optional_fields_are_left_out_and_read_back_as_defaults() {
        let msg = Message {
            send_id: "u1".into(),
            recv_id: "u2".into(),
            client_msg_id: "c1".into(),
            server_msg_id: "s1".into(),
            session_type: 1,
            content_type: 101,
            content: br#"{"content":"hi"}"#.to_vec(),
            seq: 7,
            send_time: 1,
            status: 2,
            ..Default::default()
        };
        let d = to_document("si_u1_u2", &msg)
            .and_then(|raw| Document::try_from(raw).map_err(|e| StoreError::Bson(e.to_string())))
            .expect("document");
        for absent in [
            "group_id",
            "sender_nickname",
            "sender_face_url",
            "offline_push_info",
            "at_user_id_list",
            "attached_info",
            "ex",
        ] {
            assert!(!d.contains_key(absent), "{absent} written though empty");
        }
        // What Mongo filters on is always there, even at its default.
        for present in ["status", "is_read", "seq", "conversation_id", "recv_id"] {
            assert!(d.contains_key(present), "{present} missing");
        }
        assert_eq!(d.get("seq"), Some(&Bson::Int64(7)), "seq is an int64");
        assert_eq!(d.get_str("conversation_id").ok(), Some("si_u1_u2"));
        assert_eq!(from_document(d).expect("message"), msg);

        let full = Message {
            group_id: "g".into(),
            ex: "x".into(),
            at_user_id_list: vec!["u3".into()],
            ..msg
        };
        let d = to_document("si_u1_u2", &full)
            .and_then(|raw| Document::try_from(raw).map_err(|e| StoreError::Bson(e.to_string())))
            .expect("document");
        assert_eq!(d.get_str("ex").ok(), Some("x"));
        assert_eq!(from_document(d).expect("message"), full);
    }
}
