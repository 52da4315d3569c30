//! The group and third-party routes the SDKs call at login and send, for a user with no groups
//! yet: well-formed answers with OpenIM's argument and permission checks. The version-based
//! ones answer a fresh log's head (version 1, a new versionID). (The friend routes are real
//! now: `friends*.rs`; the group routes with data: `groups_query*.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

/// Stands for any versionID (a log's ObjectId hex) in an expected answer.
const ANY_ID: &str = "<objectid>";

/// `data` with a 24-hex `versionID` replaced by [`ANY_ID`].
fn normalised(mut data: Value) -> Value {
    if let Some(id) = data.get("versionID").and_then(Value::as_str)
        && id.len() == 24
        && id.chars().all(|c| c.is_ascii_hexdigit())
    {
        data["versionID"] = json!(ANY_ID);
    }
    data
}

fn page() -> Value {
    json!({"pageNumber": 1, "showNumber": 200})
}

/// (route, body as u1, expected data) for every stub.
fn cases() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "/group/get_incremental_join_groups",
            json!({"userID": "u1", "versionID": "", "version": 0}),
            json!({"version": 1, "versionID": ANY_ID, "full": true, "delete": [], "insert": [], "update": [], "sortVersion": 0}),
        ),
        (
            "/group/get_full_join_group_ids",
            json!({"idHash": 0, "userID": "u1"}),
            // No groups: the hash of no ids is 0, so an idHash of 0 is equal.
            json!({"version": 1, "versionID": ANY_ID, "equal": true, "groupIDs": []}),
        ),
        (
            "/group/get_joined_group_list",
            json!({"fromUserID": "u1", "pagination": page()}),
            json!({"total": 0, "groups": []}),
        ),
        (
            "/group/get_groups_info",
            json!({"groupIDs": ["g1"]}),
            json!({"groupInfos": []}),
        ),
        (
            "/group/get_incremental_group_members_batch",
            json!({"userID": "u1", "reqList": [{"groupID": "g1", "versionID": "", "version": 0}]}),
            json!({}),
        ),
        (
            "/group/get_group_application_unhandled_count",
            json!({"userID": "u1", "time": 0}),
            json!({"count": 0}),
        ),
        (
            "/group/get_recv_group_applicationList",
            json!({"fromUserID": "u1", "pagination": page()}),
            json!({"total": 0, "groupRequests": []}),
        ),
        (
            "/group/get_user_req_group_applicationList",
            json!({"userID": "u1", "pagination": page()}),
            json!({"total": 0, "groupRequests": []}),
        ),
        (
            "/object/part_limit",
            json!({}),
            json!({"minPartSize": 5_242_880, "maxPartSize": 5_368_709_120i64, "maxNumSize": 10_000}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stub_answers_with_the_openim_shape() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    for (route, body, expected) in cases() {
        let data = h.post(route, Some(&u1), body.clone()).await.expect(0);
        assert_eq!(normalised(data), expected, "{route}");
        // Admins may ask on anyone's behalf.
        h.admin(route, body).await.expect(0);
    }
}

/// The "self or admin" rule: u2 may not read u1's relations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stubs_refuse_other_users() {
    let h = Harness::start().await;
    h.register(&["u1"]).await;
    let u2 = h.user("u2").await;
    for (route, body, _) in cases() {
        if matches!(route, "/group/get_groups_info" | "/object/part_limit") {
            continue; // any user may ask
        }
        h.post(route, Some(&u2), body).await.expect(1002);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stubs_check_their_arguments() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let bad: Vec<(&str, Value)> = vec![
        ("/group/get_incremental_join_groups", json!({"userID": ""})),
        ("/group/get_full_join_group_ids", json!({"userID": ""})),
        ("/group/get_joined_group_list", json!({"fromUserID": "u1"})),
        ("/group/get_groups_info", json!({"groupIDs": []})),
        (
            "/group/get_group_application_unhandled_count",
            json!({"userID": ""}),
        ),
        (
            "/group/get_recv_group_applicationList",
            json!({"fromUserID": "u1"}),
        ),
        (
            "/group/get_user_req_group_applicationList",
            json!({"userID": "u1"}),
        ),
    ];
    for (route, body) in bad {
        let r = h.post(route, Some(&u1), body.clone()).await;
        assert_eq!(r.code(), 1001, "{route} {body}: {}", r.json);
        r.expect(1001);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_token_and_badge_are_stored_for_offline_push() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    h.post(
        "/third/fcm_update_token",
        Some(&u1),
        json!({"platformID": 2, "fcmToken": "fcm-abc", "account": "u1", "expireTime": 3600}),
    )
    .await
    .expect_empty_ok();
    h.post(
        "/third/set_app_badge",
        Some(&u1),
        json!({"userID": "u1", "appUnreadCount": 7}),
    )
    .await
    .expect_empty_ok();
    let mut conn = h.redis.conn().await.unwrap();
    let token: Option<String> =
        redis::AsyncCommands::get(&mut conn, rill_app::users::push_token_key(&h.app, "u1", 2))
            .await
            .unwrap();
    assert_eq!(token.as_deref(), Some("fcm-abc"));
    let ttl: i64 =
        redis::AsyncCommands::ttl(&mut conn, rill_app::users::push_token_key(&h.app, "u1", 2))
            .await
            .unwrap();
    assert!(ttl > 0 && ttl <= 3600, "{ttl}");
    let badge: Option<i64> =
        redis::AsyncCommands::get(&mut conn, rill_app::users::badge_key(&h.app, "u1"))
            .await
            .unwrap();
    assert_eq!(badge, Some(7));

    let fcm = |p: i32, t: &str, a: &str| json!({"platformID": p, "fcmToken": t, "account": a, "expireTime": 0});
    h.post("/third/fcm_update_token", Some(&u1), fcm(0, "t", "u1"))
        .await
        .expect(1001);
    h.post("/third/fcm_update_token", Some(&u1), fcm(2, "", "u1"))
        .await
        .expect(1001);
    h.post("/third/fcm_update_token", Some(&u1), fcm(2, "t", ""))
        .await
        .expect(1001);
    h.post("/third/fcm_update_token", Some(&u1), fcm(2, "t", "u2"))
        .await
        .expect(1002);
    h.post(
        "/third/set_app_badge",
        Some(&u1),
        json!({"userID": "u2", "appUnreadCount": 1}),
    )
    .await
    .expect(1002);
    h.post(
        "/third/set_app_badge",
        Some(&u1),
        json!({"userID": "", "appUnreadCount": 1}),
    )
    .await
    .expect(1001);
    h.post_raw("/third/set_app_badge", Some(&u1), Some("op"), "{")
        .await
        .expect(1001);
}
