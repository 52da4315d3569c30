//! Upserting many conversation rows (and heads, see [`super::heads`]) in one round trip.
//!
//! The read model touches two rows per single-chat message; one findAndModify per row made the
//! Mongo round trips (and the driver's per-operation work) the projection's cost. Here the rows
//! of a batch go out as one unordered multi-statement `update` command per
//! [`BULK_STATEMENTS`], and one `find` then names the rows whose creation is not yet in the
//! owner's version log — the rows this call created, and any a crashed earlier attempt created
//! without logging — which is what the per-row path learned from findAndModify's reply.

use super::{COLLECTION, collection, key, with_insert_defaults};
use crate::StoreError;
use crate::error::DUPLICATE_KEY;
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use mongodb::Database;
use std::collections::HashSet;

/// Statements per `update` command: far below the server's 100,000 and, with at most one
/// message of a few KiB per statement (a head's), below the 16 MiB command limit.
pub const BULK_STATEMENTS: usize = 500;

/// Upserts each `(owner, conversation, update)` (the pairs distinct) with the insert defaults
/// the update does not set, and returns the rows whose creation still has to be recorded in
/// the version log (not `version_logged`, not a notification row).
pub async fn upsert_rows(
    db: &Database,
    rows: Vec<(&str, &str, Document)>,
) -> Result<Vec<(String, String)>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut pairs = Vec::with_capacity(rows.len());
    let mut statements = Vec::with_capacity(rows.len());
    for (owner, conv, update) in rows {
        statements.push((key(owner, conv), with_insert_defaults(owner, conv, update)));
        pairs.push((owner, conv));
    }
    upsert_all(db, COLLECTION, &statements).await?;
    unlogged(db, &pairs).await
}

/// Runs each `(filter, update)` as an upsert on `collection`: one unordered multi-statement
/// `update` command per [`BULK_STATEMENTS`]. A statement that lost an upsert race (the document
/// was created between its match and its insert) goes again alone, as an update.
pub async fn upsert_all(
    db: &Database,
    collection: &str,
    statements: &[(Document, Document)],
) -> Result<(), StoreError> {
    for chunk in statements.chunks(BULK_STATEMENTS) {
        let updates: Vec<Document> = chunk
            .iter()
            .map(|(q, u)| doc! { "q": q.clone(), "u": u.clone(), "upsert": true })
            .collect();
        let reply = db
            .run_command(doc! { "update": collection, "updates": updates, "ordered": false })
            .await?;
        for index in raced_statements(&reply)? {
            if let Some((q, u)) = chunk.get(index) {
                upsert_one(db, collection, q, u).await?;
            }
        }
    }
    Ok(())
}

async fn upsert_one(
    db: &Database,
    collection: &str,
    filter: &Document,
    update: &Document,
) -> Result<(), StoreError> {
    let coll = db.collection::<Document>(collection);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match coll
            .update_one(filter.clone(), update.clone())
            .upsert(true)
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if crate::error::is_duplicate_key(&e) && attempt < 3 => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The statements of an `update` reply that failed only because a concurrent upsert created
/// the row first; any other write error (or a write-concern error) is returned as an error.
fn raced_statements(reply: &Document) -> Result<Vec<usize>, StoreError> {
    if let Ok(wce) = reply.get_document("writeConcernError") {
        return Err(write_error(wce));
    }
    let mut raced = Vec::new();
    if let Ok(errors) = reply.get_array("writeErrors") {
        for e in errors.iter().filter_map(Bson::as_document) {
            if code_of(e) != DUPLICATE_KEY {
                return Err(write_error(e));
            }
            raced.extend(integer(e.get("index")).and_then(|i| usize::try_from(i).ok()));
        }
    }
    Ok(raced)
}

/// A number in a server reply, whichever BSON width the server chose.
fn integer(v: Option<&Bson>) -> Option<i64> {
    match v? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(n) => Some(*n as i64),
        _ => None,
    }
}

fn code_of(e: &Document) -> i32 {
    integer(e.get("code"))
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(-1)
}

fn write_error(e: &Document) -> StoreError {
    StoreError::Write {
        code: code_of(e),
        message: e.get_str("errmsg").unwrap_or_default().to_string(),
    }
}

/// Which of `rows` exist without their creation logged: one query on the conversation index
/// (normally answering nothing), narrowed to the exact pairs here.
async fn unlogged(
    db: &Database,
    rows: &[(&str, &str)],
) -> Result<Vec<(String, String)>, StoreError> {
    let wanted: HashSet<(&str, &str)> = rows.iter().copied().collect();
    let mut conversations: Vec<&str> = rows.iter().map(|(_, c)| *c).collect();
    conversations.sort_unstable();
    conversations.dedup();
    let docs: Vec<Document> = collection(db)
        .find(doc! {
            "conversation_id": { "$in": conversations },
            "version_logged": { "$ne": true },
            "notification": { "$ne": true },
        })
        .projection(doc! { "_id": 0, "owner_user_id": 1, "conversation_id": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(docs
        .iter()
        .filter_map(|d| {
            let owner = d.get_str("owner_user_id").ok()?;
            let conv = d.get_str("conversation_id").ok()?;
            wanted
                .contains(&(owner, conv))
                .then(|| (owner.to_string(), conv.to_string()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raced_upsert_is_retried_and_other_write_errors_fail() {
        let raced = doc! {
            "ok": 1, "n": 3,
            "writeErrors": [ { "index": 1, "code": 11000, "errmsg": "E11000 duplicate key" } ],
        };
        assert_eq!(raced_statements(&raced).ok(), Some(vec![1]));
        let bad = doc! {
            "ok": 1, "n": 1,
            "writeErrors": [
                { "index": 0, "code": 11000, "errmsg": "dup" },
                { "index": 2, "code": 52, "errmsg": "The dollar ($) prefixed field" },
            ],
        };
        match raced_statements(&bad) {
            Err(StoreError::Write { code, message }) => {
                assert_eq!(code, 52);
                assert!(message.contains("dollar"));
            }
            other => panic!("expected a write error, got {other:?}"),
        }
        let wce = doc! { "ok": 1, "writeConcernError": { "code": 64, "errmsg": "waiting" } };
        assert!(matches!(
            raced_statements(&wce),
            Err(StoreError::Write { code: 64, .. })
        ));
        assert_eq!(
            raced_statements(&doc! { "ok": 1, "n": 2 }).ok(),
            Some(vec![])
        );
    }
}
