//! The blacklist through `/friend/*` and the single-chat rules it drives on the send path
//! (1302 BlockedByPeer; with `friend_verify`, 1303 NotPeersFriend), including the Redis cache
//! those checks read and its invalidation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rill_app::{AppConfig, Caller};
use rill_wire::pb::sdkws::MsgData;
use serde_json::{Value, json};

fn page() -> Value {
    json!({"pageNumber": 1, "showNumber": 100})
}

/// A text message from `from` to `to`, sent as `from` (not an admin, so the rules apply).
async fn send_text(h: &Harness, from: &str, to: &str) -> Result<(), i32> {
    let caller = Caller {
        user_id: from.to_string(),
        platform_id: 2,
        is_admin: false,
    };
    let msg = MsgData {
        send_id: from.to_string(),
        recv_id: to.to_string(),
        session_type: 1,
        content_type: 101,
        content: br#"{"content":"hi"}"#.to_vec(),
        ..Default::default()
    };
    h.app
        .send_message(&caller, msg)
        .await
        .map(|_| ())
        .map_err(|e| e.code().code())
}

async fn exists(h: &Harness, key: &str) -> bool {
    let mut conn = h.redis.conn().await.unwrap();
    redis::AsyncCommands::exists(&mut conn, key).await.unwrap()
}

fn black_key(h: &Harness, owner: &str) -> String {
    h.app.log().keys().global(&format!("rel:{{{owner}}}:b"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blacklist_blocks_single_chat_sends() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let u2 = h.user("u2").await;

    assert_eq!(send_text(&h, "u2", "u1").await, Ok(()));
    // The first check loaded u1's blacklist into Redis.
    assert!(exists(&h, &black_key(&h, "u1")).await);

    h.post(
        "/friend/add_black",
        Some(&u1),
        json!({"ownerUserID": "u1", "blackUserID": "u2", "ex": "spam"}),
    )
    .await
    .expect_empty_ok();
    // The change invalidated the cached list.
    assert!(!exists(&h, &black_key(&h, "u1")).await);
    assert_eq!(send_text(&h, "u2", "u1").await, Err(1302));
    // Served from the reloaded cache the second time.
    assert!(exists(&h, &black_key(&h, "u1")).await);
    assert_eq!(send_text(&h, "u2", "u1").await, Err(1302));
    // Only the blocked direction: u1 may still write to u2.
    assert_eq!(send_text(&h, "u1", "u2").await, Ok(()));
    // Admin senders skip the rules (even when blocked), and so do notification types.
    h.post(
        "/friend/add_black",
        Some(&u1),
        json!({"ownerUserID": "u1", "blackUserID": ADMIN}),
    )
    .await
    .expect_empty_ok();
    let admin = Caller {
        user_id: ADMIN.into(),
        platform_id: 10,
        is_admin: true,
    };
    let from_admin = MsgData {
        send_id: ADMIN.into(),
        recv_id: "u1".into(),
        session_type: 1,
        content_type: 101,
        content: br#"{"content":"hi"}"#.to_vec(),
        ..Default::default()
    };
    h.app.send_message(&admin, from_admin).await.unwrap();
    let caller = Caller {
        user_id: "u2".into(),
        platform_id: 2,
        is_admin: false,
    };
    let notice = MsgData {
        send_id: "u2".into(),
        recv_id: "u1".into(),
        session_type: 1,
        content_type: 1204,
        content: br#"{"detail":"{}"}"#.to_vec(),
        ..Default::default()
    };
    h.app.send_message(&caller, notice).await.unwrap();
    h.post(
        "/friend/remove_black",
        Some(&u1),
        json!({"ownerUserID": "u1", "blackUserID": ADMIN}),
    )
    .await
    .expect_empty_ok();

    let list = h
        .post(
            "/friend/get_black_list",
            Some(&u1),
            json!({"userID": "u1", "pagination": page()}),
        )
        .await
        .expect(0);
    assert_eq!(list["total"], 1);
    let b = &list["blacks"][0];
    assert_eq!(b["ownerUserID"], "u1");
    assert_eq!(b["blackUserInfo"]["userID"], "u2");
    assert_eq!(b["blackUserInfo"]["nickname"], "u2");
    assert_eq!(b["ex"], "spam");
    assert_eq!(b["operatorUserID"], "u1");
    assert!(
        b["createTime"].as_i64().unwrap() < 4_000_000_000,
        "seconds in the list"
    );
    let spec = h
        .post(
            "/friend/get_specified_blacks",
            Some(&u1),
            json!({"ownerUserID": "u1", "userIDList": ["u3", "u2"]}),
        )
        .await
        .expect(0);
    assert_eq!(spec["total"], 1);
    assert_eq!(spec["blacks"][0]["blackUserInfo"]["userID"], "u2");
    assert!(spec["blacks"][0]["createTime"].as_i64().unwrap() > 1_600_000_000_000);
    let info = h
        .post(
            "/friend/get_specified_friends_info",
            Some(&u1),
            json!({"ownerUserID": "u1", "userIDList": ["u2"]}),
        )
        .await
        .expect(0);
    assert_eq!(info["infos"][0]["blackInfo"]["ownerUserID"], "u1");
    assert_eq!(info["infos"][0]["friendInfo"], Value::Null);

    // Blocking twice is a duplicate; unknown users are 1004.
    h.post(
        "/friend/add_black",
        Some(&u1),
        json!({"ownerUserID": "u1", "blackUserID": "u2"}),
    )
    .await
    .expect(1003);
    h.post(
        "/friend/add_black",
        Some(&u1),
        json!({"ownerUserID": "u1", "blackUserID": "ghost"}),
    )
    .await
    .expect(1004);
    // u2 cannot unblock itself on u1's list.
    h.post(
        "/friend/remove_black",
        Some(&u2),
        json!({"ownerUserID": "u1", "blackUserID": "u2"}),
    )
    .await
    .expect(1002);

    h.post(
        "/friend/remove_black",
        Some(&u1),
        json!({"ownerUserID": "u1", "blackUserID": "u2"}),
    )
    .await
    .expect_empty_ok();
    assert_eq!(send_text(&h, "u2", "u1").await, Ok(()));
    // Removing again is fine (nothing to remove).
    h.post(
        "/friend/remove_black",
        Some(&u1),
        json!({"ownerUserID": "u1", "blackUserID": "u2"}),
    )
    .await
    .expect_empty_ok();
    let list = h
        .post(
            "/friend/get_black_list",
            Some(&u1),
            json!({"userID": "u1", "pagination": page()}),
        )
        .await
        .expect(0);
    assert_eq!(list, json!({"blacks": [], "total": 0}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn friend_verify_requires_the_receivers_friendship() {
    let h = Harness::with_config(AppConfig {
        friend_verify: true,
        ..AppConfig::default()
    })
    .await;
    let u1 = h.user("u1").await;
    h.register(&["u2"]).await;

    assert_eq!(send_text(&h, "u2", "u1").await, Err(1303));
    h.admin(
        "/friend/import_friend",
        json!({"ownerUserID": "u1", "friendUserIDs": ["u2"]}),
    )
    .await
    .expect_empty_ok();
    assert_eq!(send_text(&h, "u2", "u1").await, Ok(()));
    assert_eq!(send_text(&h, "u1", "u2").await, Ok(()));

    // The receiver drops the sender: 1303 again (the cached friend list was invalidated).
    h.post(
        "/friend/delete_friend",
        Some(&u1),
        json!({"ownerUserID": "u1", "friendUserID": "u2"}),
    )
    .await
    .expect_empty_ok();
    assert_eq!(send_text(&h, "u2", "u1").await, Err(1303));
    // u2 still has u1 as a friend, so u1 may write to u2.
    assert_eq!(send_text(&h, "u1", "u2").await, Ok(()));

    // A blacklist wins over a friendship (1302 is checked first).
    h.admin(
        "/friend/import_friend",
        json!({"ownerUserID": "u1", "friendUserIDs": ["u2"]}),
    )
    .await
    .expect_empty_ok();
    h.post(
        "/friend/add_black",
        Some(&u1),
        json!({"ownerUserID": "u1", "blackUserID": "u2"}),
    )
    .await
    .expect_empty_ok();
    assert_eq!(send_text(&h, "u2", "u1").await, Err(1302));
}

/// A list loaded while the owner changes must not be cached: the store compares the
/// generation read before loading with the current one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_started_before_a_change_is_not_cached() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    h.register(&["u2", "u3"]).await;
    let before = h.app.relation_generation("u1").await.unwrap();
    // A reader read the (empty) blacklist at `before`; then a writer blocks u2.
    h.post(
        "/friend/add_black",
        Some(&u1),
        json!({"ownerUserID": "u1", "blackUserID": "u2"}),
    )
    .await
    .expect_empty_ok();
    let after = h.app.relation_generation("u1").await.unwrap();
    assert!(
        after.is_some() && after != before,
        "every change replaces the generation"
    );
    // The stale reader's store is refused, so the send check still sees the block.
    let stale = h
        .app
        .store_relation_list("u1", true, before.as_deref(), &[])
        .await
        .unwrap();
    assert!(!stale);
    assert!(!exists(&h, &black_key(&h, "u1")).await);
    assert_eq!(
        h.app.relation_facts("u1", "u2", true).await.unwrap(),
        (true, false)
    );
    // A load at the current generation is kept (and chunked: more ids than one SADD takes).
    let many: Vec<String> = (0..1234).map(|i| format!("x{i}")).collect();
    assert!(
        h.app
            .store_relation_list("u3", true, None, &many)
            .await
            .unwrap()
    );
    let mut conn = h.redis.conn().await.unwrap();
    let n: i64 = redis::AsyncCommands::scard(&mut conn, black_key(&h, "u3"))
        .await
        .unwrap();
    assert_eq!(n, 1235, "ids plus the loaded marker");
    assert_eq!(
        h.app.relation_facts("u3", "x1233", false).await.unwrap(),
        (true, false)
    );
}
