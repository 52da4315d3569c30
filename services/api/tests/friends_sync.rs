//! The SDK's version-based friend and black sync: get_incremental_friends/blacks and
//! get_full_friend_user_ids answer exactly the changes since the client's version.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

async fn incremental(h: &Harness, token: &str, route: &str, vid: &str, v: u64) -> Value {
    h.post(
        route,
        Some(token),
        json!({"userID": "u1", "versionID": vid, "version": v}),
    )
    .await
    .expect(0)
}

async fn friends_since(h: &Harness, token: &str, vid: &str, v: u64) -> Value {
    incremental(h, token, "/friend/get_incremental_friends", vid, v).await
}

fn ids_of(list: &Value, path: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let mut v = item;
            for p in path {
                v = &v[*p];
            }
            v.as_str().unwrap().to_string()
        })
        .collect();
    out.sort();
    out
}

fn head(data: &Value) -> (String, u64) {
    (
        data["versionID"].as_str().unwrap().to_string(),
        data["version"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_friends_answer_exactly_the_changes() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let f6 = h.user("f6").await;
    h.register(&["f1", "f2", "f3", "f4", "f5", "x"]).await;

    // A new client knows nothing: full, with the log's head and no rows.
    let first = friends_since(&h, &u1, "", 0).await;
    assert_eq!(first["full"], true);
    assert_eq!(first["insert"], json!([]));
    assert_eq!(first["sortVersion"], 0);
    let (vid0, _) = head(&first);
    assert_eq!(vid0.len(), 24, "an ObjectId hex: {first}");

    h.admin(
        "/friend/import_friend",
        json!({"ownerUserID": "u1", "friendUserIDs": ["f1", "f2", "f3"]}),
    )
    .await
    .expect_empty_ok();
    let base = friends_since(&h, &u1, &vid0, 1).await;
    assert_eq!(base["full"], false);
    assert_eq!(
        ids_of(&base["insert"], &["friendUser", "userID"]),
        ["f1", "f2", "f3"]
    );
    let (vid, v) = head(&base);
    assert_eq!(vid, vid0, "one log per user");
    // Nothing new since the head.
    let same = friends_since(&h, &u1, &vid, v).await;
    assert_eq!(
        (
            same["full"].clone(),
            same["insert"].clone(),
            same["update"].clone(),
            same["delete"].clone()
        ),
        (json!(false), json!([]), json!([]), json!([]))
    );

    // Ten changes.
    let import = |id: &str| json!({"ownerUserID": "u1", "friendUserIDs": [id]});
    h.admin("/friend/import_friend", import("f4")) // 1: f4 inserted
        .await
        .expect_empty_ok();
    h.admin("/friend/import_friend", import("f5")) // 2: f5 inserted
        .await
        .expect_empty_ok();
    h.post(
        "/friend/set_friend_remark", // 3: f1 updated
        Some(&u1),
        json!({"ownerUserID": "u1", "friendUserID": "f1", "remark": "one"}),
    )
    .await
    .expect_empty_ok();
    h.post(
        "/friend/update_friends", // 4: f2 updated
        Some(&u1),
        json!({"ownerUserID": "u1", "friendUserIDs": ["f2"], "ex": "two"}),
    )
    .await
    .expect_empty_ok();
    h.post(
        "/friend/delete_friend", // 5: f3 deleted
        Some(&u1),
        json!({"ownerUserID": "u1", "friendUserID": "f3"}),
    )
    .await
    .expect_empty_ok();
    h.post(
        "/friend/add_friend", // 6: an application changes no friend
        Some(&f6),
        json!({"fromUserID": "f6", "toUserID": "u1"}),
    )
    .await
    .expect_empty_ok();
    h.post(
        "/friend/add_friend_response", // 7: f6 inserted
        Some(&u1),
        json!({"fromUserID": "f6", "toUserID": "u1", "handleResult": 1}),
    )
    .await
    .expect_empty_ok();
    h.post(
        "/friend/set_friend_remark", // 8: f4 inserted then updated: its last change
        Some(&u1),
        json!({"ownerUserID": "u1", "friendUserID": "f4", "remark": "four"}),
    )
    .await
    .expect_empty_ok();
    h.post(
        "/friend/add_black", // 9: a black is not a friend change
        Some(&u1),
        json!({"ownerUserID": "u1", "blackUserID": "x"}),
    )
    .await
    .expect_empty_ok();
    h.post(
        "/friend/update_friends", // 10: f2 pinned: updated, and the id order changed
        Some(&u1),
        json!({"ownerUserID": "u1", "friendUserIDs": ["f2"], "isPinned": true}),
    )
    .await
    .expect_empty_ok();

    let delta = friends_since(&h, &u1, &vid, v).await;
    assert_eq!(delta["full"], false, "{delta}");
    assert_eq!(
        ids_of(&delta["insert"], &["friendUser", "userID"]),
        ["f5", "f6"]
    );
    assert_eq!(
        ids_of(&delta["update"], &["friendUser", "userID"]),
        ["f1", "f2", "f4"]
    );
    assert_eq!(delta["delete"], json!(["f3"]));
    let (vid2, v2) = head(&delta);
    assert_eq!(vid2, vid);
    assert!(v2 > v);
    let sort_version = delta["sortVersion"].as_u64().unwrap();
    assert!(sort_version > v && sort_version <= v2, "{delta}");
    // The rows are current.
    let f2 = delta["update"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["friendUser"]["userID"] == "f2")
        .unwrap();
    assert_eq!(
        (f2["ex"].clone(), f2["isPinned"].clone()),
        (json!("two"), json!(true))
    );
    let f4 = delta["update"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["friendUser"]["userID"] == "f4")
        .unwrap();
    assert_eq!(f4["remark"], "four");

    // Caught up: nothing more, no sort change.
    let caught_up = friends_since(&h, &u1, &vid2, v2).await;
    assert_eq!(caught_up["insert"], json!([]));
    assert_eq!(caught_up["update"], json!([]));
    assert_eq!(caught_up["sortVersion"], 0);

    // Stale, unknown or impossible versions answer full with no rows.
    for (vid, ver) in [
        ("0123456789abcdef01234567".to_string(), v),
        ("not-an-object-id".to_string(), v),
        (vid2.clone(), 0),
        (vid2.clone(), v2 + 5),
    ] {
        let full = friends_since(&h, &u1, &vid, ver).await;
        assert_eq!(full["full"], true, "{vid} {ver}: {full}");
        assert_eq!(full["insert"], json!([]));
        assert_eq!(full["delete"], json!([]));
        assert_eq!(head(&full), (vid2.clone(), v2));
    }

    // The full id list (pinned first) and its hash.
    let all = h
        .post(
            "/friend/get_full_friend_user_ids",
            Some(&u1),
            json!({"userID": "u1", "idHash": 0}),
        )
        .await
        .expect(0);
    assert_eq!(all["equal"], false);
    let ids: Vec<String> = serde_json::from_value(all["userIDs"].clone()).unwrap();
    assert_eq!(ids[0], "f2", "pinned first: {all}");
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ["f1", "f2", "f4", "f5", "f6"]);
    assert_eq!(head(&all), (vid2.clone(), v2));
    let hash = rill_app::conversations::id_hash(&ids);
    let again = h
        .post(
            "/friend/get_full_friend_user_ids",
            Some(&u1),
            json!({"userID": "u1", "idHash": hash}),
        )
        .await
        .expect(0);
    assert_eq!(again["equal"], true);
    assert_eq!(again["userIDs"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_blacks_answer_exactly_the_changes() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    h.register(&["x", "y", "z"]).await;
    let route = "/friend/get_incremental_blacks";
    let black = |id: &str| json!({"ownerUserID": "u1", "blackUserID": id});

    h.post("/friend/add_black", Some(&u1), black("z"))
        .await
        .expect_empty_ok();
    let first = incremental(&h, &u1, route, "", 0).await;
    assert_eq!(first["full"], true);
    let (vid, v) = head(&first);

    h.post("/friend/add_black", Some(&u1), black("x"))
        .await
        .expect_empty_ok();
    h.post("/friend/add_black", Some(&u1), black("y"))
        .await
        .expect_empty_ok();
    h.post("/friend/remove_black", Some(&u1), black("x"))
        .await
        .expect_empty_ok();
    h.post("/friend/remove_black", Some(&u1), black("z"))
        .await
        .expect_empty_ok();
    let delta = incremental(&h, &u1, route, &vid, v).await;
    assert_eq!(delta["full"], false, "{delta}");
    assert_eq!(
        ids_of(&delta["insert"], &["blackUserInfo", "userID"]),
        ["y"]
    );
    assert_eq!(delta["update"], json!([]));
    let mut deleted: Vec<String> = serde_json::from_value(delta["delete"].clone()).unwrap();
    deleted.sort();
    assert_eq!(deleted, ["x", "z"]);
    let (_, v2) = head(&delta);
    assert_eq!(v2, v + 4);
    let none = incremental(&h, &u1, route, &vid, v2).await;
    assert_eq!(none["insert"], json!([]));
    assert_eq!(none["delete"], json!([]));
}

/// A profile change (the users service calls `friend_user_info_updated`) makes every friend's
/// next incremental sync refetch that friend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_change_updates_the_friends_logs() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    h.register(&["u2", "u3"]).await;
    h.admin(
        "/friend/import_friend",
        json!({"ownerUserID": "u2", "friendUserIDs": ["u1", "u3"]}),
    )
    .await
    .expect_empty_ok();
    let (vid, v) = head(&friends_since(&h, &u1, "", 0).await);
    let caller = rill_app::Caller {
        user_id: "u2".into(),
        platform_id: 2,
        is_admin: false,
    };
    h.app.friend_user_info_updated(&caller, "u2").await.unwrap();
    let delta = friends_since(&h, &u1, &vid, v).await;
    assert_eq!(delta["full"], false);
    assert_eq!(ids_of(&delta["update"], &["friendUser", "userID"]), ["u2"]);
    assert_eq!(delta["insert"], json!([]));
}
