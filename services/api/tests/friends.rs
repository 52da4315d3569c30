//! Friend applications and friend rows through `/friend/*`, against real Redis and Mongo:
//! apply → accept → both lists, refusals, OpenIM's codes, import, delete, remark, pins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

fn page() -> Value {
    json!({"pageNumber": 1, "showNumber": 100})
}

async fn friend_ids(h: &Harness, token: &str, user: &str) -> Vec<String> {
    let data = h
        .post(
            "/friend/get_friend_list",
            Some(token),
            json!({"userID": user, "pagination": page()}),
        )
        .await
        .expect(0);
    data["friendsInfo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["friendUser"]["userID"].as_str().unwrap().to_string())
        .collect()
}

/// Content types of the stored notification copies in a conversation.
async fn stored_content_types(h: &Harness, conversation_id: &str) -> Vec<i32> {
    h.app
        .log()
        .range(conversation_id, 1, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| rill_app::pull::message_of(e.envelope.event))
        .map(|m| m.content_type)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_then_accept_makes_both_friends() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let u2 = h.user("u2").await;

    h.post(
        "/friend/add_friend",
        Some(&u1),
        json!({"fromUserID": "u1", "toUserID": "u2", "reqMsg": "hi", "ex": "e"}),
    )
    .await
    .expect_empty_ok();

    // The receiver sees the pending application with both ends' names.
    let to = h
        .post(
            "/friend/get_friend_apply_list",
            Some(&u2),
            json!({"userID": "u2", "pagination": page()}),
        )
        .await
        .expect(0);
    assert_eq!(to["total"], 1);
    let r = &to["FriendRequests"][0];
    assert_eq!(r["fromUserID"], "u1");
    assert_eq!(r["fromNickname"], "u1");
    assert_eq!(r["toUserID"], "u2");
    assert_eq!(r["toNickname"], "u2");
    assert_eq!(r["handleResult"], 0);
    assert_eq!(r["reqMsg"], "hi");
    assert_eq!(r["ex"], "e");
    assert!(
        r["createTime"].as_i64().unwrap() > 1_600_000_000_000,
        "ms: {r}"
    );
    let from = h
        .post(
            "/friend/get_self_friend_apply_list",
            Some(&u1),
            json!({"userID": "u1", "pagination": page()}),
        )
        .await
        .expect(0);
    assert_eq!(from["total"], 1);
    assert_eq!(from["friendRequests"][0]["toUserID"], "u2");
    let count = h
        .post(
            "/friend/get_self_unhandled_apply_count",
            Some(&u2),
            json!({"userID": "u2", "time": 0}),
        )
        .await
        .expect(0);
    assert_eq!(count, json!({"count": 1}));
    assert!(friend_ids(&h, &u1, "u1").await.is_empty());

    h.post(
        "/friend/add_friend_response",
        Some(&u2),
        json!({"fromUserID": "u1", "toUserID": "u2", "handleResult": 1, "handleMsg": "ok"}),
    )
    .await
    .expect_empty_ok();

    assert_eq!(friend_ids(&h, &u1, "u1").await, ["u2"]);
    assert_eq!(friend_ids(&h, &u2, "u2").await, ["u1"]);
    let list = h
        .post(
            "/friend/get_friend_list",
            Some(&u1),
            json!({"userID": "u1", "pagination": page()}),
        )
        .await
        .expect(0);
    assert_eq!(list["total"], 1);
    let f = &list["friendsInfo"][0];
    assert_eq!(f["ownerUserID"], "u1");
    assert_eq!(f["addSource"], 2);
    assert_eq!(f["operatorUserID"], "u1", "OpenIM names the applicant");
    assert_eq!(f["friendUser"]["nickname"], "u2");
    assert_eq!(f["isPinned"], false);
    // OpenIM's list gives seconds here.
    let secs = f["createTime"].as_i64().unwrap();
    assert!((1_600_000_000..4_000_000_000).contains(&secs), "{secs}");

    let handled = h
        .post(
            "/friend/get_friend_apply_list",
            Some(&u2),
            json!({"userID": "u2", "pagination": page()}),
        )
        .await
        .expect(0);
    let r = &handled["FriendRequests"][0];
    assert_eq!(r["handleResult"], 1);
    assert_eq!(r["handlerUserID"], "u2");
    assert_eq!(r["handleMsg"], "ok");
    assert!(r["handleTime"].as_i64().unwrap() > 0);
    // Filtering by handle result.
    let pending = h
        .post(
            "/friend/get_friend_apply_list",
            Some(&u2),
            json!({"userID": "u2", "pagination": page(), "handleResults": [0]}),
        )
        .await
        .expect(0);
    assert_eq!(pending["total"], 0);
    let count = h
        .post(
            "/friend/get_self_unhandled_apply_count",
            Some(&u2),
            json!({"userID": "u2", "time": 0}),
        )
        .await
        .expect(0);
    assert_eq!(count["count"], 0);

    let is = h
        .post(
            "/friend/is_friend",
            Some(&u1),
            json!({"userID1": "u1", "userID2": "u2"}),
        )
        .await
        .expect(0);
    assert_eq!(is, json!({"inUser1Friends": true, "inUser2Friends": true}));
    let ids = h
        .post("/friend/get_friend_id", Some(&u2), json!({"userID": "u2"}))
        .await
        .expect(0);
    assert_eq!(ids, json!({"friendIDs": ["u1"]}));
    let both = h
        .post(
            "/friend/get_designated_friend_apply",
            Some(&u1),
            json!({"fromUserID": "u1", "toUserID": "u2"}),
        )
        .await
        .expect(0);
    assert_eq!(both["friendRequests"].as_array().unwrap().len(), 1);

    // 1201 (isSendMsg on) is stored in the chat; 1203 (isSendMsg off) is online only.
    assert_eq!(stored_content_types(&h, "si_u1_u2").await, [1201]);

    // OpenIM's codes: agreeing again is ArgsError, refusing a handled one 1305, applying to a
    // mutual friend 1304, applying to oneself 1301, to nobody 1004.
    let respond = |r: i32| json!({"fromUserID": "u1", "toUserID": "u2", "handleResult": r});
    h.post("/friend/add_friend_response", Some(&u2), respond(1))
        .await
        .expect(1001);
    h.post("/friend/add_friend_response", Some(&u2), respond(-1))
        .await
        .expect(1305);
    h.post("/friend/add_friend_response", Some(&u2), respond(2))
        .await
        .expect(1001);
    h.post(
        "/friend/add_friend",
        Some(&u1),
        json!({"fromUserID": "u1", "toUserID": "u2"}),
    )
    .await
    .expect(1304);
    h.post(
        "/friend/add_friend",
        Some(&u1),
        json!({"fromUserID": "u1", "toUserID": "u1"}),
    )
    .await
    .expect(1301);
    h.post(
        "/friend/add_friend",
        Some(&u1),
        json!({"fromUserID": "u1", "toUserID": "nobody"}),
    )
    .await
    .expect(1004);
    h.post(
        "/friend/add_friend_response",
        Some(&u1),
        json!({"fromUserID": "u2", "toUserID": "u1", "handleResult": 1}),
    )
    .await
    .expect(1004);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_crossed_applications() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let u2 = h.user("u2").await;
    let apply = json!({"fromUserID": "u1", "toUserID": "u2", "reqMsg": "first"});
    h.post("/friend/add_friend", Some(&u1), apply)
        .await
        .expect_empty_ok();
    h.post(
        "/friend/add_friend_response",
        Some(&u2),
        json!({"fromUserID": "u1", "toUserID": "u2", "handleResult": -1, "handleMsg": "no"}),
    )
    .await
    .expect_empty_ok();
    let r = h
        .post(
            "/friend/get_self_friend_apply_list",
            Some(&u1),
            json!({"userID": "u1", "pagination": page()}),
        )
        .await
        .expect(0)["friendRequests"][0]
        .clone();
    assert_eq!(r["handleResult"], -1);
    assert_eq!(r["handleMsg"], "no");
    assert_eq!(
        r["handlerUserID"], "",
        "OpenIM records no handler on refusal"
    );
    assert!(friend_ids(&h, &u1, "u1").await.is_empty());
    assert!(
        stored_content_types(&h, "si_u1_u2").await.is_empty(),
        "1202 is online only"
    );

    // Applying again reopens the same application.
    h.post(
        "/friend/add_friend",
        Some(&u1),
        json!({"fromUserID": "u1", "toUserID": "u2", "reqMsg": "again"}),
    )
    .await
    .expect_empty_ok();
    let list = h
        .post(
            "/friend/get_friend_apply_list",
            Some(&u2),
            json!({"userID": "u2", "pagination": page()}),
        )
        .await
        .expect(0);
    assert_eq!(list["total"], 1);
    let r = &list["FriendRequests"][0];
    assert_eq!(
        (
            r["handleResult"].clone(),
            r["reqMsg"].clone(),
            r["handleMsg"].clone()
        ),
        (json!(0), json!("again"), json!(""))
    );

    // Crossed applications: accepting one accepts the other too.
    h.post(
        "/friend/add_friend",
        Some(&u2),
        json!({"fromUserID": "u2", "toUserID": "u1"}),
    )
    .await
    .expect_empty_ok();
    h.post(
        "/friend/add_friend_response",
        Some(&u2),
        json!({"fromUserID": "u1", "toUserID": "u2", "handleResult": 1}),
    )
    .await
    .expect_empty_ok();
    let both = h
        .post(
            "/friend/get_designated_friend_apply",
            Some(&u2),
            json!({"fromUserID": "u1", "toUserID": "u2"}),
        )
        .await
        .expect(0);
    let reqs = both["friendRequests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0]["fromUserID"], "u1", "from → to first");
    assert!(reqs.iter().all(|r| r["handleResult"] == 1), "{both}");
    h.post(
        "/friend/add_friend_response",
        Some(&u1),
        json!({"fromUserID": "u2", "toUserID": "u1", "handleResult": -1}),
    )
    .await
    .expect(1305);
    assert_eq!(friend_ids(&h, &u2, "u2").await, ["u1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_delete_remark_and_pins() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let u2 = h.user("u2").await;
    h.register(&["u3", "u4"]).await;

    let import = |ids: Value| json!({"ownerUserID": "u1", "friendUserIDs": ids});
    h.post("/friend/import_friend", Some(&u1), import(json!(["u2"])))
        .await
        .expect(1002);
    h.admin("/friend/import_friend", import(json!(["u1"])))
        .await
        .expect(1301);
    h.admin("/friend/import_friend", import(json!(["u2", "u2"])))
        .await
        .expect(1001);
    h.admin("/friend/import_friend", import(json!(["u2", "ghost"])))
        .await
        .expect(1004);
    h.admin("/friend/import_friend", import(json!([])))
        .await
        .expect(1001);
    h.admin("/friend/import_friend", import(json!(["u2", "u3", "u4"])))
        .await
        .expect_empty_ok();
    // Importing again changes nothing.
    h.admin("/friend/import_friend", import(json!(["u2"])))
        .await
        .expect_empty_ok();

    assert_eq!(friend_ids(&h, &u1, "u1").await.len(), 3);
    assert_eq!(friend_ids(&h, &u2, "u2").await, ["u1"]);
    let f = h
        .post(
            "/friend/get_designated_friends",
            Some(&u1),
            json!({"ownerUserID": "u1", "friendUserIDs": ["u3", "nobody", "u2"]}),
        )
        .await
        .expect(0);
    let got: Vec<&str> = f["friendsInfo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["friendUser"]["userID"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["u3", "u2"]);
    assert_eq!(f["friendsInfo"][0]["addSource"], 1);
    assert_eq!(f["friendsInfo"][0]["operatorUserID"], ADMIN);
    // Import notifies with 1201 from each new friend, stored in each chat.
    assert_eq!(stored_content_types(&h, "si_u1_u3").await, [1201]);
    // (u2 was imported twice: OpenIM notifies even when nothing changed.)
    assert_eq!(stored_content_types(&h, "si_u1_u2").await, [1201, 1201]);

    // Remark: only on a friend.
    h.post(
        "/friend/set_friend_remark",
        Some(&u2),
        json!({"ownerUserID": "u2", "friendUserID": "u3", "remark": "x"}),
    )
    .await
    .expect(1004);
    h.post(
        "/friend/set_friend_remark",
        Some(&u1),
        json!({"ownerUserID": "u1", "friendUserID": "u2", "remark": "buddy"}),
    )
    .await
    .expect_empty_ok();
    h.post(
        "/friend/set_friend_remark",
        Some(&u2),
        json!({"ownerUserID": "u1", "friendUserID": "u2", "remark": "x"}),
    )
    .await
    .expect(1002);

    // Pins come first in lists and ids.
    h.post(
        "/friend/update_friends",
        Some(&u1),
        json!({"ownerUserID": "u1", "friendUserIDs": ["u4"], "isPinned": true, "ex": "pinned"}),
    )
    .await
    .expect_empty_ok();
    h.post(
        "/friend/update_friends",
        Some(&u1),
        json!({"ownerUserID": "u1", "friendUserIDs": ["u4", "u4"], "isPinned": true}),
    )
    .await
    .expect(1001);
    h.post(
        "/friend/update_friends",
        Some(&u1),
        json!({"ownerUserID": "u1", "friendUserIDs": []}),
    )
    .await
    .expect(1001);
    let ids = h
        .post("/friend/get_friend_id", Some(&u1), json!({"userID": "u1"}))
        .await
        .expect(0);
    assert_eq!(ids["friendIDs"][0], "u4");
    let info = h
        .post(
            "/friend/get_specified_friends_info",
            Some(&u1),
            json!({"ownerUserID": "u1", "userIDList": ["u4", "u2", "ghost"]}),
        )
        .await
        .expect(0);
    let infos = info["infos"].as_array().unwrap();
    assert_eq!(infos.len(), 2, "unknown users are left out: {info}");
    assert_eq!(infos[0]["userInfo"]["userID"], "u4");
    assert_eq!(infos[0]["friendInfo"]["isPinned"], true);
    assert_eq!(infos[0]["friendInfo"]["ex"], "pinned");
    assert_eq!(infos[0]["friendInfo"]["friendUser"], Value::Null);
    assert!(
        infos[0]["friendInfo"]["createTime"].as_i64().unwrap() > 1_600_000_000_000,
        "ms here"
    );
    assert_eq!(infos[0]["blackInfo"], Value::Null);
    assert_eq!(infos[1]["friendInfo"]["remark"], "buddy");

    // Deleting is one-way: u2 keeps u1.
    h.post(
        "/friend/delete_friend",
        Some(&u1),
        json!({"ownerUserID": "u1", "friendUserID": "u2"}),
    )
    .await
    .expect_empty_ok();
    assert!(!friend_ids(&h, &u1, "u1").await.contains(&"u2".to_string()));
    assert_eq!(friend_ids(&h, &u2, "u2").await, ["u1"]);
    let is = h
        .post(
            "/friend/is_friend",
            Some(&u2),
            json!({"userID1": "u1", "userID2": "u2"}),
        )
        .await
        .expect(0);
    assert_eq!(is, json!({"inUser1Friends": false, "inUser2Friends": true}));
    // u1 may apply again, since the friendship is no longer mutual.
    h.post(
        "/friend/add_friend",
        Some(&u1),
        json!({"fromUserID": "u1", "toUserID": "u2"}),
    )
    .await
    .expect_empty_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_state_answers() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let cases = [
        (
            "/friend/get_friend_list",
            json!({"userID": "u1", "pagination": page()}),
            json!({"friendsInfo": [], "total": 0}),
        ),
        (
            "/friend/get_designated_friends",
            json!({"ownerUserID": "u1", "friendUserIDs": ["u2"]}),
            json!({"friendsInfo": []}),
        ),
        (
            "/friend/get_black_list",
            json!({"userID": "u1", "pagination": page()}),
            json!({"blacks": [], "total": 0}),
        ),
        (
            "/friend/get_specified_blacks",
            json!({"ownerUserID": "u1", "userIDList": ["u2"]}),
            json!({"blacks": [], "total": 0}),
        ),
        (
            "/friend/get_self_unhandled_apply_count",
            json!({"userID": "u1", "time": 0}),
            json!({"count": 0}),
        ),
        (
            "/friend/get_friend_apply_list",
            json!({"userID": "u1", "pagination": page()}),
            json!({"FriendRequests": [], "total": 0}),
        ),
        (
            "/friend/get_self_friend_apply_list",
            json!({"userID": "u1", "pagination": page()}),
            json!({"friendRequests": [], "total": 0}),
        ),
        (
            "/friend/get_designated_friend_apply",
            json!({"fromUserID": "u1", "toUserID": "u2"}),
            json!({"friendRequests": []}),
        ),
        (
            "/friend/get_friend_id",
            json!({"userID": "u1"}),
            json!({"friendIDs": []}),
        ),
    ];
    for (route, body, expected) in cases {
        assert_eq!(
            h.post(route, Some(&u1), body.clone()).await.expect(0),
            expected,
            "{route}"
        );
        h.admin(route, body).await.expect(0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_users_are_refused() {
    let h = Harness::start().await;
    h.register(&["u1", "u3"]).await;
    let u2 = h.user("u2").await;
    let cases = [
        (
            "/friend/add_friend",
            json!({"fromUserID": "u1", "toUserID": "u2"}),
        ),
        (
            "/friend/add_friend_response",
            json!({"fromUserID": "u2", "toUserID": "u1", "handleResult": 1}),
        ),
        (
            "/friend/delete_friend",
            json!({"ownerUserID": "u1", "friendUserID": "u2"}),
        ),
        (
            "/friend/update_friends",
            json!({"ownerUserID": "u1", "friendUserIDs": ["u2"], "remark": "r"}),
        ),
        (
            "/friend/import_friend",
            json!({"ownerUserID": "u2", "friendUserIDs": ["u1"]}),
        ),
        (
            "/friend/add_black",
            json!({"ownerUserID": "u1", "blackUserID": "u2"}),
        ),
        (
            "/friend/remove_black",
            json!({"ownerUserID": "u1", "blackUserID": "u2"}),
        ),
        (
            "/friend/get_friend_list",
            json!({"userID": "u1", "pagination": page()}),
        ),
        (
            "/friend/get_designated_friends",
            json!({"ownerUserID": "u1", "friendUserIDs": ["u2"]}),
        ),
        (
            "/friend/get_black_list",
            json!({"userID": "u1", "pagination": page()}),
        ),
        (
            "/friend/get_specified_blacks",
            json!({"ownerUserID": "u1", "userIDList": ["u2"]}),
        ),
        (
            "/friend/get_self_unhandled_apply_count",
            json!({"userID": "u1", "time": 0}),
        ),
        (
            "/friend/get_friend_apply_list",
            json!({"userID": "u1", "pagination": page()}),
        ),
        (
            "/friend/get_self_friend_apply_list",
            json!({"userID": "u1", "pagination": page()}),
        ),
        (
            "/friend/get_designated_friend_apply",
            json!({"fromUserID": "u1", "toUserID": "u3"}),
        ),
        (
            "/friend/is_friend",
            json!({"userID1": "u1", "userID2": "u3"}),
        ),
        ("/friend/get_friend_id", json!({"userID": "u1"})),
        (
            "/friend/get_specified_friends_info",
            json!({"ownerUserID": "u1", "userIDList": ["u2"]}),
        ),
        (
            "/friend/get_incremental_friends",
            json!({"userID": "u1", "versionID": "", "version": 0}),
        ),
        (
            "/friend/get_incremental_blacks",
            json!({"userID": "u1", "versionID": "", "version": 0}),
        ),
        (
            "/friend/get_full_friend_user_ids",
            json!({"userID": "u1", "idHash": 0}),
        ),
    ];
    for (route, body) in cases {
        let r = h.post(route, Some(&u2), body.clone()).await;
        assert_eq!(r.code(), 1002, "{route} {body}: {}", r.json);
        r.expect(1002);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_are_checked() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let bad = [
        (
            "/friend/add_friend",
            json!({"fromUserID": "u1", "toUserID": ""}),
        ),
        (
            "/friend/add_friend",
            json!({"fromUserID": "", "toUserID": "u2"}),
        ),
        (
            "/friend/add_friend_response",
            json!({"fromUserID": "", "toUserID": "u1", "handleResult": 1}),
        ),
        (
            "/friend/delete_friend",
            json!({"ownerUserID": "u1", "friendUserID": ""}),
        ),
        (
            "/friend/set_friend_remark",
            json!({"ownerUserID": "u1", "friendUserID": ""}),
        ),
        (
            "/friend/add_black",
            json!({"ownerUserID": "u1", "blackUserID": ""}),
        ),
        (
            "/friend/remove_black",
            json!({"ownerUserID": "", "blackUserID": "u2"}),
        ),
        ("/friend/is_friend", json!({"userID1": "u1", "userID2": ""})),
        ("/friend/get_friend_id", json!({"userID": ""})),
        (
            "/friend/get_specified_friends_info",
            json!({"ownerUserID": "u1", "userIDList": []}),
        ),
        (
            "/friend/get_specified_friends_info",
            json!({"ownerUserID": "u1", "userIDList": ["a", "a"]}),
        ),
        (
            "/friend/get_specified_blacks",
            json!({"ownerUserID": "u1", "userIDList": []}),
        ),
        (
            "/friend/get_designated_friends",
            json!({"ownerUserID": "u1", "friendUserIDs": []}),
        ),
        ("/friend/get_designated_friends", json!({"ownerUserID": ""})),
        ("/friend/get_incremental_friends", json!({"userID": ""})),
        ("/friend/get_incremental_blacks", json!({"userID": ""})),
        ("/friend/get_full_friend_user_ids", json!({"userID": ""})),
        ("/friend/get_friend_list", json!({"userID": "u1"})),
        (
            "/friend/get_friend_list",
            json!({"userID": "u1", "pagination": {"pageNumber": 0, "showNumber": 1}}),
        ),
        (
            "/friend/get_friend_list",
            json!({"userID": "u1", "pagination": "x"}),
        ),
        ("/friend/get_black_list", json!({"userID": "u1"})),
        (
            "/friend/get_self_unhandled_apply_count",
            json!({"userID": ""}),
        ),
        ("/friend/get_friend_apply_list", json!({"userID": "u1"})),
        ("/friend/get_self_friend_apply_list", json!({"userID": ""})),
        (
            "/friend/get_designated_friend_apply",
            json!({"fromUserID": "u1", "toUserID": ""}),
        ),
    ];
    for (route, body) in bad {
        let r = h.post(route, Some(&u1), body.clone()).await;
        assert_eq!(r.code(), 1001, "{route} {body}: {}", r.json);
        r.expect(1001);
    }
}
