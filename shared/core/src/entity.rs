//! Relations and groups as the log carries them and MongoDB stores them.
//!
//! An entity change (DESIGN.md §4, Entities) is appended to the log first, then applied to
//! MongoDB in the request and re-applied by the readmodel worker. Each change carries the
//! *resulting* row (never a delta), and every row remembers the [`Rev`] of the event that wrote
//! it, so applying a change is idempotent and an older change never overwrites a newer one.
//! A removed row is kept as a tombstone (`deleted: true`) for the same reason.
//!
//! Field names are OpenIM's Mongo names (snake_case); the same names are the MessagePack keys.

use serde::{Deserialize, Serialize};

/// The order of entity events: the partition-log entry id of the event (`<ms>-<n>`), written
/// zero-padded so MongoDB compares revs as strings in log order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rev(pub String);

impl Rev {
    /// The rev of partition-log entry `id` (`<ms>-<n>`); `None` for anything else.
    pub fn from_entry_id(id: &str) -> Option<Self> {
        let (ms, n) = id.split_once('-')?;
        let ms: u64 = ms.parse().ok()?;
        let n: u64 = n.parse().ok()?;
        Some(Self(format!("{ms:020}-{n:020}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How an element of a version log changed (OpenIM's VersionState).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Insert,
    Update,
    Delete,
}

/// `owner`'s friend row for `friend_user_id` (OpenIM's `friend` collection).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Friend {
    pub owner_user_id: String,
    pub friend_user_id: String,
    pub remark: String,
    pub create_time: i64,
    /// 1 import, 2 apply (OpenIM's addSource).
    pub add_source: i32,
    pub operator_user_id: String,
    pub ex: String,
    pub is_pinned: bool,
}

/// `owner` has blocked `block_user_id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Black {
    pub owner_user_id: String,
    pub block_user_id: String,
    pub create_time: i64,
    pub add_source: i32,
    pub operator_user_id: String,
    pub ex: String,
}

/// A friend application from `from_user_id` to `to_user_id` (one per ordered pair).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FriendRequest {
    pub from_user_id: String,
    pub to_user_id: String,
    /// 0 pending, 1 agreed, -1 refused.
    pub handle_result: i32,
    pub req_msg: String,
    pub create_time: i64,
    pub handler_user_id: String,
    pub handle_msg: String,
    pub handle_time: i64,
    pub ex: String,
}

/// A group's own fields (OpenIM's `group` collection). The owner is the member with role 100
/// and the member count is counted, as in OpenIM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Group {
    pub group_id: String,
    pub group_name: String,
    pub notification: String,
    pub introduction: String,
    pub face_url: String,
    pub create_time: i64,
    pub ex: String,
    /// 0 ok, 1 banned, 2 dismissed, 3 muted.
    pub status: i32,
    pub creator_user_id: String,
    pub group_type: i32,
    pub need_verification: i32,
    pub look_member_info: i32,
    pub apply_member_friend: i32,
    pub notification_update_time: i64,
    pub notification_user_id: String,
}

/// A member of a group (OpenIM's `group_member` collection).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Member {
    pub group_id: String,
    pub user_id: String,
    /// 100 owner, 60 admin, 20 member.
    pub role_level: i32,
    pub join_time: i64,
    pub nickname: String,
    pub face_url: String,
    /// 1 admin, 2 invitation, 3 search, 4 QR code.
    pub join_source: i32,
    pub inviter_user_id: String,
    pub operator_user_id: String,
    /// Muted until this time (ms); 0 or past: not muted.
    pub mute_end_time: i64,
    pub ex: String,
}

/// A request of `user_id` to join `group_id` (one per pair).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupRequest {
    pub user_id: String,
    pub group_id: String,
    /// 0 pending, 1 accepted, -1 refused.
    pub handle_result: i32,
    pub req_msg: String,
    pub handled_msg: String,
    pub req_time: i64,
    pub handle_user_id: String,
    pub handled_time: i64,
    pub join_source: i32,
    pub inviter_user_id: String,
    pub ex: String,
}

/// One row written by an entity event. `row: None` removes the row (a tombstone is kept).
/// `kind` is what the owners' version logs record for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Change {
    Friend {
        owner: String,
        friend: String,
        kind: Kind,
        row: Option<Friend>,
    },
    Black {
        owner: String,
        black: String,
        kind: Kind,
        row: Option<Black>,
    },
    FriendRequest(FriendRequest),
    /// The group's fields changed (`kind` Insert at creation, Update after; dismissal is an
    /// Update to status 2 plus member removals).
    Group {
        kind: Kind,
        row: Group,
    },
    Member {
        group_id: String,
        user_id: String,
        kind: Kind,
        row: Option<Member>,
    },
    GroupRequest(GroupRequest),
}

/// The event of one relation or group command: every row it writes, applied in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntityEvent {
    /// The user whose request this was (audit; empty for the server).
    #[serde(default)]
    pub operator_user_id: String,
    pub changes: Vec<Change>,
}

#[cfg(test)]
mod tests {
    use super::Rev;

    #[test]
    fn revs_sort_in_log_order() {
        let a = Rev::from_entry_id("999-5").unwrap();
        let b = Rev::from_entry_id("1000-0").unwrap();
        let c = Rev::from_entry_id("1000-10").unwrap();
        assert!(a < b && b < c);
        assert!(a.as_str() < b.as_str() && b.as_str() < c.as_str());
        assert_eq!(Rev::from_entry_id("0-x"), None);
        assert_eq!(Rev::from_entry_id("17"), None);
    }
}
