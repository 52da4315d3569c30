//! Applying entity events (friends, blacks, friend requests, groups, members, group requests)
//! to MongoDB: one collection per row kind, and the version logs that incremental sync reads.
//!
//! Applying is idempotent and order-safe, so the request and the readmodel worker may both
//! apply the same event, in any interleaving, any number of times:
//! - a row is written only if its stored `rev` is older than the event's (an upsert guarded by
//!   `rev < new`; the duplicate-key error of a losing upsert means "already newer");
//! - a removed row stays as a tombstone (`deleted: true`), so a late older event cannot bring
//!   it back; readers filter tombstones out;
//! - version-log entries remember the rev that recorded them ([`VersionLog::record_at`]).

use crate::StoreError;
use crate::versions::{self, ChangeKind, VersionLog};
use bson::{Document, doc};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt, TryStreamExt, stream};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use rill_core::entity::{Change, EntityEvent, Kind, Rev};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

pub const FRIENDS: &str = "friends";
pub const BLACKS: &str = "blacks";
pub const FRIEND_REQUESTS: &str = "friend_requests";
pub const GROUPS: &str = "groups";
pub const GROUP_MEMBERS: &str = "group_members";
pub const GROUP_REQUESTS: &str = "group_requests";

/// Row writes in flight per event (a group created with thousands of members).
const CONCURRENCY: usize = 16;

/// The `_id` of a row keyed by a user id and something else: user ids never contain `:`
/// (user_register rejects it), so `<user>:<rest>` is unambiguous.
pub fn pair_id(user_id: &str, other: &str) -> String {
    format!("{user_id}:{other}")
}

/// The filter every reader adds: tombstones are not rows.
pub fn live() -> Document {
    doc! { "deleted": { "$ne": true } }
}

fn kind_of(k: Kind) -> ChangeKind {
    match k {
        Kind::Insert => ChangeKind::Insert,
        Kind::Update => ChangeKind::Update,
        Kind::Delete => ChangeKind::Delete,
    }
}

/// Writes `fields` as row `id` unless the stored row is as new as `rev` or newer. Returns
/// whether it wrote.
async fn put(
    coll: &Collection<Document>,
    id: &str,
    mut fields: Document,
    rev: &Rev,
) -> Result<bool, StoreError> {
    fields.insert("rev", rev.as_str());
    fields.remove("_id");
    let r = coll
        .update_one(
            doc! { "_id": id, "rev": { "$lt": rev.as_str() } },
            doc! { "$set": fields },
        )
        .upsert(true)
        .await;
    match r {
        Ok(r) => Ok(r.matched_count > 0 || r.upserted_id.is_some()),
        // The row exists with a rev >= ours: the upsert's insert collided with it.
        Err(e) if crate::error::is_duplicate_key(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn fields_of<T: Serialize>(row: &T, deleted: bool) -> Result<Document, StoreError> {
    let mut d = bson::to_document(row).map_err(|e| StoreError::Bson(e.to_string()))?;
    d.insert("deleted", deleted);
    Ok(d)
}

/// The row itself or, for a removal, a tombstone carrying the key fields.
fn row_or_tombstone<T: Serialize>(
    row: Option<&T>,
    tombstone: Document,
) -> Result<Document, StoreError> {
    match row {
        Some(r) => fields_of(r, false),
        None => {
            let mut d = tombstone;
            d.insert("deleted", true);
            Ok(d)
        }
    }
}

/// Decodes live rows of a query (tombstones and undecodable documents are skipped).
pub async fn rows<T: DeserializeOwned + Send + Sync>(
    coll: &Collection<Document>,
    mut filter: Document,
) -> Result<Vec<T>, StoreError> {
    filter.extend(live());
    let docs: Vec<Document> = coll.find(filter).await?.try_collect().await?;
    Ok(docs
        .into_iter()
        .filter_map(|d| bson::from_document(d).ok())
        .collect())
}

/// One version-log record to make: (log collection, owner) → elements.
type VersionWork = BTreeMap<(&'static str, String), Vec<(String, ChangeKind)>>;

fn note(work: &mut VersionWork, log: &'static str, owner: &str, element: &str, kind: ChangeKind) {
    work.entry((log, owner.to_string()))
        .or_default()
        .push((element.to_string(), kind));
}

/// Applies every change of `event` (order `rev`) and records the version-log changes.
/// Idempotent; safe to run concurrently with itself.
pub async fn apply(db: &Database, event: &EntityEvent, rev: &Rev) -> Result<(), StoreError> {
    let mut work = VersionWork::new();
    let mut writes: Vec<(&'static str, String, Document)> = Vec::new();
    for change in &event.changes {
        match change {
            Change::Friend {
                owner,
                friend,
                kind,
                row,
            } => {
                let tomb = doc! { "owner_user_id": owner, "friend_user_id": friend };
                writes.push((
                    FRIENDS,
                    pair_id(owner, friend),
                    row_or_tombstone(row.as_ref(), tomb)?,
                ));
                if *kind == Kind::Update
                    && let Some(new) = row
                    && pin_changes(db, owner, friend, new.is_pinned).await?
                {
                    // Pinned friends are listed first: the SDK re-reads the order.
                    note(
                        &mut work,
                        versions::FRIENDS,
                        owner,
                        versions::SORT_ELEMENT,
                        ChangeKind::Update,
                    );
                }
                note(&mut work, versions::FRIENDS, owner, friend, kind_of(*kind));
            }
            Change::Black {
                owner,
                black,
                kind,
                row,
            } => {
                let tomb = doc! { "owner_user_id": owner, "block_user_id": black };
                writes.push((
                    BLACKS,
                    pair_id(owner, black),
                    row_or_tombstone(row.as_ref(), tomb)?,
                ));
                note(&mut work, versions::BLACKS, owner, black, kind_of(*kind));
            }
            Change::FriendRequest(r) => writes.push((
                FRIEND_REQUESTS,
                pair_id(&r.from_user_id, &r.to_user_id),
                fields_of(r, false)?,
            )),
            Change::Group { kind, row } => {
                writes.push((GROUPS, row.group_id.clone(), fields_of(row, false)?));
                note(
                    &mut work,
                    versions::GROUP_MEMBERS,
                    &row.group_id,
                    versions::GROUP_INFO_ELEMENT,
                    kind_of(*kind),
                );
                if *kind == Kind::Update {
                    // Every member's joined-group list shows the group: OpenIM bumps them all.
                    for m in member_ids(db, &row.group_id).await? {
                        note(
                            &mut work,
                            versions::JOINED_GROUPS,
                            &m,
                            &row.group_id,
                            ChangeKind::Update,
                        );
                    }
                }
            }
            Change::Member {
                group_id,
                user_id,
                kind,
                row,
            } => {
                let tomb = doc! { "group_id": group_id, "user_id": user_id };
                writes.push((
                    GROUP_MEMBERS,
                    pair_id(user_id, group_id),
                    row_or_tombstone(row.as_ref(), tomb)?,
                ));
                note(
                    &mut work,
                    versions::GROUP_MEMBERS,
                    group_id,
                    user_id,
                    kind_of(*kind),
                );
                if *kind == Kind::Update
                    && let Some(new) = row
                    && role_changes(db, group_id, user_id, new.role_level).await?
                {
                    // Members are listed by role: the SDK re-reads the order when this moves.
                    note(
                        &mut work,
                        versions::GROUP_MEMBERS,
                        group_id,
                        versions::SORT_ELEMENT,
                        ChangeKind::Update,
                    );
                }
                if *kind != Kind::Update {
                    note(
                        &mut work,
                        versions::JOINED_GROUPS,
                        user_id,
                        group_id,
                        kind_of(*kind),
                    );
                }
            }
            Change::GroupRequest(r) => writes.push((
                GROUP_REQUESTS,
                pair_id(&r.user_id, &r.group_id),
                fields_of(r, false)?,
            )),
        }
    }
    // Boxed so the futures' types name no closure lifetimes (the callers' futures must be
    // `Send` for every lifetime, which unboxed closure futures here cannot prove).
    let puts: Vec<BoxFuture<'_, Result<bool, StoreError>>> = writes
        .into_iter()
        .map(|(coll, id, fields)| {
            let coll = db.collection::<Document>(coll);
            async move { put(&coll, &id, fields, rev).await }.boxed()
        })
        .collect();
    stream::iter(puts)
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<bool>>()
        .await?;
    let records: Vec<BoxFuture<'_, Result<versions::Head, StoreError>>> = work
        .into_iter()
        .map(|((log, owner), elements)| {
            let log = VersionLog::new(db, log);
            async move { log.record_at(&owner, &elements, rev.as_str()).await }.boxed()
        })
        .collect();
    stream::iter(records)
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// True when the stored member row has another role than `role` (a first write, or one that
/// was already applied, is not a role change).
async fn role_changes(
    db: &Database,
    group_id: &str,
    user_id: &str,
    role: i32,
) -> Result<bool, StoreError> {
    let stored = db
        .collection::<Document>(GROUP_MEMBERS)
        .find_one(doc! { "_id": pair_id(user_id, group_id) })
        .projection(doc! { "role_level": 1, "deleted": 1 })
        .await?;
    Ok(stored.is_some_and(|d| {
        !d.get_bool("deleted").unwrap_or(false) && d.get_i32("role_level").is_ok_and(|r| r != role)
    }))
}

/// True when the stored friend row is pinned differently than `pinned`.
async fn pin_changes(
    db: &Database,
    owner: &str,
    friend: &str,
    pinned: bool,
) -> Result<bool, StoreError> {
    let stored = db
        .collection::<Document>(FRIENDS)
        .find_one(doc! { "_id": pair_id(owner, friend) })
        .projection(doc! { "is_pinned": 1, "deleted": 1 })
        .await?;
    Ok(stored.is_some_and(|d| {
        !d.get_bool("deleted").unwrap_or(false)
            && d.get_bool("is_pinned").unwrap_or(false) != pinned
    }))
}

/// The user ids of a group's live members.
pub async fn member_ids(db: &Database, group_id: &str) -> Result<Vec<String>, StoreError> {
    let mut filter = doc! { "group_id": group_id };
    filter.extend(live());
    let docs: Vec<Document> = db
        .collection::<Document>(GROUP_MEMBERS)
        .find(filter)
        .projection(doc! { "user_id": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(docs
        .iter()
        .filter_map(|d| d.get_str("user_id").ok().map(str::to_string))
        .collect())
}

/// A group's live fields (`None`: no such group).
pub async fn group(
    db: &Database,
    group_id: &str,
) -> Result<Option<rill_core::entity::Group>, StoreError> {
    let coll = db.collection::<Document>(GROUPS);
    Ok(rows(&coll, doc! { "_id": group_id })
        .await?
        .into_iter()
        .next())
}

/// A group's live members.
pub async fn members(
    db: &Database,
    group_id: &str,
) -> Result<Vec<rill_core::entity::Member>, StoreError> {
    let coll = db.collection::<Document>(GROUP_MEMBERS);
    rows(&coll, doc! { "group_id": group_id }).await
}

fn index(keys: Document, name: &str) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(IndexOptions::builder().name(name.to_string()).build())
        .build()
}

/// Indexes of the entity collections and their version logs.
pub async fn ensure_indexes(db: &Database) -> Result<(), StoreError> {
    let plan: [(&str, Document, &str); 9] = [
        (FRIENDS, doc! { "owner_user_id": 1 }, "owner"),
        (BLACKS, doc! { "owner_user_id": 1 }, "owner"),
        (FRIEND_REQUESTS, doc! { "to_user_id": 1 }, "to"),
        (FRIEND_REQUESTS, doc! { "from_user_id": 1 }, "from"),
        (GROUP_MEMBERS, doc! { "group_id": 1 }, "group"),
        (GROUP_MEMBERS, doc! { "user_id": 1 }, "user"),
        (
            GROUP_MEMBERS,
            doc! { "user_id": 1, "role_level": 1 },
            "user_role",
        ),
        (GROUP_REQUESTS, doc! { "group_id": 1 }, "group"),
        (GROUP_REQUESTS, doc! { "req_time": -1 }, "req_time"),
    ];
    for (coll, keys, name) in plan {
        db.collection::<Document>(coll)
            .create_index(index(keys, name))
            .await?;
    }
    for log in [
        versions::FRIENDS,
        versions::BLACKS,
        versions::JOINED_GROUPS,
        versions::GROUP_MEMBERS,
    ] {
        VersionLog::new(db, log).ensure_indexes().await?;
    }
    Ok(())
}
