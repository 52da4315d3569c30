//! Helpers of the group command tests: making groups through the API and reading what the
//! commands wrote (member rows, stored notifications, conversation rows).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::common::Harness;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub const OWNER: i64 = 100;
pub const ROLE_ADMIN: i64 = 60;
pub const MEMBER: i64 = 20;

/// Creates group `group_id` through `/group/create_group` as `token` (the owner's).
pub async fn make_group(
    h: &Harness,
    token: &str,
    group_id: &str,
    owner: &str,
    admins: &[&str],
    members: &[&str],
    need_verification: i32,
) -> Value {
    h.post(
        "/group/create_group",
        Some(token),
        json!({
            "memberUserIDs": members,
            "adminUserIDs": admins,
            "ownerUserID": owner,
            "groupInfo": {
                "groupID": group_id, "groupName": format!("name-{group_id}"), "groupType": 2,
                "needVerification": need_verification
            }
        }),
    )
    .await
    .expect(0)
}

/// Live members of the group in Mongo: user id → role level.
pub async fn roles(h: &Harness, group_id: &str) -> BTreeMap<String, i64> {
    rill_store::entities::members(h.app.store().database(), group_id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user_id, i64::from(m.role_level)))
        .collect()
}

/// The group's row in Mongo, as JSON (its Mongo field names).
pub async fn group_row(h: &Harness, group_id: &str) -> Value {
    let row = rill_store::entities::group(h.app.store().database(), group_id)
        .await
        .unwrap()
        .expect("group row");
    serde_json::to_value(row).unwrap()
}

/// A member's row in Mongo, as JSON.
pub async fn member_row(h: &Harness, group_id: &str, user: &str) -> Option<Value> {
    rill_store::entities::members(h.app.store().database(), group_id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.user_id == user)
        .map(|m| serde_json::to_value(m).unwrap())
}

/// One notification stored in the group's chat conversation.
#[derive(Debug, Clone)]
pub struct Stored {
    pub seq: i64,
    pub content_type: i32,
    pub send_id: String,
    /// The Tips JSON from `{"detail": "<json>"}`.
    pub detail: Value,
}

/// Every message stored in `sg_<group_id>`, in seq order.
pub async fn stored(h: &Harness, group_id: &str) -> Vec<Stored> {
    let conv = format!("sg_{group_id}");
    let max = h.app.log().max_seq(&conv).await.unwrap();
    h.app
        .log()
        .range(&conv, 1, max)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| {
            let seq = e.seq;
            rill_app::pull::message_of(e.envelope.event).map(|m| {
                let content: Value = serde_json::from_slice(&m.content).unwrap();
                let detail = serde_json::from_str(content["detail"].as_str().unwrap()).unwrap();
                Stored {
                    seq,
                    content_type: m.content_type,
                    send_id: m.send_id,
                    detail,
                }
            })
        })
        .collect()
}

/// The content types stored in the group's chat, in order.
pub async fn stored_types(h: &Harness, group_id: &str) -> Vec<i32> {
    stored(h, group_id)
        .await
        .iter()
        .map(|s| s.content_type)
        .collect()
}

/// The last stored notification (panics when there is none).
pub async fn last(h: &Harness, group_id: &str) -> Stored {
    stored(h, group_id)
        .await
        .pop()
        .expect("a stored notification")
}

/// The user's row of the group conversation, if any: (min seq, max-seq cap).
pub async fn conversation(h: &Harness, user: &str, group_id: &str) -> Option<(i64, i64)> {
    rill_store::conversations::get(h.app.store().database(), user, &format!("sg_{group_id}"))
        .await
        .unwrap()
        .map(|r| (r.min_seq, r.max_seq))
}

/// The ids listed under `key` of each element of a JSON array.
pub fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap().to_string())
        .collect()
}
