//! Version logs for OpenIM's incremental sync (`get_incremental_*`, `get_full_*_ids`).
//!
//! One document per owner (`d_id`) in a log collection (e.g. `conversation_versions`):
//! `{_id: ObjectId, d_id, version, logs: {<element id>: {s: state, v: version}}, last_update}`.
//! The document's ObjectId hex is the client's `versionID`; `version` grows by one per change.
//! Each element keeps only its last change, so a client that is behind gets each changed id
//! once. A change is a compare-and-set on `version` (the counter and the element's entry move
//! in one single-document update), so a reader never sees a version whose changes are not yet
//! written — the property incremental sync depends on. The document is recreated (new
//! ObjectId) only when the log is dropped, e.g. by a rebuild, which makes every client resync
//! fully.

use crate::StoreError;
use bson::oid::ObjectId;
use bson::{Bson, Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use std::collections::BTreeMap;

/// The conversation version log collection.
pub const CONVERSATIONS: &str = "conversation_versions";
/// Per user: their friends (element: friend's user id).
pub const FRIENDS: &str = "friend_versions";
/// Per user: their blacklist (element: blocked user id).
pub const BLACKS: &str = "black_versions";
/// Per user: the groups they joined (element: group id).
pub const JOINED_GROUPS: &str = "join_group_versions";
/// Per group: its members (element: user id; [`GROUP_INFO_ELEMENT`] for the group's own fields).
pub const GROUP_MEMBERS: &str = "group_member_versions";
/// The element of a group-member log that stands for the group's own fields (OpenIM uses the
/// empty id, which cannot be a MongoDB field name).
pub const GROUP_INFO_ELEMENT: &str = "#group";
/// OpenIM's marker element "the order changed" (a member's role in a group log; a pin in a
/// friend log): its version is the answer's `sortVersion`.
pub const SORT_ELEMENT: &str = "____S_O_R_T_I_D____";
/// OpenIM answers at most this many changes per incremental call; more means `full`.
pub const SYNC_LIMIT: usize = 200;
/// The version a new log starts at.
pub const FIRST_VERSION: u64 = 1;

/// How an element changed (OpenIM's VersionState numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Insert = 1,
    Delete = 2,
    Update = 3,
}

impl ChangeKind {
    fn from_i32(v: i32) -> Option<Self> {
        match v {
            1 => Some(ChangeKind::Insert),
            2 => Some(ChangeKind::Delete),
            3 => Some(ChangeKind::Update),
            _ => None,
        }
    }
}

/// The current position of an owner's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// ObjectId hex of the log document (OpenIM's `versionID`).
    pub id: String,
    pub version: u64,
}

/// The answer to "what changed since (version_id, version)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    pub head: Head,
    /// The client must replace everything (unknown/other log, too old, too many changes).
    pub full: bool,
    pub insert: Vec<String>,
    pub update: Vec<String>,
    pub delete: Vec<String>,
}

/// Handle on one version log collection.
#[derive(Debug, Clone)]
pub struct VersionLog {
    coll: Collection<Document>,
}

/// Element ids become document keys; `.` and a leading `$` are not allowed there, so they (and
/// the escape character itself) are percent-escaped.
fn encode_key(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for c in id.chars() {
        match c {
            '%' => out.push_str("%25"),
            '.' => out.push_str("%2E"),
            '$' => out.push_str("%24"),
            c => out.push(c),
        }
    }
    out
}

fn decode_key(key: &str) -> String {
    key.replace("%2E", ".")
        .replace("%24", "$")
        .replace("%25", "%")
}

fn as_u64(v: Option<&Bson>) -> u64 {
    match v {
        Some(Bson::Int64(n)) => (*n).max(0) as u64,
        Some(Bson::Int32(n)) => (*n).max(0) as u64,
        Some(Bson::Double(n)) => n.max(0.0) as u64,
        _ => 0,
    }
}

impl VersionLog {
    pub fn new(db: &Database, collection: &str) -> Self {
        Self {
            coll: db.collection(collection),
        }
    }

    /// The conversation version log.
    pub fn conversations(db: &Database) -> Self {
        Self::new(db, CONVERSATIONS)
    }

    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let index = IndexModel::builder()
            .keys(doc! { "d_id": 1 })
            .options(
                IndexOptions::builder()
                    .unique(true)
                    .name("d_id_unique".to_string())
                    .build(),
            )
            .build();
        self.coll.create_index(index).await?;
        Ok(())
    }

    async fn find_head(&self, owner: &str) -> Result<Option<(ObjectId, u64)>, StoreError> {
        let d = self
            .coll
            .find_one(doc! { "d_id": owner })
            .projection(doc! { "_id": 1, "version": 1 })
            .await?;
        Ok(d.and_then(|d| {
            let id = d.get_object_id("_id").ok()?;
            Some((id, as_u64(d.get("version"))))
        }))
    }

    async fn create(&self, owner: &str, logs: Document) -> Result<Option<Head>, StoreError> {
        let id = ObjectId::new();
        let d = doc! {
            "_id": id,
            "d_id": owner,
            "version": FIRST_VERSION as i64,
            "logs": logs,
            "last_update": bson::DateTime::now(),
        };
        match self.coll.insert_one(d).await {
            Ok(_) => Ok(Some(Head {
                id: id.to_hex(),
                version: FIRST_VERSION,
            })),
            Err(e) if crate::error::is_duplicate_key(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The owner's head, creating an empty log when there is none (so a client always gets a
    /// `versionID` to come back with).
    pub async fn head(&self, owner: &str) -> Result<Head, StoreError> {
        loop {
            if let Some((id, version)) = self.find_head(owner).await? {
                return Ok(Head {
                    id: id.to_hex(),
                    version,
                });
            }
            if let Some(h) = self.create(owner, Document::new()).await? {
                return Ok(h);
            }
        }
    }

    /// Records that `changes` happened to the owner's elements: one new version covering all
    /// of them. Returns the new head.
    pub async fn record(
        &self,
        owner: &str,
        changes: &[(String, ChangeKind)],
    ) -> Result<Head, StoreError> {
        if changes.is_empty() {
            return self.head(owner).await;
        }
        self.record_if_newer(owner, changes, None).await
    }

    /// [`record`](Self::record) for an entity event of order `rev`: elements whose last
    /// recorded change came from `rev` or a later event are left alone, so re-applying an
    /// event (the readmodel worker after the request) records nothing twice and an old event
    /// never hides a newer change. Returns the head.
    pub async fn record_at(
        &self,
        owner: &str,
        changes: &[(String, ChangeKind)],
        rev: &str,
    ) -> Result<Head, StoreError> {
        self.record_if_newer(owner, changes, Some(rev)).await
    }

    /// One compare-and-set on `version` covering `changes`; with a `rev`, only the elements
    /// last recorded by an older rev (or never) count, and each remembers `rev`.
    async fn record_if_newer(
        &self,
        owner: &str,
        changes: &[(String, ChangeKind)],
        rev: Option<&str>,
    ) -> Result<Head, StoreError> {
        let entry = |kind: ChangeKind, version: u64| {
            let mut e = doc! { "s": kind as i32, "v": version as i64 };
            if let Some(rev) = rev {
                e.insert("r", rev);
            }
            e
        };
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut projection = doc! { "_id": 1, "version": 1 };
            for (id, _) in changes {
                projection.insert(format!("logs.{}", encode_key(id)), 1);
            }
            let existing = self
                .coll
                .find_one(doc! { "d_id": owner })
                .projection(projection)
                .await?;
            let Some(d) = existing else {
                let mut logs = Document::new();
                for (id, kind) in changes {
                    logs.insert(encode_key(id), entry(*kind, FIRST_VERSION));
                }
                if let Some(h) = self.create(owner, logs).await? {
                    return Ok(h);
                }
                continue;
            };
            let oid = d
                .get_object_id("_id")
                .map_err(|e| StoreError::Bson(e.to_string()))?;
            let current = as_u64(d.get("version"));
            let logs = d.get_document("logs").ok();
            let due: Vec<&(String, ChangeKind)> = changes
                .iter()
                .filter(|(id, _)| {
                    let Some(rev) = rev else {
                        return true;
                    };
                    let seen = logs
                        .and_then(|l| l.get_document(encode_key(id)).ok())
                        .and_then(|e| e.get_str("r").ok());
                    seen.is_none_or(|r| r < rev)
                })
                .collect();
            if due.is_empty() {
                return Ok(Head {
                    id: oid.to_hex(),
                    version: current,
                });
            }
            let next = current + 1;
            let mut set = doc! {
                "version": next as i64,
                "last_update": bson::DateTime::now(),
            };
            for (id, kind) in due {
                set.insert(format!("logs.{}", encode_key(id)), entry(*kind, next));
            }
            let r = self
                .coll
                .update_one(
                    doc! { "_id": oid, "version": current as i64 },
                    doc! { "$set": set },
                )
                .await?;
            if r.matched_count == 1 {
                return Ok(Head {
                    id: oid.to_hex(),
                    version: next,
                });
            }
            // Another writer moved the version between our read and our write: read again.
            // Back off a little after a few collisions so hot owners do not spin.
            if attempt > 3 {
                tokio::time::sleep(std::time::Duration::from_millis(u64::from(attempt.min(50))))
                    .await;
            }
        }
    }

    /// What changed since the client's `(version_id, version)`, OpenIM's incremental rules:
    /// an unknown or different `version_id`, a zero or future `version`, or more than `limit`
    /// changed elements answer `full = true`; the same version answers no changes.
    pub async fn since(
        &self,
        owner: &str,
        version_id: &str,
        version: u64,
        limit: usize,
    ) -> Result<Changes, StoreError> {
        let head = self.head(owner).await?;
        let mut out = Changes {
            head: head.clone(),
            full: false,
            insert: Vec::new(),
            update: Vec::new(),
            delete: Vec::new(),
        };
        let valid_id = ObjectId::parse_str(version_id).is_ok_and(|o| o.bytes() != [0u8; 12]);
        if !valid_id || version == 0 || version_id != head.id || version > head.version {
            out.full = true;
            return Ok(out);
        }
        if version == head.version {
            return Ok(out);
        }
        let Some(d) = self
            .coll
            .find_one(doc! { "d_id": owner })
            .projection(doc! { "_id": 1, "version": 1, "logs": 1 })
            .await?
        else {
            out.full = true;
            return Ok(out);
        };
        // The document may have moved on since `head`; answer with what we read.
        out.head.version = as_u64(d.get("version"));
        if d.get_object_id("_id").map(|o| o.to_hex()).ok().as_deref() != Some(version_id) {
            out.full = true;
            return Ok(out);
        }
        let mut changed: Vec<(u64, String, ChangeKind)> = Vec::new();
        if let Ok(logs) = d.get_document("logs") {
            for (key, entry) in logs {
                let Some(entry) = entry.as_document() else {
                    continue;
                };
                let v = as_u64(entry.get("v"));
                if v <= version {
                    continue;
                }
                let kind = entry
                    .get_i32("s")
                    .ok()
                    .and_then(ChangeKind::from_i32)
                    .unwrap_or(ChangeKind::Update);
                changed.push((v, decode_key(key), kind));
            }
        }
        if changed.len() > limit {
            out.full = true;
            return Ok(out);
        }
        changed.sort();
        for (_, id, kind) in changed {
            match kind {
                ChangeKind::Insert => out.insert.push(id),
                ChangeKind::Update => out.update.push(id),
                ChangeKind::Delete => out.delete.push(id),
            }
        }
        Ok(out)
    }

    /// Every element id with its last change, for diagnostics and tests.
    pub async fn elements(
        &self,
        owner: &str,
    ) -> Result<BTreeMap<String, (u64, ChangeKind)>, StoreError> {
        let mut out = BTreeMap::new();
        let Some(d) = self.coll.find_one(doc! { "d_id": owner }).await? else {
            return Ok(out);
        };
        if let Ok(logs) = d.get_document("logs") {
            for (key, entry) in logs {
                let Some(entry) = entry.as_document() else {
                    continue;
                };
                let kind = entry
                    .get_i32("s")
                    .ok()
                    .and_then(ChangeKind::from_i32)
                    .unwrap_or(ChangeKind::Update);
                out.insert(decode_key(key), (as_u64(entry.get("v")), kind));
            }
        }
        Ok(out)
    }

    /// Drops the whole log (a rebuild does this so every client resyncs fully).
    pub async fn drop_all(&self) -> Result<(), StoreError> {
        self.coll.drop().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for id in ["si_u1_u2", "sg_a.b", "$x%y.", "%2E"] {
            let k = encode_key(id);
            assert!(!k.contains('.') && !k.starts_with('$'));
            assert_eq!(decode_key(&k), id);
        }
    }
}
