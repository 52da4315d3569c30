//! Version-based sync of groups: a client holding (versionID, version) gets back exactly the
//! elements that changed, each once with its last change; anything it cannot follow is
//! `full`; the full id lists honour `idHash`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod group_fixture;

use common::*;
use group_fixture::*;
use rill_wire::pb::group as pb;
use serde_json::{Value, json};

/// A 24-hex ObjectId that no log has.
const FOREIGN_VERSION_ID: &str = "0123456789abcdef01234567";

/// `/group/get_incremental_group_members` as `user` (`imAdmin`: the app admin); `Err` holds
/// the error code.
async fn members_since(
    h: &Harness,
    user: &str,
    group: &str,
    version_id: &str,
    version: u64,
) -> Result<pb::GetIncrementalGroupMemberResp, i64> {
    let token = if user == ADMIN {
        h.admin_token.clone()
    } else {
        h.user_token(user, 2).await
    };
    let r = h
        .post(
            "/group/get_incremental_group_members",
            Some(&token),
            json!({"groupID": group, "versionID": version_id, "version": version}),
        )
        .await;
    match r.code() {
        0 => Ok(serde_json::from_value(r.expect(0)).expect("response shape")),
        code => {
            r.expect(code);
            Err(code)
        }
    }
}

fn user_ids(members: &[rill_wire::pb::sdkws::GroupMemberFullInfo]) -> Vec<String> {
    sorted(members.iter().map(|m| m.user_id.clone()).collect())
}

fn owned(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_sync_answers_exactly_the_changes_since_a_version() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    for u in ["u2", "u3", "u4", "u5", "u6", "u7", "u8"] {
        h.register(&[u]).await;
    }
    create(
        &h,
        "g1",
        "team",
        1_000,
        &[("u1", ROLE_OWNER), ("u2", ROLE_ADMIN), ("u3", ROLE_MEMBER)],
    )
    .await;

    // The client's starting point: the full id list and the head it belongs to.
    let full = h
        .post(
            "/group/get_full_group_member_user_ids",
            Some(&u1),
            json!({"groupID": "g1", "idHash": 0}),
        )
        .await;
    let data = full.expect(0);
    let (version_id, version, ids) = (
        data["versionID"].as_str().unwrap().to_string(),
        data["version"].as_u64().unwrap(),
        strs(&data["userIDs"]),
    );
    assert_eq!(ids, ["u1", "u2", "u3"]);
    assert_eq!(version_id.len(), 24);
    assert!(version >= 1);

    // Nothing changed: nothing comes back, not even the group.
    let same = members_since(&h, "u1", "g1", &version_id, version)
        .await
        .unwrap();
    assert!(!same.full);
    assert_eq!(
        (same.version_id.as_str(), same.version),
        (version_id.as_str(), version)
    );
    assert!(same.insert.is_empty() && same.update.is_empty() && same.delete.is_empty());
    assert_eq!(same.group, None);

    // Ten membership changes, one event each.
    join(&h, member_row("g1", "u5", ROLE_MEMBER, 2_000)).await; // 1 insert
    join(&h, member_row("g1", "u6", ROLE_MEMBER, 2_001)).await; // 2 insert
    join(&h, member_row("g1", "u7", ROLE_MEMBER, 2_002)).await; // 3 insert
    update(&h, member_row("g1", "u3", ROLE_ADMIN, 1_002)).await; // 4 role
    let mut u5 = member_row("g1", "u5", ROLE_MEMBER, 2_000);
    u5.nickname = "Five".into();
    update(&h, u5).await; // 5 nickname (u5's last change: update)
    leave(&h, "g1", "u6").await; // 6 leave (u6's last change: delete)
    join(&h, member_row("g1", "u8", ROLE_MEMBER, 2_003)).await; // 7 insert
    leave(&h, "g1", "u8").await; // 8 leave again
    let mut u2 = member_row("g1", "u2", ROLE_ADMIN, 1_001);
    u2.ex = "x".into();
    update(&h, u2).await; // 9 ex
    join(&h, member_row("g1", "u4", ROLE_MEMBER, 2_004)).await; // 10 insert

    let r = members_since(&h, "u1", "g1", &version_id, version)
        .await
        .unwrap();
    assert!(!r.full);
    assert_eq!(r.version_id, version_id);
    assert_eq!(r.version, version + 10);
    assert_eq!(user_ids(&r.insert), owned(&["u4", "u7"]));
    assert_eq!(user_ids(&r.update), owned(&["u2", "u3", "u5"]));
    assert_eq!(sorted(r.delete.clone()), owned(&["u6", "u8"]));
    // u3's role change moved the member order: sortVersion is set (to the answer's version).
    assert_eq!(r.sort_version, r.version);
    // The rows are the current ones, profile-populated.
    let u3 = r.update.iter().find(|m| m.user_id == "u3").unwrap();
    assert_eq!((u3.role_level, u3.nickname.as_str()), (60, "u3"));
    let u5 = r.update.iter().find(|m| m.user_id == "u5").unwrap();
    assert_eq!(u5.nickname, "Five");
    // Members changed, so the group comes along with its new count.
    let g = r.group.clone().expect("group info");
    assert_eq!(
        (
            g.group_id.as_str(),
            g.owner_user_id.as_str(),
            g.member_count
        ),
        ("g1", "u1", 6)
    );

    // From a version in between, only what changed after it.
    let mid = members_since(&h, "u1", "g1", &version_id, version + 8)
        .await
        .unwrap();
    assert_eq!(user_ids(&mid.insert), owned(&["u4"]));
    assert_eq!(user_ids(&mid.update), owned(&["u2"]));
    assert!(mid.delete.is_empty());

    // Caught up: nothing.
    let head = members_since(&h, "u1", "g1", &version_id, r.version)
        .await
        .unwrap();
    assert!(!head.full && head.insert.is_empty() && head.update.is_empty());
    assert!(head.delete.is_empty() && head.group.is_none());

    // Only the group's own fields changed: the group, and no members.
    let mut renamed = group_row("g1", "renamed", 1_000);
    renamed.notification = "hello".into();
    set_group(&h, renamed).await;
    let g = members_since(&h, "u1", "g1", &version_id, r.version)
        .await
        .unwrap();
    assert_eq!(g.version, r.version + 1);
    assert!(!g.full && g.insert.is_empty() && g.update.is_empty() && g.delete.is_empty());
    assert_eq!(g.group.unwrap().group_name, "renamed");

    // Versions the log cannot answer from: full, no lists, the head, and the group.
    for (vid, v) in [
        (FOREIGN_VERSION_ID, version),
        ("", 0),
        ("not-hex", version),
        (version_id.as_str(), 0),
        (version_id.as_str(), r.version + 50),
    ] {
        let f = members_since(&h, "u1", "g1", vid, v).await.unwrap();
        assert!(f.full, "{vid} {v}");
        assert_eq!(
            (f.version_id.as_str(), f.version),
            (version_id.as_str(), r.version + 1)
        );
        assert!(f.insert.is_empty() && f.update.is_empty() && f.delete.is_empty());
        assert_eq!(f.group.unwrap().member_count, 6);
    }

    // Members only: a left member is refused; app admins may read; unknown group is 1004.
    let e = members_since(&h, "u6", "g1", &version_id, version)
        .await
        .unwrap_err();
    assert_eq!(e, 1002);
    members_since(&h, ADMIN, "g1", &version_id, version)
        .await
        .unwrap();
    let e = members_since(&h, ADMIN, "nope", &version_id, version).await;
    assert_eq!(e.unwrap_err(), 1004);
    // A dismissed group: 1204.
    let mut gone = group_row("g1", "renamed", 1_000);
    gone.status = 2;
    set_group(&h, gone).await;
    let e = members_since(&h, "u1", "g1", &version_id, version)
        .await
        .unwrap_err();
    assert_eq!(e, 1204);
}

/// `/group/get_full_group_member_user_ids` of g1 as `user`; `Err` holds the error code.
async fn full_ids(
    h: &Harness,
    user: &str,
    hash: u64,
) -> Result<pb::GetFullGroupMemberUserIDsResp, i64> {
    let token = h.user_token(user, 2).await;
    let r = h
        .post(
            "/group/get_full_group_member_user_ids",
            Some(&token),
            json!({"groupID": "g1", "idHash": hash}),
        )
        .await;
    match r.code() {
        0 => Ok(serde_json::from_value(r.expect(0)).expect("response shape")),
        code => {
            r.expect(code);
            Err(code)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_member_ids_honour_the_id_hash() {
    let h = Harness::start().await;
    h.register(&["u1", "u2", "u3", "u4"]).await;
    create(
        &h,
        "g1",
        "team",
        1_000,
        &[("u2", ROLE_MEMBER), ("u1", ROLE_OWNER)],
    )
    .await;
    let r = full_ids(&h, "u2", 0).await.unwrap();
    assert!(!r.equal);
    // By role: the owner first.
    assert_eq!(r.user_i_ds, ["u1", "u2"]);
    let hash = rill_app::conversations::id_hash(&r.user_i_ds);
    let same = full_ids(&h, "u2", hash).await.unwrap();
    assert!(same.equal);
    assert!(same.user_i_ds.is_empty());
    assert_eq!(
        (same.version_id, same.version),
        (r.version_id.clone(), r.version)
    );
    join(&h, member_row("g1", "u3", ROLE_MEMBER, 5_000)).await;
    let moved = full_ids(&h, "u2", hash).await.unwrap();
    assert!(!moved.equal);
    assert_eq!(moved.user_i_ds, ["u1", "u2", "u3"]);
    assert_eq!(moved.version, r.version + 1);
    assert_eq!(full_ids(&h, "u4", 0).await.unwrap_err(), 1002);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joined_group_sync_answers_exactly_the_changes() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let u2 = h.user("u2").await;
    create(&h, "g1", "beta", 1_000, &[("u1", ROLE_OWNER)]).await;
    create(
        &h,
        "g2",
        "alpha",
        2_000,
        &[("u2", ROLE_OWNER), ("u1", ROLE_MEMBER)],
    )
    .await;
    create(&h, "g3", "gamma", 3_000, &[("u2", ROLE_OWNER)]).await;
    create(&h, "g4", "delta", 4_000, &[("u2", ROLE_OWNER)]).await;
    create(&h, "g5", "eps", 5_000, &[("u2", ROLE_OWNER)]).await;

    // Full ids (by group name) and the head they belong to.
    let full = |token: String, hash: u64| {
        let h = &h;
        async move {
            h.post(
                "/group/get_full_join_group_ids",
                Some(&token),
                json!({"userID": "u1", "idHash": hash}),
            )
            .await
            .expect(0)
        }
    };
    let data = full(u1.clone(), 0).await;
    assert_eq!(data["equal"], false);
    let ids = strs(&data["groupIDs"]);
    assert_eq!(ids, ["g2", "g1"]);
    let version_id = data["versionID"].as_str().unwrap().to_string();
    let version = data["version"].as_u64().unwrap();
    let hash = rill_app::conversations::id_hash(&ids);
    let data = full(u1.clone(), hash).await;
    assert_eq!(
        data,
        json!({"version": version, "versionID": version_id, "equal": true, "groupIDs": []})
    );

    let since = |v: u64| {
        let (h, u1, version_id) = (&h, u1.clone(), version_id.clone());
        async move {
            h.post(
                "/group/get_incremental_join_groups",
                Some(&u1),
                json!({"userID": "u1", "versionID": version_id, "version": v}),
            )
            .await
            .expect(0)
        }
    };
    let data = since(version).await;
    assert_eq!(
        data,
        json!({"version": version, "versionID": version_id, "full": false, "delete": [],
               "insert": [], "update": [], "sortVersion": 0})
    );

    join(&h, member_row("g3", "u1", ROLE_MEMBER, 6_000)).await; // insert g3
    set_group(&h, group_row("g1", "beta2", 1_000)).await; // update g1 (a group u1 is in)
    leave(&h, "g2", "u1").await; // delete g2
    join(&h, member_row("g4", "u1", ROLE_MEMBER, 6_001)).await;
    leave(&h, "g4", "u1").await; // delete g4
    join(&h, member_row("g5", "u2b", ROLE_MEMBER, 6_002)).await; // not u1's: no change
    set_group(&h, group_row("g5", "eps2", 5_000)).await; // not u1's group: no change
    update(&h, member_row("g1", "u1", ROLE_OWNER, 1_000)).await; // member row: not a join change

    let data = since(version).await;
    assert_eq!(data["full"], false);
    assert_eq!(data["version"], version + 5);
    assert_eq!(ids_of(&data["insert"]), ["g3"]);
    assert_eq!(data["insert"][0]["memberCount"], 2);
    assert_eq!(ids_of(&data["update"]), ["g1"]);
    assert_eq!(data["update"][0]["groupName"], "beta2");
    assert_eq!(sorted(strs(&data["delete"])), ["g2", "g4"]);

    // Full lists now match the changes.
    let data = full(u1.clone(), 0).await;
    assert_eq!(strs(&data["groupIDs"]), ["g1", "g3"]);
    assert_eq!(data["version"], version + 5);

    // Unknown or stale positions: full, nothing listed, the head.
    for body in [
        json!({"userID": "u1", "versionID": FOREIGN_VERSION_ID, "version": version}),
        json!({"userID": "u1", "versionID": "", "version": 0}),
        json!({"userID": "u1", "versionID": version_id, "version": 0}),
        json!({"userID": "u1", "versionID": version_id, "version": version + 99}),
    ] {
        let data = h
            .post(
                "/group/get_incremental_join_groups",
                Some(&u1),
                body.clone(),
            )
            .await
            .expect(0);
        assert_eq!(
            data,
            json!({"version": version + 5, "versionID": version_id, "full": true, "delete": [],
                   "insert": [], "update": [], "sortVersion": 0}),
            "{body}"
        );
    }
    h.post(
        "/group/get_incremental_join_groups",
        Some(&u2),
        json!({"userID": "u1", "versionID": version_id, "version": version}),
    )
    .await
    .expect(1002);
    full(u1, 0).await;
}

fn ids_of(v: &Value) -> Vec<String> {
    ids(v, "groupID")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_batch_answers_the_callers_live_groups() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    h.register(&["u2", "u3"]).await;
    create(
        &h,
        "g1",
        "one",
        1_000,
        &[("u1", ROLE_OWNER), ("u2", ROLE_MEMBER)],
    )
    .await;
    create(
        &h,
        "g2",
        "two",
        2_000,
        &[("u2", ROLE_OWNER), ("u1", ROLE_MEMBER)],
    )
    .await;
    create(&h, "g3", "three", 3_000, &[("u2", ROLE_OWNER)]).await; // u1 not in it
    create(&h, "g4", "four", 4_000, &[("u1", ROLE_OWNER)]).await;
    let mut gone = group_row("g4", "four", 4_000);
    gone.status = 2;
    set_group(&h, gone).await; // dismissed, u1 still listed

    let held: pb::GetFullGroupMemberUserIDsResp = serde_json::from_value(
        h.post(
            "/group/get_full_group_member_user_ids",
            Some(&u1),
            json!({"groupID": "g2", "idHash": 0}),
        )
        .await
        .expect(0),
    )
    .unwrap();
    join(&h, member_row("g2", "u3", ROLE_MEMBER, 9_000)).await;

    let data = h
        .post(
            "/group/get_incremental_group_members_batch",
            Some(&u1),
            json!({"userID": "u1", "reqList": [
                {"groupID": "g1", "versionID": "", "version": 0},
                {"groupID": "g2", "versionID": held.version_id, "version": held.version},
                {"groupID": "g3", "versionID": "", "version": 0},
                {"groupID": "g4", "versionID": "", "version": 0},
                {"groupID": "nope", "versionID": "", "version": 0},
                {"groupID": "g1", "versionID": "", "version": 0},
            ]}),
        )
        .await
        .expect(0);
    let list = data["respList"].as_object().unwrap();
    let mut keys: Vec<&String> = list.keys().collect();
    keys.sort();
    assert_eq!(keys, ["g1", "g2"]);
    let g1 = &list["g1"];
    assert_eq!(g1["full"], true);
    assert_eq!(g1["group"]["memberCount"], 2);
    let g2 = &list["g2"];
    assert_eq!(g2["full"], false);
    assert_eq!(ids(&g2["insert"], "userID"), ["u3"]);
    assert_eq!(g2["update"], json!([]));
    assert_eq!(g2["delete"], json!([]));
    assert_eq!(g2["group"]["memberCount"], 3);
    assert_eq!(g2["version"], held.version + 1);

    // Only for oneself (or as an admin, for any group).
    h.post(
        "/group/get_incremental_group_members_batch",
        Some(&u1),
        json!({"userID": "u2", "reqList": []}),
    )
    .await
    .expect(1002);
    let data = h
        .admin(
            "/group/get_incremental_group_members_batch",
            json!({"userID": "", "reqList": [{"groupID": "g3", "versionID": "", "version": 0}]}),
        )
        .await
        .expect(0);
    assert_eq!(data["respList"]["g3"]["full"], true);
}

/// The reads follow the rows the group commands write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_follow_the_group_commands() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let u2 = h.user("u2").await;
    h.register(&["u3", "u4"]).await;
    let data = h
        .post(
            "/group/create_group",
            Some(&u1),
            json!({"memberUserIDs": ["u2", "u3"], "adminUserIDs": [], "ownerUserID": "u1",
                   "groupInfo": {"groupID": "", "groupName": "made", "groupType": 2}}),
        )
        .await
        .expect(0);
    let gid = data["groupInfo"]["groupID"].as_str().unwrap().to_string();
    let full = h
        .post(
            "/group/get_full_group_member_user_ids",
            Some(&u2),
            json!({"groupID": gid, "idHash": 0}),
        )
        .await
        .expect(0);
    assert_eq!(strs(&full["userIDs"])[0], "u1");
    assert_eq!(sorted(strs(&full["userIDs"])), ["u1", "u2", "u3"]);
    let joined = h
        .post(
            "/group/get_full_join_group_ids",
            Some(&u2),
            json!({"userID": "u2", "idHash": 0}),
        )
        .await
        .expect(0);
    assert_eq!(strs(&joined["groupIDs"]), vec![gid.clone()]);

    h.post(
        "/group/invite_user_to_group",
        Some(&u1),
        json!({"groupID": gid, "reason": "", "invitedUserIDs": ["u4"]}),
    )
    .await
    .expect(0);
    h.post(
        "/group/kick_group",
        Some(&u1),
        json!({"groupID": gid, "kickedUserIDs": ["u3"], "reason": ""}),
    )
    .await
    .expect(0);
    let data = h
        .post(
            "/group/get_incremental_group_members",
            Some(&u2),
            json!({"groupID": gid, "versionID": full["versionID"], "version": full["version"]}),
        )
        .await
        .expect(0);
    assert_eq!(data["full"], false);
    assert_eq!(ids(&data["insert"], "userID"), ["u4"]);
    assert_eq!(strs(&data["delete"]), ["u3"]);
    assert_eq!(data["group"]["memberCount"], 3);
    assert_eq!(data["group"]["ownerUserID"], "u1");
    let data = h
        .post(
            "/group/get_incremental_join_groups",
            Some(&u2),
            json!({"userID": "u2", "versionID": joined["versionID"], "version": joined["version"]}),
        )
        .await
        .expect(0);
    assert_eq!(data["full"], false);
    assert_eq!(data["insert"], json!([]));
    assert_eq!(data["delete"], json!([]));
}
