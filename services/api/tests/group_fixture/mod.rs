//! Groups for the group-query tests, built by committing hand-made entity events through
//! `App::commit` (the path every group command takes), so the rows and version logs are the
//! real ones.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::common::Harness;
use rill_app::Caller;
use rill_core::entity::{Change, EntityEvent, Group, GroupRequest, Kind, Member};
use serde_json::Value;

pub const ROLE_OWNER: i32 = 100;
pub const ROLE_ADMIN: i32 = 60;
pub const ROLE_MEMBER: i32 = 20;

pub fn group_row(group_id: &str, name: &str, create_time: i64) -> Group {
    Group {
        group_id: group_id.into(),
        group_name: name.into(),
        create_time,
        group_type: 2,
        creator_user_id: "creator".into(),
        ..Default::default()
    }
}

pub fn member_row(group_id: &str, user_id: &str, role_level: i32, join_time: i64) -> Member {
    Member {
        group_id: group_id.into(),
        user_id: user_id.into(),
        role_level,
        join_time,
        join_source: 2,
        operator_user_id: "creator".into(),
        ..Default::default()
    }
}

pub async fn commit(h: &Harness, group_id: &str, changes: Vec<Change>) {
    h.app
        .commit(
            &rill_core::conversation::group(group_id),
            EntityEvent {
                operator_user_id: "creator".into(),
                changes,
            },
        )
        .await
        .expect("commit");
}

/// Creates a group whose members are `members` (user, role), joined in that order.
pub async fn create(
    h: &Harness,
    group_id: &str,
    name: &str,
    create_time: i64,
    members: &[(&str, i32)],
) {
    let mut changes = vec![Change::Group {
        kind: Kind::Insert,
        row: group_row(group_id, name, create_time),
    }];
    for (i, (user, role)) in members.iter().enumerate() {
        changes.push(Change::Member {
            group_id: group_id.into(),
            user_id: (*user).into(),
            kind: Kind::Insert,
            row: Some(member_row(group_id, user, *role, create_time + i as i64)),
        });
    }
    commit(h, group_id, changes).await;
}

/// Writes the group's fields (an update of the group itself).
pub async fn set_group(h: &Harness, row: Group) {
    let id = row.group_id.clone();
    commit(
        h,
        &id,
        vec![Change::Group {
            kind: Kind::Update,
            row,
        }],
    )
    .await;
}

pub async fn join(h: &Harness, row: Member) {
    let (g, u) = (row.group_id.clone(), row.user_id.clone());
    commit(
        h,
        &g.clone(),
        vec![Change::Member {
            group_id: g,
            user_id: u,
            kind: Kind::Insert,
            row: Some(row),
        }],
    )
    .await;
}

pub async fn update(h: &Harness, row: Member) {
    let (g, u) = (row.group_id.clone(), row.user_id.clone());
    commit(
        h,
        &g.clone(),
        vec![Change::Member {
            group_id: g,
            user_id: u,
            kind: Kind::Update,
            row: Some(row),
        }],
    )
    .await;
}

pub async fn leave(h: &Harness, group_id: &str, user_id: &str) {
    commit(
        h,
        group_id,
        vec![Change::Member {
            group_id: group_id.into(),
            user_id: user_id.into(),
            kind: Kind::Delete,
            row: None,
        }],
    )
    .await;
}

pub fn request_row(
    user_id: &str,
    group_id: &str,
    handle_result: i32,
    req_time: i64,
) -> GroupRequest {
    GroupRequest {
        user_id: user_id.into(),
        group_id: group_id.into(),
        handle_result,
        req_msg: format!("{user_id} wants in"),
        req_time,
        join_source: 3,
        ..Default::default()
    }
}

pub async fn request(h: &Harness, row: GroupRequest) {
    let g = row.group_id.clone();
    commit(h, &g, vec![Change::GroupRequest(row)]).await;
}

/// A signed-in ordinary user, for the `App` methods that have no route yet.
pub fn caller(user_id: &str) -> Caller {
    Caller {
        user_id: user_id.into(),
        platform_id: 2,
        is_admin: false,
    }
}

/// The string values of `field` in each object of the array `v`.
pub fn ids(v: &Value, field: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|e| e[field].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The strings of the array `v`.
pub fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|e| e.as_str().unwrap_or_default().to_string())
        .collect()
}

/// `xs` sorted, for comparing sets.
pub fn sorted(mut xs: Vec<String>) -> Vec<String> {
    xs.sort();
    xs
}
