//! The `conversations` collection: the conversation read model, one row per (owner,
//! conversation). A row holds OpenIM's per-owner Conversation settings (recvMsgOpt, isPinned,
//! the per-user minSeq/maxSeq caps, ...) and the owner's has-read seq. What is the same for
//! every owner — the greatest seq the projection has seen and the latest message — is stored
//! once per conversation in [`heads`] and joined into [`ConversationRow`] by the readers here.
//!
//! Invariants:
//! - unique (owner_user_id, conversation_id);
//! - seqs only move forward (`$max`) and a head is replaced only by a message with a greater
//!   seq, so applying message events is idempotent and order-free;
//! - every row change visible in OpenIM's Conversation is recorded in the owner's version log
//!   ([`crate::versions`]); `version_logged` is false from a row's creation until its insert
//!   is recorded, which makes "create, then log" safe to retry after a crash.
//! - rows of `n_` (notification) conversations only carry seqs (`notification = true`); they
//!   are never listed as conversations, as in OpenIM.

use crate::StoreError;
use crate::versions::{ChangeKind, VersionLog};
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use rill_core::Message;
use rill_core::types::{recv_opt, session};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

mod bulk;
pub mod heads;

pub const COLLECTION: &str = "conversations";

pub fn collection(db: &Database) -> Collection<Document> {
    db.collection(COLLECTION)
}

pub async fn ensure_indexes(db: &Database) -> Result<(), StoreError> {
    let unique = IndexModel::builder()
        .keys(doc! { "owner_user_id": 1, "conversation_id": 1 })
        .options(
            IndexOptions::builder()
                .unique(true)
                .name("owner_conv_unique".to_string())
                .build(),
        )
        .build();
    let by_conv = IndexModel::builder()
        .keys(doc! { "conversation_id": 1 })
        .options(IndexOptions::builder().name("conv".to_string()).build())
        .build();
    collection(db).create_indexes([unique, by_conv]).await?;
    VersionLog::conversations(db).ensure_indexes().await
}

/// The latest message of a conversation as one owner sees it. `seq` comes first so `$max`
/// on the whole sub-document compares by seq (BSON compares documents field by field).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Latest {
    pub seq: i64,
    pub send_time: i64,
    pub msg: Message,
}

/// One row of the read model, with its conversation's head joined in (`conv_max_seq`,
/// `conv_max_seq_time`, `latest`; rows written before heads existed may carry their own).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConversationRow {
    pub owner_user_id: String,
    pub conversation_id: String,
    pub conversation_type: i32,
    /// The peer of a single or notification chat.
    pub user_id: String,
    pub group_id: String,
    pub recv_msg_opt: i32,
    pub is_pinned: bool,
    pub attached_info: String,
    pub is_private_chat: bool,
    pub group_at_type: i32,
    pub ex: String,
    pub burn_duration: i32,
    /// Per-user lower bound (raised by clearing history).
    pub min_seq: i64,
    /// Per-user upper bound (set when kicked/quit); 0 = none.
    pub max_seq: i64,
    pub msg_destruct_time: i64,
    pub latest_msg_destruct_time: i64,
    pub is_msg_destruct: bool,
    /// Milliseconds.
    pub create_time: i64,
    /// The greatest seq of the conversation the projection has seen.
    pub conv_max_seq: i64,
    /// Send time of that message (OpenIM's maxSeqTime).
    pub conv_max_seq_time: i64,
    pub has_read_seq: i64,
    pub latest: Option<Latest>,
    /// True for `n_` rows: seqs only, never listed.
    pub notification: bool,
    pub version_logged: bool,
}

impl ConversationRow {
    /// The conversation's max seq as this owner may see it (the per-user cap applied).
    pub fn visible_max_seq(&self) -> i64 {
        if self.max_seq > 0 {
            self.conv_max_seq.min(self.max_seq)
        } else {
            self.conv_max_seq
        }
    }

    /// OpenIM's unread count: max − has-read, never negative.
    pub fn unread(&self) -> i64 {
        (self.visible_max_seq() - self.has_read_seq).max(0)
    }

    /// Send time of the latest message, or the creation time (for sorting by activity).
    pub fn last_active(&self) -> i64 {
        self.latest
            .as_ref()
            .map_or(self.create_time, |l| l.send_time)
    }
}

/// What a conversation id says about an owner's row: type, peer, group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub conversation_type: i32,
    pub user_id: String,
    pub group_id: String,
    pub notification: bool,
}

fn peer_of(rest: &str, owner: &str) -> String {
    if let Some(p) = rest.strip_prefix(owner).and_then(|r| r.strip_prefix('_')) {
        return p.to_string();
    }
    if let Some(p) = rest.strip_suffix(owner).and_then(|r| r.strip_suffix('_')) {
        return p.to_string();
    }
    String::new()
}

/// The identity fields of `owner`'s row for `conversation_id` (protocol.md §4.1).
pub fn identity(owner: &str, conversation_id: &str) -> Identity {
    let mut id = Identity::default();
    if let Some(rest) = conversation_id.strip_prefix("si_") {
        id.conversation_type = session::SINGLE;
        id.user_id = peer_of(rest, owner);
    } else if let Some(rest) = conversation_id.strip_prefix("sg_") {
        id.conversation_type = session::READ_GROUP;
        id.group_id = rest.to_string();
    } else if let Some(rest) = conversation_id.strip_prefix("sn_") {
        id.conversation_type = session::NOTIFICATION;
        id.user_id = peer_of(rest, owner);
    } else if let Some(rest) = conversation_id.strip_prefix("g_") {
        id.conversation_type = session::WRITE_GROUP;
        id.group_id = rest.to_string();
    } else if conversation_id.starts_with("n_") {
        id.notification = true;
    }
    id
}

/// The fields a new row starts with (everything but the seqs a `$max` sets).
fn insert_defaults(owner: &str, conversation_id: &str, skip: &Document) -> Document {
    let id = identity(owner, conversation_id);
    let all = doc! {
        "conversation_type": id.conversation_type,
        "user_id": id.user_id,
        "group_id": id.group_id,
        "recv_msg_opt": recv_opt::RECEIVE,
        "is_pinned": false,
        "attached_info": "",
        "is_private_chat": false,
        "group_at_type": 0,
        "ex": "",
        "burn_duration": 0,
        "min_seq": 0i64,
        "max_seq": 0i64,
        "msg_destruct_time": 0i64,
        "latest_msg_destruct_time": 0i64,
        "is_msg_destruct": false,
        "create_time": rill_core::now_ms(),
        "notification": id.notification,
        "version_logged": false,
    };
    all.into_iter()
        .filter(|(k, _)| !skip.contains_key(k))
        .collect()
}

fn key(owner: &str, conversation_id: &str) -> Document {
    doc! { "owner_user_id": owner, "conversation_id": conversation_id }
}

fn from_doc(d: Document) -> Result<ConversationRow, StoreError> {
    bson::from_document(d).map_err(|e| StoreError::Bson(e.to_string()))
}

/// `update` plus the `$setOnInsert` of every default field it does not itself set.
fn with_insert_defaults(owner: &str, conversation_id: &str, mut update: Document) -> Document {
    let mut touched = Document::new();
    for (_, fields) in update.iter() {
        if let Some(fields) = fields.as_document() {
            for (k, _) in fields {
                touched.insert(k.clone(), true);
            }
        }
    }
    update.insert(
        "$setOnInsert",
        insert_defaults(owner, conversation_id, &touched),
    );
    update
}

/// Upserts the row with `update` (which must not touch the insert defaults it does not mean
/// to) and answers whether the row still needs its insert recorded in the version log.
async fn upsert(
    db: &Database,
    owner: &str,
    conversation_id: &str,
    update: Document,
) -> Result<bool, StoreError> {
    let update = with_insert_defaults(owner, conversation_id, update);
    let coll = collection(db);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let r = coll
            .find_one_and_update(key(owner, conversation_id), update.clone())
            .upsert(true)
            .return_document(ReturnDocument::After)
            .projection(doc! { "version_logged": 1, "notification": 1 })
            .await;
        match r {
            Ok(d) => {
                let d = d.unwrap_or_default();
                let logged = d.get_bool("version_logged").unwrap_or(false);
                let notification = d.get_bool("notification").unwrap_or(false);
                return Ok(!logged && !notification);
            }
            // Two upserts of a new row raced; the loser retries as an update.
            Err(e) if crate::error::is_duplicate_key(&e) && attempt < 3 => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The effect of stored messages on one owner's row.
#[derive(Debug, Clone)]
pub struct MessageEffect<'a> {
    pub owner: &'a str,
    pub conversation_id: &'a str,
    /// The newest of the messages (seq filled in).
    pub latest: &'a Message,
    /// The seq of the newest message `owner` sent among them (0 = none): storing a message
    /// advances the sender's has-read seq.
    pub has_read_seq: i64,
}

/// The row side of a message effect: the sender's has-read seq moves up; for anyone else the
/// `$max` of 0 only creates the row when it is missing (no write when it exists).
fn message_update(e: &MessageEffect<'_>) -> Document {
    doc! { "$max": { "has_read_seq": e.has_read_seq.max(0) } }
}

/// Applies stored messages to their owners' rows (each (owner, conversation) at most once):
/// moves each conversation's head (see [`heads`]) if its message is newer, creates missing rows
/// and raises the senders' has-read seqs — one multi-statement `update` command per
/// [`BULK_STATEMENTS`] heads and rows, and one `find` for the rows whose creation is not yet
/// logged, instead of a findAndModify per row. Returns those rows (to record with
/// [`record_changes`]). A group's members need no effect of their own: their rows were created when they
/// joined (see [`ensure_rows`]) and the head they read is the conversation's.
pub async fn apply_messages(
    db: &Database,
    effects: &[MessageEffect<'_>],
) -> Result<Vec<(String, String)>, StoreError> {
    let mut newest: HashMap<&str, &Message> = HashMap::new();
    for e in effects {
        let slot = newest.entry(e.conversation_id).or_insert(e.latest);
        if e.latest.seq > slot.seq {
            *slot = e.latest;
        }
    }
    let newest: Vec<(&str, &Message)> = newest.into_iter().collect();
    heads::advance(db, &newest).await?;
    let rows = effects
        .iter()
        .map(|e| (e.owner, e.conversation_id, message_update(e)))
        .collect();
    bulk::upsert_rows(db, rows).await
}

/// Makes sure each owner has a row for the conversation (OpenIM creates group conversation
/// rows for every member when the group is created or joined). Returns the owners whose row
/// still has to be recorded in the version log as inserted.
pub async fn ensure_rows(
    db: &Database,
    owners: &[String],
    conversation_id: &str,
) -> Result<Vec<String>, StoreError> {
    // `$max` of 0 creates the row without moving any seq of an existing one.
    let rows = owners
        .iter()
        .map(|owner| {
            (
                owner.as_str(),
                conversation_id,
                doc! { "$max": { "has_read_seq": 0i64 } },
            )
        })
        .collect();
    let pending: std::collections::HashSet<String> = bulk::upsert_rows(db, rows)
        .await?
        .into_iter()
        .map(|(owner, _)| owner)
        .collect();
    // In the caller's order.
    Ok(owners
        .iter()
        .filter(|o| pending.contains(*o))
        .cloned()
        .collect())
}

/// Raises the owner's has-read seq to `seq` (never lowers it). Creates the row if the
/// projection has not yet; returns true when that creation must be recorded.
pub async fn raise_has_read_seq(
    db: &Database,
    owner: &str,
    conversation_id: &str,
    seq: i64,
) -> Result<bool, StoreError> {
    upsert(
        db,
        owner,
        conversation_id,
        doc! { "$max": { "has_read_seq": seq } },
    )
    .await
}

/// Conversation settings to change; `None` leaves a field alone (OpenIM's wrapper fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patch {
    pub recv_msg_opt: Option<i32>,
    pub is_pinned: Option<bool>,
    pub attached_info: Option<String>,
    pub is_private_chat: Option<bool>,
    pub ex: Option<String>,
    pub burn_duration: Option<i32>,
    pub min_seq: Option<i64>,
    pub max_seq: Option<i64>,
    pub group_at_type: Option<i32>,
    pub msg_destruct_time: Option<i64>,
    pub is_msg_destruct: Option<bool>,
    pub latest_msg_destruct_time: Option<i64>,
}

impl Patch {
    /// The `$set` document of the fields present.
    pub fn to_document(&self) -> Document {
        let mut d = Document::new();
        macro_rules! put {
            ($($f:ident),*) => {$(
                if let Some(v) = &self.$f {
                    d.insert(stringify!($f), v.clone());
                }
            )*};
        }
        put!(
            recv_msg_opt,
            is_pinned,
            attached_info,
            is_private_chat,
            ex,
            burn_duration,
            min_seq,
            max_seq,
            group_at_type,
            msg_destruct_time,
            is_msg_destruct,
            latest_msg_destruct_time
        );
        d
    }

    pub fn is_empty(&self) -> bool {
        self.to_document().is_empty()
    }
}

/// Sets OpenIM Conversation fields on the owner's row, creating it when missing. Answers
/// `None` when nothing changed, otherwise whether the row was created (`Insert`) or changed
/// (`Update`); the caller records that with [`record_changes`].
pub async fn set_fields(
    db: &Database,
    owner: &str,
    conversation_id: &str,
    patch: &Patch,
) -> Result<Option<ChangeKind>, StoreError> {
    let fields = patch.to_document();
    if fields.is_empty() {
        return Ok(None);
    }
    let existing = collection(db).find_one(key(owner, conversation_id)).await?;
    if let Some(row) = &existing {
        let same = fields.iter().all(|(k, v)| bson_eq(row.get(k), v));
        if same && row.get_bool("version_logged").unwrap_or(false) {
            return Ok(None);
        }
    }
    let needs_insert_log = upsert(db, owner, conversation_id, doc! { "$set": fields }).await?;
    Ok(Some(if existing.is_none() || needs_insert_log {
        ChangeKind::Insert
    } else {
        ChangeKind::Update
    }))
}

/// Numbers compare by value whatever their BSON width.
fn bson_eq(a: Option<&Bson>, b: &Bson) -> bool {
    fn num(v: &Bson) -> Option<f64> {
        match v {
            Bson::Int32(n) => Some(f64::from(*n)),
            Bson::Int64(n) => Some(*n as f64),
            Bson::Double(n) => Some(*n),
            _ => None,
        }
    }
    match (a, num(b)) {
        (Some(a), Some(nb)) => num(a) == Some(nb),
        (Some(a), None) => a == b,
        (None, _) => false,
    }
}

/// Records changes of the owner's rows in the version log (one new version) and marks the
/// inserted rows as logged.
pub async fn record_changes(
    db: &Database,
    owner: &str,
    changes: &[(String, ChangeKind)],
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    VersionLog::conversations(db).record(owner, changes).await?;
    let logged: Vec<&str> = changes
        .iter()
        .filter(|(_, k)| *k != ChangeKind::Delete)
        .map(|(c, _)| c.as_str())
        .collect();
    if !logged.is_empty() {
        collection(db)
            .update_many(
                doc! { "owner_user_id": owner, "conversation_id": { "$in": logged } },
                doc! { "$set": { "version_logged": true } },
            )
            .await?;
    }
    Ok(())
}

/// Row documents as rows, their conversations' heads joined in.
async fn with_heads(
    db: &Database,
    docs: Vec<Document>,
) -> Result<Vec<ConversationRow>, StoreError> {
    let mut rows = docs
        .into_iter()
        .map(from_doc)
        .collect::<Result<Vec<_>, _>>()?;
    heads::join(db, &mut rows).await?;
    Ok(rows)
}

async fn rows(db: &Database, filter: Document) -> Result<Vec<ConversationRow>, StoreError> {
    let docs: Vec<Document> = collection(db)
        .find(filter)
        .sort(doc! { "_id": 1 })
        .await?
        .try_collect()
        .await?;
    with_heads(db, docs).await
}

fn listed(owner: &str) -> Document {
    doc! { "owner_user_id": owner, "notification": { "$ne": true } }
}

/// [`listed`] narrowed to `conversation_ids`.
fn listed_among(owner: &str, conversation_ids: &[String]) -> Document {
    let mut filter = listed(owner);
    filter.insert("conversation_id", doc! { "$in": conversation_ids.to_vec() });
    filter
}

/// One owner's row (listed or not).
pub async fn get(
    db: &Database,
    owner: &str,
    conversation_id: &str,
) -> Result<Option<ConversationRow>, StoreError> {
    let Some(row) = collection(db).find_one(key(owner, conversation_id)).await? else {
        return Ok(None);
    };
    Ok(with_heads(db, vec![row]).await?.pop())
}

/// The owner's rows among `conversation_ids`, in creation order (missing ones are skipped).
pub async fn find(
    db: &Database,
    owner: &str,
    conversation_ids: &[String],
) -> Result<Vec<ConversationRow>, StoreError> {
    if conversation_ids.is_empty() {
        return Ok(Vec::new());
    }
    rows(db, listed_among(owner, conversation_ids)).await
}

/// Every conversation of the owner, in creation order.
pub async fn all(db: &Database, owner: &str) -> Result<Vec<ConversationRow>, StoreError> {
    rows(db, listed(owner)).await
}

/// A page of the owner's conversations (creation order) and the total count. Pages start at 1.
pub async fn page(
    db: &Database,
    owner: &str,
    page_number: u64,
    show_number: u64,
) -> Result<(u64, Vec<ConversationRow>), StoreError> {
    let coll = collection(db);
    let total = coll.count_documents(listed(owner)).await?;
    let skip = page_number.saturating_sub(1).saturating_mul(show_number);
    let docs: Vec<Document> = coll
        .find(listed(owner))
        .sort(doc! { "_id": 1 })
        .skip(skip)
        .limit(i64::try_from(show_number).unwrap_or(i64::MAX))
        .await?
        .try_collect()
        .await?;
    Ok((total, with_heads(db, docs).await?))
}

async fn ids_where(db: &Database, filter: Document) -> Result<Vec<String>, StoreError> {
    let docs: Vec<Document> = collection(db)
        .find(filter)
        .sort(doc! { "_id": 1 })
        .projection(doc! { "_id": 0, "conversation_id": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(docs
        .into_iter()
        .filter_map(|d| d.get_str("conversation_id").ok().map(str::to_string))
        .collect())
}

/// The owner's conversation ids, in creation order.
pub async fn ids(db: &Database, owner: &str) -> Result<Vec<String>, StoreError> {
    ids_where(db, listed(owner)).await
}

/// The owner's pinned conversation ids.
pub async fn pinned_ids(db: &Database, owner: &str) -> Result<Vec<String>, StoreError> {
    let mut f = listed(owner);
    f.insert("is_pinned", true);
    ids_where(db, f).await
}

/// The owner's conversations set to "receive but do not notify" (recvMsgOpt 2).
pub async fn not_notify_ids(db: &Database, owner: &str) -> Result<Vec<String>, StoreError> {
    let mut f = listed(owner);
    f.insert("recv_msg_opt", recv_opt::RECEIVE_NOT_NOTIFY);
    ids_where(db, f).await
}

/// Owners of `conversation_id` whose recvMsgOpt is not "receive" (OpenIM's
/// GetConversationNotReceiveMessageUserIDs; push uses it for offline-push filtering).
pub async fn not_receive_owner_ids(
    db: &Database,
    conversation_id: &str,
) -> Result<Vec<String>, StoreError> {
    let docs: Vec<Document> = collection(db)
        .find(doc! { "conversation_id": conversation_id, "recv_msg_opt": { "$ne": recv_opt::RECEIVE } })
        .projection(doc! { "_id": 0, "owner_user_id": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(docs
        .into_iter()
        .filter_map(|d| d.get_str("owner_user_id").ok().map(str::to_string))
        .collect())
}

/// Per-user seq bounds of one owner's row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqState {
    pub has_read_seq: i64,
    /// Lower bound (0 = none).
    pub min_seq: i64,
    /// Upper bound (0 = none).
    pub max_seq: i64,
}

/// Seq state of the owner's rows among `conversation_ids` (listed and `n_` rows alike);
/// conversations without a row are absent from the map.
pub async fn seq_states(
    db: &Database,
    owner: &str,
    conversation_ids: &[String],
) -> Result<HashMap<String, SeqState>, StoreError> {
    if conversation_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let docs: Vec<Document> = collection(db)
        .find(doc! { "owner_user_id": owner, "conversation_id": { "$in": conversation_ids.to_vec() } })
        .projection(doc! {
            "_id": 0, "conversation_id": 1, "has_read_seq": 1, "min_seq": 1, "max_seq": 1,
        })
        .await?
        .try_collect()
        .await?;
    let int = |d: &Document, k: &str| match d.get(k) {
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Int32(n)) => i64::from(*n),
        _ => 0,
    };
    Ok(docs
        .into_iter()
        .filter_map(|d| {
            let id = d.get_str("conversation_id").ok()?.to_string();
            let s = SeqState {
                has_read_seq: int(&d, "has_read_seq"),
                min_seq: int(&d, "min_seq"),
                max_seq: int(&d, "max_seq"),
            };
            Some((id, s))
        })
        .collect())
}

/// Has-read seqs of the owner's rows among `conversation_ids` (0 when absent).
pub async fn has_read_seqs(
    db: &Database,
    owner: &str,
    conversation_ids: &[String],
) -> Result<HashMap<String, i64>, StoreError> {
    Ok(seq_states(db, owner, conversation_ids)
        .await?
        .into_iter()
        .map(|(k, s)| (k, s.has_read_seq))
        .collect())
}

/// Deletes the owner's rows; returns the ids that existed.
pub async fn delete(
    db: &Database,
    owner: &str,
    conversation_ids: &[String],
) -> Result<Vec<String>, StoreError> {
    if conversation_ids.is_empty() {
        return Ok(Vec::new());
    }
    let f = listed_among(owner, conversation_ids);
    let existing = ids_where(db, f.clone()).await?;
    collection(db).delete_many(f).await?;
    Ok(existing)
}

/// Sets `ex` on every listed row of the owner; returns the ids whose value changed.
pub async fn set_ex_all(db: &Database, owner: &str, ex: &str) -> Result<Vec<String>, StoreError> {
    let mut f = listed(owner);
    f.insert("ex", doc! { "$ne": ex });
    let changed = ids_where(db, f.clone()).await?;
    if !changed.is_empty() {
        collection(db)
            .update_many(f, doc! { "$set": { "ex": ex } })
            .await?;
    }
    Ok(changed)
}

/// Drops the read model (rows, heads and version log), for a rebuild.
pub async fn drop_all(db: &Database) -> Result<(), StoreError> {
    collection(db).drop().await?;
    heads::drop_all(db).await?;
    VersionLog::conversations(db).drop_all().await?;
    ensure_indexes(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_follow_the_id_rules() {
        let s = identity("u1", "si_u1_u2");
        assert_eq!((s.conversation_type, s.user_id.as_str()), (1, "u2"));
        assert_eq!(identity("u2", "si_u1_u2").user_id, "u1");
        assert_eq!(identity("u1", "si_u1_u1").user_id, "u1");
        let g = identity("u1", "sg_42");
        assert_eq!((g.conversation_type, g.group_id.as_str()), (3, "42"));
        assert_eq!(identity("u1", "sn_u1_oa").user_id, "oa");
        assert!(identity("u1", "n_u1_u2").notification);
    }

    #[test]
    fn unread_respects_the_cap() {
        let mut r = ConversationRow {
            conv_max_seq: 10,
            has_read_seq: 4,
            ..Default::default()
        };
        assert_eq!(r.unread(), 6);
        r.max_seq = 5;
        assert_eq!(r.unread(), 1);
        r.has_read_seq = 9;
        assert_eq!(r.unread(), 0);
    }
}
