//! `/user/*` and the user cache the send path uses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| u["userID"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_register_rules() {
    let h = Harness::start().await;
    let r = h
        .admin(
            "/user/user_register",
            json!({"users": [{"userID": "u1", "nickname": "One", "faceURL": "f", "ex": "e"}]}),
        )
        .await;
    r.expect_empty_ok();
    let u1 = h.user_token("u1", 2).await;
    let one = |id: &str, nick: &str| json!({"users": [{"userID": id, "nickname": nick}]});

    h.post("/user/user_register", Some(&u1), one("u2", "Two"))
        .await
        .expect(1002);
    h.admin("/user/user_register", one("u1", "Again"))
        .await
        .expect(1102);
    h.admin(
        "/user/user_register",
        json!({"users": [{"userID": "u3", "nickname": "a"}, {"userID": "u3", "nickname": "b"}]}),
    )
    .await
    .expect(1001);
    h.admin("/user/user_register", one("", "x"))
        .await
        .expect(1001);
    h.admin("/user/user_register", one("a:b", "x"))
        .await
        .expect(1001);
    h.admin("/user/user_register", one("u4", ""))
        .await
        .expect(1001);
    h.admin("/user/user_register", json!({"users": []}))
        .await
        .expect(1001);
    h.admin("/user/user_register", json!({"users": "u5"}))
        .await
        .expect(1001);
    // A batch with one taken id registers nobody.
    h.admin(
        "/user/user_register",
        json!({"users": [{"userID": "u6", "nickname": "6"}, {"userID": "u1", "nickname": "1"}]}),
    )
    .await
    .expect(1102);
    let data = h
        .admin("/user/account_check", json!({"checkUserIDs": ["u6"]}))
        .await
        .expect(0);
    assert_eq!(data["results"][0]["accountStatus"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_users_info_returns_users_info_and_drops_unknown_ids() {
    let h = Harness::start().await;
    h.admin(
        "/user/user_register",
        json!({"users": [{"userID": "u1", "nickname": "One", "faceURL": "http://f", "ex": "x"}]}),
    )
    .await
    .expect(0);
    let u2 = h.user("u2").await;
    let data = h
        .post(
            "/user/get_users_info",
            Some(&u2),
            json!({"userIDs": ["u2", "ghost", "u1", "u2"]}),
        )
        .await
        .expect(0);
    assert_eq!(ids(&data["usersInfo"]), vec!["u2", "u1"]);
    let u1 = &data["usersInfo"][1];
    assert_eq!(u1["nickname"], "One");
    assert_eq!(u1["faceURL"], "http://f");
    assert_eq!(u1["ex"], "x");
    assert_eq!(u1["appMangerLevel"], 0);
    assert_eq!(u1["globalRecvMsgOpt"], 0);
    let created = u1["createTime"].as_i64().unwrap();
    assert!((created - rill_core::now_ms()).abs() < 60_000, "{created}");

    let data = h
        .post(
            "/user/get_users_info",
            Some(&u2),
            json!({"userIDs": ["ghost"]}),
        )
        .await
        .expect(0);
    assert_eq!(data["usersInfo"], json!([]));
    h.post("/user/get_users_info", Some(&u2), json!({"userIDs": [1]}))
        .await
        .expect(1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_user_info_ignores_empty_fields_and_checks_access() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let u2 = h.user("u2").await;
    h.post(
        "/user/update_user_info",
        Some(&u1),
        json!({"userInfo": {"userID": "u1", "nickname": "New", "faceURL": ""}}),
    )
    .await
    .expect_empty_ok();
    let data = h
        .admin("/user/get_users_info", json!({"userIDs": ["u1"]}))
        .await
        .expect(0);
    assert_eq!(data["usersInfo"][0]["nickname"], "New");

    h.post(
        "/user/update_user_info",
        Some(&u2),
        json!({"userInfo": {"userID": "u1", "nickname": "Hack"}}),
    )
    .await
    .expect(1002);
    h.admin(
        "/user/update_user_info",
        json!({"userInfo": {"userID": "ghost", "nickname": "x"}}),
    )
    .await
    .expect(1004);
    h.post("/user/update_user_info", Some(&u1), json!({}))
        .await
        .expect(1001);
    h.post(
        "/user/update_user_info",
        Some(&u1),
        json!({"userInfo": {"userID": ""}}),
    )
    .await
    .expect(1001);
    h.post_raw("/user/update_user_info", Some(&u1), Some("op"), "{")
        .await
        .expect(1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_user_info_ex_sets_given_wrappers_even_when_empty() {
    let h = Harness::start().await;
    h.admin(
        "/user/user_register",
        json!({"users": [{"userID": "u1", "nickname": "One", "faceURL": "f", "ex": "e"}]}),
    )
    .await
    .expect(0);
    let u1 = h.user_token("u1", 2).await;
    let u2 = h.user("u2").await;
    h.post(
        "/user/update_user_info_ex",
        Some(&u1),
        json!({"userInfo": {"userID": "u1", "nickname": "Neo", "faceURL": "", "ex": null, "globalRecvMsgOpt": 2}}),
    )
    .await
    .expect_empty_ok();
    let user = h
        .admin("/user/get_users_info", json!({"userIDs": ["u1"]}))
        .await
        .expect(0)["usersInfo"][0]
        .clone();
    assert_eq!(
        (
            user["nickname"].as_str(),
            user["faceURL"].as_str(),
            user["ex"].as_str()
        ),
        (Some("Neo"), Some(""), Some("e"))
    );
    assert_eq!(user["globalRecvMsgOpt"], 2);

    h.post(
        "/user/update_user_info_ex",
        Some(&u2),
        json!({"userInfo": {"userID": "u1", "nickname": "x"}}),
    )
    .await
    .expect(1002);
    h.admin(
        "/user/update_user_info_ex",
        json!({"userInfo": {"userID": "ghost", "nickname": "x"}}),
    )
    .await
    .expect(1004);
    h.post(
        "/user/update_user_info_ex",
        Some(&u1),
        json!({"userInfo": {"userID": "u1", "globalRecvMsgOpt": 7}}),
    )
    .await
    .expect(1001);
    h.post("/user/update_user_info_ex", Some(&u1), json!({}))
        .await
        .expect(1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_global_msg_recv_opt_rules() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    h.post(
        "/user/set_global_msg_recv_opt",
        Some(&u1),
        json!({"userID": "u1", "globalRecvMsgOpt": 1}),
    )
    .await
    .expect_empty_ok();
    let brief = h.app.user_brief("u1").await.unwrap().unwrap();
    assert_eq!(brief.global_recv_msg_opt, 1);
    h.post(
        "/user/set_global_msg_recv_opt",
        Some(&u1),
        json!({"userID": "u1", "globalRecvMsgOpt": 3}),
    )
    .await
    .expect(1001);
    h.post(
        "/user/set_global_msg_recv_opt",
        Some(&u1),
        json!({"userID": "u2", "globalRecvMsgOpt": 1}),
    )
    .await
    .expect(1002);
    h.admin(
        "/user/set_global_msg_recv_opt",
        json!({"userID": "ghost", "globalRecvMsgOpt": 1}),
    )
    .await
    .expect(1004);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_users_pages_ordinary_users_and_filters() {
    let h = Harness::start().await;
    h.admin(
        "/user/user_register",
        json!({"users": [
            {"userID": "alice", "nickname": "Alice"},
            {"userID": "bob", "nickname": "Bobby"},
            {"userID": "carol", "nickname": "Caro.l"}
        ]}),
    )
    .await
    .expect(0);
    let page = |n: i32, s: i32| json!({"pagination": {"pageNumber": n, "showNumber": s}});
    let data = h.admin("/user/get_users", page(1, 2)).await.expect(0);
    // The admin (appMangerLevel 2) is not an ordinary user.
    assert_eq!(data["total"], 3);
    assert_eq!(data["users"].as_array().unwrap().len(), 2);
    let data2 = h.admin("/user/get_users", page(2, 2)).await.expect(0);
    let mut all = ids(&data["users"]);
    all.extend(ids(&data2["users"]));
    all.sort();
    assert_eq!(all, vec!["alice", "bob", "carol"]);
    let data = h.admin("/user/get_users", page(3, 2)).await.expect(0);
    assert_eq!(data["users"], json!([]));

    let data = h
        .admin(
            "/user/get_users",
            json!({"pagination": {"pageNumber": 1, "showNumber": 10}, "nickName": "BOB"}),
        )
        .await
        .expect(0);
    assert_eq!(ids(&data["users"]), vec!["bob"]);
    // Keywords are literal, not patterns.
    let data = h
        .admin(
            "/user/get_users",
            json!({"pagination": {"pageNumber": 1, "showNumber": 10}, "nickName": "o.l"}),
        )
        .await
        .expect(0);
    assert_eq!(ids(&data["users"]), vec!["carol"]);
    let data = h
        .admin(
            "/user/get_users",
            json!({"pagination": {"pageNumber": 1, "showNumber": 10}, "userID": "ali"}),
        )
        .await
        .expect(0);
    assert_eq!(ids(&data["users"]), vec!["alice"]);

    h.admin("/user/get_users", json!({})).await.expect(1001);
    h.admin("/user/get_users", page(0, 10)).await.expect(1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_all_users_uid_includes_admins() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let data = h
        .post(
            "/user/get_all_users_uid",
            Some(&u1),
            json!({"pagination": {"pageNumber": 1, "showNumber": 10}}),
        )
        .await
        .expect(0);
    assert_eq!(data["total"], 2);
    let mut got: Vec<String> = data["userIDs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, vec![ADMIN, "u1"]);
    h.post("/user/get_all_users_uid", Some(&u1), json!({}))
        .await
        .expect(1001);
    h.post(
        "/user/get_all_users_uid",
        Some(&u1),
        json!({"pagination": {"pageNumber": 0, "showNumber": 1}}),
    )
    .await
    .expect(1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_check_rules() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let data = h
        .admin(
            "/user/account_check",
            json!({"checkUserIDs": ["ghost", "u1"]}),
        )
        .await
        .expect(0);
    assert_eq!(
        data,
        json!({"results": [{"userID": "ghost", "accountStatus": 0}, {"userID": "u1", "accountStatus": 1}]})
    );
    h.post(
        "/user/account_check",
        Some(&u1),
        json!({"checkUserIDs": ["u1"]}),
    )
    .await
    .expect(1002);
    h.admin("/user/account_check", json!({"checkUserIDs": ["u1", "u1"]}))
        .await
        .expect(1001);
    h.admin("/user/account_check", json!({"checkUserIDs": "u1"}))
        .await
        .expect(1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_users_online_status_is_a_bare_array_from_presence() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    h.register(&["u2"]).await;
    let keys = h.app.log().keys().clone();
    let mut conn = h.redis.conn().await.unwrap();
    rill_log::presence::heartbeat(&mut conn, &keys, "g1")
        .await
        .unwrap();
    let p = rill_log::presence::Presence {
        gateway_id: "g1".into(),
        conn_id: "g1-7".into(),
        platform_id: 2,
        token: u1.clone(),
        background: true,
    };
    rill_log::presence::register(&mut conn, &keys, "u1", &p)
        .await
        .unwrap();

    let data = h
        .admin(
            "/user/get_users_online_status",
            json!({"userIDs": ["u1", "u2"]}),
        )
        .await
        .expect(0);
    assert_eq!(data[0]["userID"], "u1");
    assert_eq!(data[0]["status"], 1);
    assert_eq!(
        data[0]["detailPlatformStatus"],
        json!([{"platformID": 2, "connID": "g1-7", "isBackground": true, "token": u1}])
    );
    assert_eq!(data[1]["userID"], "u2");
    assert_eq!(data[1]["status"], 0);
    assert!(
        data[1]["detailPlatformStatus"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );

    h.post(
        "/user/get_users_online_status",
        Some(&u1),
        json!({"userIDs": ["u1"]}),
    )
    .await
    .expect(1002);
    h.admin("/user/get_users_online_status", json!({"userIDs": 5}))
        .await
        .expect(1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_config_and_user_commands_are_empty_but_checked() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let data = h
        .post(
            "/user/get_user_client_config",
            Some(&u1),
            json!({"userID": "u1"}),
        )
        .await
        .expect(0);
    // OpenIM omits the empty `configs` map.
    assert_eq!(data, json!({}));
    h.post(
        "/user/get_user_client_config",
        Some(&u1),
        json!({"userID": "u2"}),
    )
    .await
    .expect(1002);

    let data = h
        .post(
            "/user/process_user_command_get_all",
            Some(&u1),
            json!({"userID": "u1"}),
        )
        .await
        .expect(0);
    assert_eq!(data, json!({"CommandResp": []}));
    let data = h
        .post(
            "/user/process_user_command_get",
            Some(&u1),
            json!({"userID": "u1", "type": 1}),
        )
        .await
        .expect(0);
    assert_eq!(data, json!({"CommandResp": []}));
    h.post(
        "/user/process_user_command_get_all",
        Some(&u1),
        json!({"userID": "u2"}),
    )
    .await
    .expect(1002);
    h.post(
        "/user/process_user_command_get_all",
        Some(&u1),
        json!({"userID": ""}),
    )
    .await
    .expect(1001);
    h.post(
        "/user/process_user_command_get",
        Some(&u1),
        json!({"userID": ""}),
    )
    .await
    .expect(1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_cache_follows_registration_and_updates() {
    let h = Harness::start().await;
    // Unknown, and remembered as unknown...
    assert!(!h.app.user_exists("u1").await.unwrap());
    assert!(!h.app.user_exists("u1").await.unwrap());
    // ...until registration, which clears the negative entry.
    h.register(&["u1"]).await;
    assert!(h.app.user_exists("u1").await.unwrap());
    let brief = h.app.user_brief("u1").await.unwrap().unwrap();
    assert_eq!((brief.nickname.as_str(), brief.app_manger_level), ("u1", 0));
    // Served from Redis now: a change behind the cache's back is not seen...
    let db = h.app.store().database().clone();
    let patch = rill_store::users::UserPatch {
        nickname: Some("sneaky".into()),
        ..Default::default()
    };
    rill_store::users::update(&db, "u1", &patch).await.unwrap();
    assert_eq!(
        h.app.user_brief("u1").await.unwrap().unwrap().nickname,
        "u1"
    );
    // ...but an update through the API invalidates it.
    h.admin(
        "/user/update_user_info_ex",
        json!({"userInfo": {"userID": "u1", "faceURL": "http://face"}}),
    )
    .await
    .expect(0);
    let brief = h.app.user_brief("u1").await.unwrap().unwrap();
    assert_eq!(
        (brief.nickname.as_str(), brief.face_url.as_str()),
        ("sneaky", "http://face")
    );
    // Many at once; unknown users are absent.
    let many = h
        .app
        .user_briefs(&["u1".into(), "ghost".into(), ADMIN.into()])
        .await
        .unwrap();
    assert_eq!(many.len(), 2);
    assert_eq!(many[ADMIN].app_manger_level, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_status_comes_from_presence_and_subscriptions_are_empty() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let keys = h.app.log().keys().clone();
    let mut conn = h.redis.conn().await.unwrap();
    rill_log::presence::heartbeat(&mut conn, &keys, "g1")
        .await
        .unwrap();
    for (conn_id, platform) in [("g1-a", 5), ("g1-b", 2), ("g1-c", 5)] {
        let p = rill_log::presence::Presence {
            gateway_id: "g1".into(),
            conn_id: conn_id.into(),
            platform_id: platform,
            token: "t".into(),
            background: false,
        };
        rill_log::presence::register(&mut conn, &keys, "u1", &p)
            .await
            .unwrap();
    }
    let data = h
        .post(
            "/user/get_users_status",
            Some(&u1),
            json!({"userID": "u1", "userIDs": ["u1", "u2"]}),
        )
        .await
        .expect(0);
    assert_eq!(
        data,
        json!({"statusList": [
            {"userID": "u1", "status": 1, "platformIDs": [2, 5]},
            {"userID": "u2", "status": 0, "platformIDs": []}
        ]})
    );
    h.post("/user/get_users_status", Some(&u1), json!({"userIDs": []}))
        .await
        .expect(1001);

    let data = h
        .post(
            "/user/subscribe_users_status",
            Some(&u1),
            json!({"userID": "u1", "userIDs": ["u2"], "genre": 1}),
        )
        .await
        .expect(0);
    assert_eq!(data, json!({"statusList": []}));
    h.post(
        "/user/subscribe_users_status",
        Some(&u1),
        json!({"userID": "u1", "userIDs": ["u2"], "genre": 3}),
    )
    .await
    .expect(1001);
    h.post(
        "/user/subscribe_users_status",
        Some(&u1),
        json!({"userID": "u2", "userIDs": ["u1"], "genre": 1}),
    )
    .await
    .expect(1002);
    let data = h
        .post(
            "/user/get_subscribe_users_status",
            Some(&u1),
            json!({"userID": "u1"}),
        )
        .await
        .expect(0);
    assert_eq!(data, json!({"statusList": []}));
    h.post(
        "/user/get_subscribe_users_status",
        Some(&u1),
        json!({"userID": "u2"}),
    )
    .await
    .expect(1002);
    h.post(
        "/user/get_subscribe_users_status",
        Some(&u1),
        json!({"userID": ""}),
    )
    .await
    .expect(1001);
}
