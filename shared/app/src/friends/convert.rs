//! Stored relation rows → OpenIM's wire records, with OpenIM's quirks kept:
//! - lists of friends and blacks (`FriendsDB2Pb`, `BlackDB2Pb`) give `createTime` in
//!   **seconds** and fill only `userID, nickname, faceURL, ex` of the embedded user;
//! - `get_specified_*` give `createTime` in milliseconds and no embedded friend user;
//! - friend requests give milliseconds and both ends' nicknames and face URLs.

use crate::users::user_info;
use rill_core::entity::{Black, Friend, FriendRequest};
use rill_store::users::UserDoc;
use rill_wire::pb::sdkws;
use std::collections::HashMap;

/// Users by id, as the conversions look them up.
pub(super) type Users = HashMap<String, UserDoc>;

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// The embedded user of a listed friend: OpenIM copies only these four fields. A user that no
/// longer exists keeps its id (OpenIM would fail the whole call).
fn listed_user(users: &Users, user_id: &str) -> sdkws::UserInfo {
    match users.get(user_id) {
        Some(u) => sdkws::UserInfo {
            user_id: u.user_id.clone(),
            nickname: u.nickname.clone(),
            face_url: u.face_url.clone(),
            ex: u.ex.clone(),
            ..Default::default()
        },
        None => sdkws::UserInfo {
            user_id: user_id.to_string(),
            ..Default::default()
        },
    }
}

/// A friend as the lists and incremental sync show it.
pub(super) fn friend_info(f: &Friend, users: &Users) -> sdkws::FriendInfo {
    sdkws::FriendInfo {
        owner_user_id: f.owner_user_id.clone(),
        remark: f.remark.clone(),
        create_time: secs(f.create_time),
        friend_user: Some(listed_user(users, &f.friend_user_id)),
        add_source: f.add_source,
        operator_user_id: f.operator_user_id.clone(),
        ex: f.ex.clone(),
        is_pinned: f.is_pinned,
    }
}

/// A friend as get_specified_friends_info shows it (no embedded user, milliseconds).
pub(super) fn friend_only(f: &Friend) -> sdkws::FriendInfo {
    sdkws::FriendInfo {
        owner_user_id: f.owner_user_id.clone(),
        remark: f.remark.clone(),
        create_time: f.create_time,
        friend_user: None,
        add_source: f.add_source,
        operator_user_id: f.operator_user_id.clone(),
        ex: f.ex.clone(),
        is_pinned: f.is_pinned,
    }
}

fn public_user(users: &Users, user_id: &str) -> Option<sdkws::PublicUserInfo> {
    users.get(user_id).map(|u| sdkws::PublicUserInfo {
        user_id: u.user_id.clone(),
        nickname: u.nickname.clone(),
        face_url: u.face_url.clone(),
        ex: u.ex.clone(),
    })
}

/// A black as the list and incremental sync show it (seconds; a vanished user keeps its id).
pub(super) fn black_info(b: &Black, users: &Users) -> sdkws::BlackInfo {
    let user = public_user(users, &b.block_user_id).unwrap_or_else(|| sdkws::PublicUserInfo {
        user_id: b.block_user_id.clone(),
        ..Default::default()
    });
    sdkws::BlackInfo {
        owner_user_id: b.owner_user_id.clone(),
        create_time: secs(b.create_time),
        black_user_info: Some(user),
        add_source: b.add_source,
        operator_user_id: b.operator_user_id.clone(),
        ex: b.ex.clone(),
    }
}

/// A black as get_specified_blacks shows it (milliseconds; no user when it does not exist).
pub(super) fn black_specified(b: &Black, users: &Users) -> sdkws::BlackInfo {
    sdkws::BlackInfo {
        owner_user_id: b.owner_user_id.clone(),
        create_time: b.create_time,
        black_user_info: public_user(users, &b.block_user_id),
        add_source: b.add_source,
        operator_user_id: b.operator_user_id.clone(),
        ex: b.ex.clone(),
    }
}

/// A black as get_specified_friends_info shows it (no user, milliseconds).
pub(super) fn black_only(b: &Black) -> sdkws::BlackInfo {
    sdkws::BlackInfo {
        owner_user_id: b.owner_user_id.clone(),
        create_time: b.create_time,
        black_user_info: None,
        add_source: b.add_source,
        operator_user_id: b.operator_user_id.clone(),
        ex: b.ex.clone(),
    }
}

/// A friend application with both ends' names and faces.
pub(super) fn friend_request(r: &FriendRequest, users: &Users) -> sdkws::FriendRequest {
    let name = |id: &str| {
        users
            .get(id)
            .map(|u| u.nickname.clone())
            .unwrap_or_default()
    };
    let face = |id: &str| {
        users
            .get(id)
            .map(|u| u.face_url.clone())
            .unwrap_or_default()
    };
    sdkws::FriendRequest {
        from_user_id: r.from_user_id.clone(),
        from_nickname: name(&r.from_user_id),
        from_face_url: face(&r.from_user_id),
        to_user_id: r.to_user_id.clone(),
        to_nickname: name(&r.to_user_id),
        to_face_url: face(&r.to_user_id),
        handle_result: r.handle_result,
        req_msg: r.req_msg.clone(),
        create_time: r.create_time,
        handler_user_id: r.handler_user_id.clone(),
        handle_msg: r.handle_msg.clone(),
        handle_time: r.handle_time,
        ex: r.ex.clone(),
    }
}

/// The full wire profile of a user (get_specified_friends_info).
pub(super) fn full_user(u: &UserDoc) -> sdkws::UserInfo {
    user_info(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_friends_use_seconds_and_partial_users() {
        let mut users = Users::new();
        users.insert(
            "u2".into(),
            UserDoc {
                user_id: "u2".into(),
                nickname: "Two".into(),
                face_url: "f".into(),
                ex: "x".into(),
                create_time: 5,
                app_manger_level: 2,
                global_recv_msg_opt: 1,
            },
        );
        let f = Friend {
            owner_user_id: "u1".into(),
            friend_user_id: "u2".into(),
            create_time: 1_700_000_000_999,
            ..Default::default()
        };
        let w = friend_info(&f, &users);
        assert_eq!(w.create_time, 1_700_000_000);
        let u = w.friend_user.unwrap_or_default();
        assert_eq!(
            (u.nickname.as_str(), u.create_time, u.app_manger_level),
            ("Two", 0, 0)
        );
        assert_eq!(friend_only(&f).create_time, 1_700_000_000_999);
        let gone = Friend {
            friend_user_id: "u9".into(),
            ..f
        };
        assert_eq!(
            friend_info(&gone, &users).friend_user.map(|u| u.user_id),
            Some("u9".to_string())
        );
    }
}
