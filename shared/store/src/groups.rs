//! Group reads (OpenIM's `group`, `group_member` and `group_request` queries) over the rows
//! that [`crate::entities::apply`] writes. Every query skips tombstones.
//!
//! Orders are OpenIM's where a client can see them: members by role (owner, admins, members)
//! then join time; joined groups by name then creation time; requests newest first. Ties are
//! broken by id so that pages never overlap.

use crate::StoreError;
use crate::entities::{GROUP_MEMBERS, GROUP_REQUESTS, GROUPS};
use crate::query::{coll, decode, strings, with_live};
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use mongodb::{Collection, Database};
use rill_core::entity::{Group, GroupRequest, Member};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// OpenIM's role levels (`constant.GroupOwner`, `constant.GroupAdmin`).
const OWNER: i32 = 100;
const ADMIN: i32 = 60;
/// `Group.status` of a dismissed group (`constant.GroupStatusDismissed`).
const DISMISSED: i32 = 2;

/// One page of a query: `skip` rows, then at most `limit`. A `limit` below 1 is an empty page
/// (the total is still counted), as OpenIM's `FindPage` and `Paginate` answer it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Page {
    pub skip: u64,
    pub limit: i64,
}

impl Page {
    /// The page's part of `items` (already in order).
    pub fn slice<T>(&self, items: Vec<T>) -> Vec<T> {
        let Ok(limit) = usize::try_from(self.limit) else {
            return Vec::new();
        };
        let skip = usize::try_from(self.skip).unwrap_or(usize::MAX);
        items.into_iter().skip(skip).take(limit).collect()
    }
}

/// Members of a group in OpenIM's order (role level descending, then join time).
fn member_sort() -> Document {
    doc! { "role_level": -1, "join_time": 1, "user_id": 1 }
}

/// Requests newest first (OpenIM sorts by `req_time` descending).
fn request_sort() -> Document {
    doc! { "req_time": -1, "_id": 1 }
}

/// Escapes `s` for use inside a MongoDB regex (the keyword is matched as text).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Every matching live row in `sort` order, or only `page` of them.
async fn find<T: DeserializeOwned>(
    coll: &Collection<Document>,
    filter: Document,
    sort: Document,
    page: Option<Page>,
) -> Result<Vec<T>, StoreError> {
    let mut find = coll.find(with_live(filter)).sort(sort);
    if let Some(page) = page {
        if page.limit < 1 {
            return Ok(Vec::new());
        }
        find = find.skip(page.skip).limit(page.limit);
    }
    let docs: Vec<Document> = find.await?.try_collect().await?;
    Ok(decode(docs))
}

/// The total of matching live rows and `page` of them.
async fn find_page<T: DeserializeOwned>(
    coll: &Collection<Document>,
    filter: Document,
    sort: Document,
    page: Page,
) -> Result<(u64, Vec<T>), StoreError> {
    crate::query::page(coll, filter, sort, page.skip, page.limit).await
}

/// The live groups among `group_ids`, in the order asked (unknown ids are left out, as
/// OpenIM's `FindGroup` leaves them out).
pub async fn groups(db: &Database, group_ids: &[String]) -> Result<Vec<Group>, StoreError> {
    if group_ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<Group> = find(
        &coll(db, GROUPS),
        doc! { "_id": { "$in": group_ids } },
        doc! { "_id": 1 },
        None,
    )
    .await?;
    let mut by_id: HashMap<String, Group> =
        found.into_iter().map(|g| (g.group_id.clone(), g)).collect();
    Ok(group_ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Group id → the owner (the member with role 100), for the groups that have one.
pub async fn owners(
    db: &Database,
    group_ids: &[String],
) -> Result<HashMap<String, Member>, StoreError> {
    let mut out = HashMap::new();
    if group_ids.is_empty() {
        return Ok(out);
    }
    let found: Vec<Member> = find(
        &coll(db, GROUP_MEMBERS),
        doc! { "group_id": { "$in": group_ids }, "role_level": OWNER },
        doc! { "join_time": 1, "user_id": 1 },
        None,
    )
    .await?;
    for m in found {
        out.entry(m.group_id.clone()).or_insert(m);
    }
    Ok(out)
}

/// Group id → number of live members (groups without members are absent).
pub async fn member_counts(
    db: &Database,
    group_ids: &[String],
) -> Result<HashMap<String, u64>, StoreError> {
    let mut out = HashMap::new();
    if group_ids.is_empty() {
        return Ok(out);
    }
    let pipeline = vec![
        doc! { "$match": with_live(doc! { "group_id": { "$in": group_ids } }) },
        doc! { "$group": { "_id": "$group_id", "n": { "$sum": 1 } } },
    ];
    let docs: Vec<Document> = coll(db, GROUP_MEMBERS)
        .aggregate(pipeline)
        .await?
        .try_collect()
        .await?;
    for d in docs {
        let n = match d.get("n") {
            Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
            Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
            Some(Bson::Double(n)) => n.max(0.0) as u64,
            _ => 0,
        };
        if let Ok(id) = d.get_str("_id") {
            out.insert(id.to_string(), n);
        }
    }
    Ok(out)
}

/// The user ids of a group's live members in OpenIM's member order.
pub async fn member_user_ids(db: &Database, group_id: &str) -> Result<Vec<String>, StoreError> {
    strings(
        &coll(db, GROUP_MEMBERS),
        doc! { "group_id": group_id },
        "user_id",
        member_sort(),
    )
    .await
}

/// One live member (`None`: not in the group).
pub async fn member(
    db: &Database,
    group_id: &str,
    user_id: &str,
) -> Result<Option<Member>, StoreError> {
    let id = crate::entities::pair_id(user_id, group_id);
    let found: Vec<Member> = find(
        &coll(db, GROUP_MEMBERS),
        doc! { "_id": id },
        doc! { "_id": 1 },
        None,
    )
    .await?;
    Ok(found.into_iter().next())
}

/// The live members among `user_ids`, in OpenIM's member order.
pub async fn members_by_ids(
    db: &Database,
    group_id: &str,
    user_ids: &[String],
) -> Result<Vec<Member>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = user_ids
        .iter()
        .map(|u| crate::entities::pair_id(u, group_id))
        .collect();
    find(
        &coll(db, GROUP_MEMBERS),
        doc! { "_id": { "$in": ids } },
        member_sort(),
        None,
    )
    .await
}

/// A page of a group's members in member order, with the total. A non-empty `keyword`
/// matches the *group nickname* as stored (OpenIM's `SearchMember`: members without a group
/// nickname are not found by their profile name); it is matched as text, not as a pattern.
pub async fn members_page(
    db: &Database,
    group_id: &str,
    keyword: &str,
    page: Page,
) -> Result<(u64, Vec<Member>), StoreError> {
    let mut filter = doc! { "group_id": group_id };
    if !keyword.is_empty() {
        filter.insert("nickname", doc! { "$regex": regex_escape(keyword) });
    }
    find_page(&coll(db, GROUP_MEMBERS), filter, member_sort(), page).await
}

/// The groups `user_id` is a live member of, among `group_ids` (all when empty).
pub async fn memberships(
    db: &Database,
    user_id: &str,
    group_ids: &[String],
) -> Result<Vec<Member>, StoreError> {
    let mut filter = doc! { "user_id": user_id };
    if !group_ids.is_empty() {
        filter.insert("group_id", doc! { "$in": group_ids });
    }
    find(
        &coll(db, GROUP_MEMBERS),
        filter,
        doc! { "group_id": 1 },
        None,
    )
    .await
}

/// The ids of the groups `user_id` has joined, in OpenIM's joined-group order (group name,
/// then creation time); dismissed groups are left out, as OpenIM's `FindJoinSortGroupID`
/// leaves them out.
pub async fn joined_group_ids(db: &Database, user_id: &str) -> Result<Vec<String>, StoreError> {
    let ids = strings(
        &coll(db, GROUP_MEMBERS),
        doc! { "user_id": user_id },
        "group_id",
        doc! { "group_id": 1 },
    )
    .await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    strings(
        &coll(db, GROUPS),
        doc! { "_id": { "$in": ids }, "status": { "$ne": DISMISSED } },
        "group_id",
        doc! { "group_name": 1, "create_time": 1, "_id": 1 },
    )
    .await
}

/// The ids of the groups `user_id` owns or administers (OpenIM's `FindUserManagedGroupID`).
pub async fn managed_group_ids(db: &Database, user_id: &str) -> Result<Vec<String>, StoreError> {
    strings(
        &coll(db, GROUP_MEMBERS),
        doc! { "user_id": user_id, "role_level": { "$in": [OWNER, ADMIN] } },
        "group_id",
        doc! { "group_id": 1 },
    )
    .await
}

/// A page of the requests to join any of `group_ids`, newest first, optionally only those
/// whose `handle_result` is in `handle_results` (OpenIM's `PageGroup`).
pub async fn requests_to_groups(
    db: &Database,
    group_ids: &[String],
    handle_results: &[i32],
    page: Page,
) -> Result<(u64, Vec<GroupRequest>), StoreError> {
    if group_ids.is_empty() {
        return Ok((0, Vec::new()));
    }
    let mut filter = doc! { "group_id": { "$in": group_ids } };
    if !handle_results.is_empty() {
        filter.insert("handle_result", doc! { "$in": handle_results });
    }
    find_page(&coll(db, GROUP_REQUESTS), filter, request_sort(), page).await
}

/// A page of `user_id`'s own requests, newest first, optionally only to `group_ids` and with
/// a `handle_result` in `handle_results` (OpenIM's `Page`).
pub async fn requests_of_user(
    db: &Database,
    user_id: &str,
    group_ids: &[String],
    handle_results: &[i32],
    page: Page,
) -> Result<(u64, Vec<GroupRequest>), StoreError> {
    // The row id is `<user>:<group>` and user ids never contain ':', so the user's rows are
    // exactly the ids in [`<user>:`, `<user>;`) — a range on the `_id` index.
    let mut filter = doc! {
        "_id": { "$gte": format!("{user_id}:"), "$lt": format!("{user_id};") },
        "user_id": user_id,
    };
    if !group_ids.is_empty() {
        filter.insert("group_id", doc! { "$in": group_ids });
    }
    if !handle_results.is_empty() {
        filter.insert("handle_result", doc! { "$in": handle_results });
    }
    find_page(&coll(db, GROUP_REQUESTS), filter, request_sort(), page).await
}

/// The requests of `user_ids` to join `group_id` (OpenIM's `FindGroupRequests`).
pub async fn requests_of_users(
    db: &Database,
    group_id: &str,
    user_ids: &[String],
) -> Result<Vec<GroupRequest>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = user_ids
        .iter()
        .map(|u| crate::entities::pair_id(u, group_id))
        .collect();
    find(
        &coll(db, GROUP_REQUESTS),
        doc! { "_id": { "$in": ids } },
        request_sort(),
        None,
    )
    .await
}

/// How many requests to `group_ids` are pending, only those made after `since_ms` when it is
/// not 0 (OpenIM's `GetUnhandledCount`).
pub async fn unhandled_count(
    db: &Database,
    group_ids: &[String],
    since_ms: i64,
) -> Result<u64, StoreError> {
    if group_ids.is_empty() {
        return Ok(0);
    }
    let mut filter = doc! { "group_id": { "$in": group_ids }, "handle_result": 0 };
    if since_ms != 0 {
        filter.insert("req_time", doc! { "$gt": since_ms });
    }
    Ok(coll(db, GROUP_REQUESTS)
        .count_documents(with_live(filter))
        .await?)
}

/// A page of groups whose name contains `name` (all when empty), newest first, dismissed
/// groups left out (OpenIM's `Search`, used by `/group/get_groups`).
pub async fn search_groups(
    db: &Database,
    name: &str,
    page: Page,
) -> Result<(u64, Vec<Group>), StoreError> {
    let mut filter = doc! { "status": { "$ne": DISMISSED } };
    if !name.is_empty() {
        filter.insert("group_name", doc! { "$regex": regex_escape(name) });
    }
    find_page(
        &coll(db, GROUPS),
        filter,
        doc! { "create_time": -1, "_id": 1 },
        page,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_slices_like_openim() {
        let v: Vec<i32> = (1..=5).collect();
        assert_eq!(Page { skip: 1, limit: 2 }.slice(v.clone()), vec![2, 3]);
        assert_eq!(Page { skip: 4, limit: 9 }.slice(v.clone()), vec![5]);
        assert_eq!(
            Page { skip: 9, limit: 2 }.slice(v.clone()),
            Vec::<i32>::new()
        );
        assert_eq!(
            Page { skip: 0, limit: 0 }.slice(v.clone()),
            Vec::<i32>::new()
        );
        assert_eq!(Page { skip: 0, limit: -1 }.slice(v), Vec::<i32>::new());
    }

    #[test]
    fn keywords_are_text() {
        assert_eq!(regex_escape("a.b*"), "a\\.b\\*");
        assert_eq!(regex_escape("张三"), "张三");
    }
}
