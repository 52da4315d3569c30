//! Reading live entity rows (tombstones left out): the query shapes the friend and group
//! modules share.

use crate::StoreError;
use crate::entities::live;
use bson::{Document, doc};
use futures_util::TryStreamExt;
use mongodb::{Collection, Database};
use serde::de::DeserializeOwned;

pub fn coll(db: &Database, name: &str) -> Collection<Document> {
    db.collection::<Document>(name)
}

/// `filter` restricted to live rows.
pub fn with_live(mut filter: Document) -> Document {
    filter.extend(live());
    filter
}

/// Decodes documents, skipping any that do not decode (a row written by a newer version).
pub fn decode<T: DeserializeOwned>(docs: Vec<Document>) -> Vec<T> {
    docs.into_iter()
        .filter_map(|d| bson::from_document(d).ok())
        .collect()
}

/// One page of live rows matching `filter` in `sort` order, with the total count. A page past
/// the end, or `limit <= 0`, is empty (OpenIM's FindPage).
pub async fn page<T: DeserializeOwned>(
    coll: &Collection<Document>,
    filter: Document,
    sort: Document,
    skip: u64,
    limit: i64,
) -> Result<(u64, Vec<T>), StoreError> {
    let filter = with_live(filter);
    let total = coll.count_documents(filter.clone()).await?;
    if limit <= 0 || skip >= total {
        return Ok((total, Vec::new()));
    }
    let docs: Vec<Document> = coll
        .find(filter)
        .sort(sort)
        .skip(skip)
        .limit(limit)
        .await?
        .try_collect()
        .await?;
    Ok((total, decode(docs)))
}

/// One string field of every matching live row, in `sort` order.
pub async fn strings(
    coll: &Collection<Document>,
    filter: Document,
    field: &str,
    sort: Document,
) -> Result<Vec<String>, StoreError> {
    let docs: Vec<Document> = coll
        .find(with_live(filter))
        .projection(doc! { field: 1 })
        .sort(sort)
        .await?
        .try_collect()
        .await?;
    Ok(docs
        .iter()
        .filter_map(|d| d.get_str(field).ok().map(str::to_string))
        .collect())
}
