//! The `users` collection: one document per user, `_id` = userID, the fields of OpenIM's
//! `sdkws.UserInfo` in snake case. Registration inserts; profile edits `$set` only the given
//! fields; nothing here deletes a user (OpenIM has no user deletion either).

use crate::StoreError;
use bson::{Document, doc};
use futures_util::TryStreamExt;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

pub const COLLECTION: &str = "users";

/// A stored user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserDoc {
    #[serde(rename = "_id")]
    pub user_id: String,
    pub nickname: String,
    pub face_url: String,
    pub ex: String,
    /// Registration time, Unix ms.
    pub create_time: i64,
    /// OpenIM's `appMangerLevel` (sic): 0/1 ordinary, 2 app admin, 3 notification, 4 robot.
    pub app_manger_level: i32,
    pub global_recv_msg_opt: i32,
}

/// A partial profile update: `None` leaves the field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub nickname: Option<String>,
    pub face_url: Option<String>,
    pub ex: Option<String>,
    pub global_recv_msg_opt: Option<i32>,
}

impl UserPatch {
    pub fn is_empty(&self) -> bool {
        self.nickname.is_none()
            && self.face_url.is_none()
            && self.ex.is_none()
            && self.global_recv_msg_opt.is_none()
    }

    fn to_set(&self) -> Document {
        let mut set = Document::new();
        if let Some(v) = &self.nickname {
            set.insert("nickname", v.clone());
        }
        if let Some(v) = &self.face_url {
            set.insert("face_url", v.clone());
        }
        if let Some(v) = &self.ex {
            set.insert("ex", v.clone());
        }
        if let Some(v) = self.global_recv_msg_opt {
            set.insert("global_recv_msg_opt", v);
        }
        set
    }
}

/// Which users a page lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Only these `app_manger_level`s (empty = any).
    pub levels: Vec<i32>,
    /// Case-insensitive substring of the user id.
    pub user_id_like: Option<String>,
    /// Case-insensitive substring of the nickname.
    pub nickname_like: Option<String>,
}

impl UserFilter {
    fn to_query(&self) -> Document {
        let mut and = Vec::new();
        if !self.levels.is_empty() {
            and.push(doc! { "app_manger_level": { "$in": self.levels.clone() } });
        }
        let mut or = Vec::new();
        if let Some(s) = &self.user_id_like {
            or.push(doc! { "_id": { "$regex": regex_escape(s), "$options": "i" } });
        }
        if let Some(s) = &self.nickname_like {
            or.push(doc! { "nickname": { "$regex": regex_escape(s), "$options": "i" } });
        }
        if !or.is_empty() {
            and.push(doc! { "$or": or });
        }
        if and.is_empty() {
            Document::new()
        } else {
            doc! { "$and": and }
        }
    }
}

/// User input is matched literally, never as a pattern (OpenIM passes it through raw).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn collection(db: &Database) -> Collection<UserDoc> {
    db.collection(COLLECTION)
}

pub async fn ensure_indexes(db: &Database) -> Result<(), StoreError> {
    // Pages are ordered by registration time (then id, for a total order).
    let by_time = IndexModel::builder()
        .keys(doc! { "create_time": 1, "_id": 1 })
        .build();
    collection(db).create_index(by_time).await?;
    Ok(())
}

/// Inserts new users; any id already taken fails the call with [`StoreError::DuplicateKey`]
/// (the others may have been inserted: ordered insert stops at the first duplicate).
pub async fn insert_many(db: &Database, users: &[UserDoc]) -> Result<(), StoreError> {
    if users.is_empty() {
        return Ok(());
    }
    match collection(db).insert_many(users).await {
        Ok(_) => Ok(()),
        Err(e) if crate::error::is_duplicate_key(&e) => Err(StoreError::DuplicateKey),
        Err(e) => Err(e.into()),
    }
}

/// Creates a user unless it exists (used for the configured admins). Returns true if created.
pub async fn insert_if_absent(db: &Database, user: &UserDoc) -> Result<bool, StoreError> {
    let set_on_insert = bson::to_document(user).map_err(|e| StoreError::Bson(e.to_string()))?;
    let res = collection(db)
        .update_one(
            doc! { "_id": &user.user_id },
            doc! { "$setOnInsert": set_on_insert },
        )
        .upsert(true)
        .await;
    match res {
        Ok(r) => Ok(r.upserted_id.is_some()),
        // Two processes creating the same admin at once: the other one won.
        Err(e) if crate::error::is_duplicate_key(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The users among `ids` that exist, in no particular order.
pub async fn find(db: &Database, ids: &[String]) -> Result<Vec<UserDoc>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let cursor = collection(db).find(doc! { "_id": { "$in": ids } }).await?;
    Ok(cursor.try_collect().await?)
}

pub async fn get(db: &Database, id: &str) -> Result<Option<UserDoc>, StoreError> {
    Ok(collection(db).find_one(doc! { "_id": id }).await?)
}

/// The ids among `ids` that are registered.
pub async fn existing_ids(db: &Database, ids: &[String]) -> Result<Vec<String>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let cursor = db
        .collection::<Document>(COLLECTION)
        .find(doc! { "_id": { "$in": ids } })
        .projection(doc! { "_id": 1 })
        .await?;
    let docs: Vec<Document> = cursor.try_collect().await?;
    Ok(docs
        .iter()
        .filter_map(|d| d.get_str("_id").ok().map(str::to_string))
        .collect())
}

/// Applies `patch`; returns false when the user does not exist.
pub async fn update(db: &Database, id: &str, patch: &UserPatch) -> Result<bool, StoreError> {
    if patch.is_empty() {
        return Ok(get(db, id).await?.is_some());
    }
    let res = collection(db)
        .update_one(doc! { "_id": id }, doc! { "$set": patch.to_set() })
        .await?;
    Ok(res.matched_count > 0)
}

/// One page of users matching `filter`, oldest first, with the total count.
pub async fn page(
    db: &Database,
    filter: &UserFilter,
    skip: u64,
    limit: i64,
) -> Result<(u64, Vec<UserDoc>), StoreError> {
    let query = filter.to_query();
    let coll = collection(db);
    let total = coll.count_documents(query.clone()).await?;
    if limit <= 0 || skip >= total {
        return Ok((total, Vec::new()));
    }
    let cursor = coll
        .find(query)
        .sort(doc! { "create_time": 1, "_id": 1 })
        .skip(skip)
        .limit(limit)
        .await?;
    Ok((total, cursor.try_collect().await?))
}

/// One page of user ids (every level), oldest first, with the total count.
pub async fn page_ids(
    db: &Database,
    skip: u64,
    limit: i64,
) -> Result<(u64, Vec<String>), StoreError> {
    let coll = db.collection::<Document>(COLLECTION);
    let total = coll.count_documents(Document::new()).await?;
    if limit <= 0 || skip >= total {
        return Ok((total, Vec::new()));
    }
    let cursor = coll
        .find(Document::new())
        .projection(doc! { "_id": 1 })
        .sort(doc! { "create_time": 1, "_id": 1 })
        .skip(skip)
        .limit(limit)
        .await?;
    let docs: Vec<Document> = cursor.try_collect().await?;
    Ok((
        total,
        docs.iter()
            .filter_map(|d| d.get_str("_id").ok().map(str::to_string))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_escape_user_input() {
        let f = UserFilter {
            levels: vec![0, 1],
            user_id_like: Some("a.b".into()),
            nickname_like: None,
        };
        let q = f.to_query();
        let text = q.to_string();
        assert!(text.contains("a\\\\.b") || text.contains("a\\.b"), "{text}");
        assert!(UserFilter::default().to_query().is_empty());
    }

    #[test]
    fn patches_set_only_given_fields() {
        let p = UserPatch {
            nickname: Some("n".into()),
            ..Default::default()
        };
        assert_eq!(p.to_set(), doc! { "nickname": "n" });
        assert!(UserPatch::default().is_empty());
    }
}
