//! Queries over the friend, blacklist and friend-request collections that
//! [`crate::entities`] writes. Every reader filters tombstones out ([`entities::live`]).
//!
//! Orders follow OpenIM's Mongo queries: friends by `is_pinned` desc then age (OpenIM sorts by
//! `_id`, an ObjectId, i.e. insertion order; ours is the pair id, so `create_time` stands in),
//! requests newest first, blacks oldest first.

use crate::StoreError;
use crate::entities::{self, BLACKS, FRIEND_REQUESTS, FRIENDS};
use bson::{Document, doc};
use mongodb::Database;
use rill_core::entity::{Black, Friend, FriendRequest};

use crate::query::{coll, page, strings as ids, with_live};

fn friend_sort() -> Document {
    doc! { "is_pinned": -1, "create_time": 1, "friend_user_id": 1 }
}

fn black_sort() -> Document {
    doc! { "create_time": 1, "block_user_id": 1 }
}

fn request_sort() -> Document {
    doc! { "create_time": -1, "from_user_id": 1, "to_user_id": 1 }
}

// ---------------------------------------------------------------- friends

/// `owner`'s live friend rows for `friend_ids` (missing ones are left out), any order.
pub async fn friends_of(
    db: &Database,
    owner: &str,
    friend_ids: &[String],
) -> Result<Vec<Friend>, StoreError> {
    if friend_ids.is_empty() {
        return Ok(Vec::new());
    }
    entities::rows(
        &coll(db, FRIENDS),
        doc! { "owner_user_id": owner, "friend_user_id": { "$in": friend_ids } },
    )
    .await
}

/// `owner`'s friend row for `friend_id`, if they are a friend.
pub async fn friend(
    db: &Database,
    owner: &str,
    friend_id: &str,
) -> Result<Option<Friend>, StoreError> {
    let id = entities::pair_id(owner, friend_id);
    Ok(entities::rows(&coll(db, FRIENDS), doc! { "_id": id })
        .await?
        .into_iter()
        .next())
}

/// One page of `owner`'s friends (pinned first) and the total.
pub async fn friend_page(
    db: &Database,
    owner: &str,
    skip: u64,
    limit: i64,
) -> Result<(u64, Vec<Friend>), StoreError> {
    page(
        &coll(db, FRIENDS),
        doc! { "owner_user_id": owner },
        friend_sort(),
        skip,
        limit,
    )
    .await
}

/// Every friend id of `owner`, pinned first (the order of OpenIM's FindFriendUserIDs, which
/// the SDK's id list and the idHash follow).
pub async fn friend_ids(db: &Database, owner: &str) -> Result<Vec<String>, StoreError> {
    ids(
        &coll(db, FRIENDS),
        doc! { "owner_user_id": owner },
        "friend_user_id",
        friend_sort(),
    )
    .await
}

/// The owners among `owners` who have `friend_id` as a friend (OpenIM's
/// FindReversalFriends).
pub async fn reversal_friends(
    db: &Database,
    friend_id: &str,
    owners: &[String],
) -> Result<Vec<Friend>, StoreError> {
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    entities::rows(
        &coll(db, FRIENDS),
        doc! { "owner_user_id": { "$in": owners }, "friend_user_id": friend_id },
    )
    .await
}

/// The users who have `friend_id` in their friend list.
pub async fn owners_of(db: &Database, friend_id: &str) -> Result<Vec<String>, StoreError> {
    ids(
        &coll(db, FRIENDS),
        doc! { "friend_user_id": friend_id },
        "owner_user_id",
        doc! { "owner_user_id": 1 },
    )
    .await
}

// ---------------------------------------------------------------- blacks

/// `owner`'s live black rows for `ids` (all of them when `ids` is empty, as OpenIM's
/// FindOwnerBlackInfos).
pub async fn blacks_of(
    db: &Database,
    owner: &str,
    ids: &[String],
) -> Result<Vec<Black>, StoreError> {
    let filter = if ids.is_empty() {
        doc! { "owner_user_id": owner }
    } else {
        doc! { "owner_user_id": owner, "block_user_id": { "$in": ids } }
    };
    entities::rows(&coll(db, BLACKS), filter).await
}

/// `owner`'s black row for `other`, if `owner` has blocked them.
pub async fn black(db: &Database, owner: &str, other: &str) -> Result<Option<Black>, StoreError> {
    let id = entities::pair_id(owner, other);
    Ok(entities::rows(&coll(db, BLACKS), doc! { "_id": id })
        .await?
        .into_iter()
        .next())
}

/// One page of `owner`'s blacklist (oldest first) and the total.
pub async fn black_page(
    db: &Database,
    owner: &str,
    skip: u64,
    limit: i64,
) -> Result<(u64, Vec<Black>), StoreError> {
    page(
        &coll(db, BLACKS),
        doc! { "owner_user_id": owner },
        black_sort(),
        skip,
        limit,
    )
    .await
}

/// Every user `owner` has blocked.
pub async fn black_ids(db: &Database, owner: &str) -> Result<Vec<String>, StoreError> {
    ids(
        &coll(db, BLACKS),
        doc! { "owner_user_id": owner },
        "block_user_id",
        black_sort(),
    )
    .await
}

// ---------------------------------------------------------------- friend requests

/// The application from `from` to `to`, if any.
pub async fn request(
    db: &Database,
    from: &str,
    to: &str,
) -> Result<Option<FriendRequest>, StoreError> {
    let id = entities::pair_id(from, to);
    Ok(
        entities::rows(&coll(db, FRIEND_REQUESTS), doc! { "_id": id })
            .await?
            .into_iter()
            .next(),
    )
}

/// The applications between `a` and `b` in either direction.
pub async fn requests_between(
    db: &Database,
    a: &str,
    b: &str,
) -> Result<Vec<FriendRequest>, StoreError> {
    let ids = [entities::pair_id(a, b), entities::pair_id(b, a)];
    entities::rows(
        &coll(db, FRIEND_REQUESTS),
        doc! { "_id": { "$in": ids.to_vec() } },
    )
    .await
}

/// Which end of an application a listing is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Applications sent to the user.
    To,
    /// Applications sent by the user.
    From,
}

/// One page (newest first) of the applications at `end` = `user`, optionally only those with
/// one of `handle_results`, and the total.
pub async fn request_page(
    db: &Database,
    end: End,
    user: &str,
    handle_results: &[i32],
    skip: u64,
    limit: i64,
) -> Result<(u64, Vec<FriendRequest>), StoreError> {
    let field = match end {
        End::To => "to_user_id",
        End::From => "from_user_id",
    };
    let mut filter = doc! { field: user };
    if !handle_results.is_empty() {
        filter.insert("handle_result", doc! { "$in": handle_results.to_vec() });
    }
    page(
        &coll(db, FRIEND_REQUESTS),
        filter,
        request_sort(),
        skip,
        limit,
    )
    .await
}

/// Pending applications to `user`, created after `after_ms` when it is not 0.
pub async fn unhandled_count(db: &Database, user: &str, after_ms: i64) -> Result<u64, StoreError> {
    let mut filter = doc! { "to_user_id": user, "handle_result": 0 };
    if after_ms != 0 {
        filter.insert("create_time", doc! { "$gt": after_ms });
    }
    Ok(coll(db, FRIEND_REQUESTS)
        .count_documents(with_live(filter))
        .await?)
}
