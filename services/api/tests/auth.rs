//! `/auth/*`: admin and user tokens, parse_token, force_logout, and the token table rules
//! (protocol.md §1.4, §2.5, §2.6).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rill_app::AppConfig;
use rill_core::ErrCode;
use serde_json::json;

fn now() -> i64 {
    rill_app::tokens::now_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_admin_token_checks_secret_and_admin_list() {
    let h = Harness::start().await;
    let data = h
        .post(
            "/auth/get_admin_token",
            None,
            json!({"secret": SECRET, "userID": ADMIN}),
        )
        .await
        .expect(0);
    assert_eq!(data["expireTimeSeconds"], 90 * 86_400);
    let token = data["token"].as_str().unwrap();
    // The admin user exists implicitly, with OpenIM's appMangerLevel 2.
    let info = h
        .post(
            "/user/get_users_info",
            Some(token),
            json!({"userIDs": [ADMIN]}),
        )
        .await
        .expect(0);
    assert_eq!(info["usersInfo"][0]["appMangerLevel"], 2);
    assert_eq!(info["usersInfo"][0]["nickname"], "superAdmin");

    h.post(
        "/auth/get_admin_token",
        None,
        json!({"secret": "wrong", "userID": ADMIN}),
    )
    .await
    .expect(1002);
    h.post(
        "/auth/get_admin_token",
        None,
        json!({"secret": SECRET, "userID": "u1"}),
    )
    .await
    .expect(1001);
    h.post(
        "/auth/get_admin_token",
        None,
        json!({"secret": SECRET, "userID": ""}),
    )
    .await
    .expect(1001);
    h.post_raw("/auth/get_admin_token", None, Some("op"), "{bad")
        .await
        .expect(1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_tokens_are_platform_10_and_a_replaced_one_stays_usable_for_a_while() {
    let h = Harness::start().await;
    let first = h.admin_token.clone();
    let parsed = h
        .post("/auth/parse_token", None, json!({"token": first}))
        .await
        .expect(0);
    assert_eq!(parsed["userID"], ADMIN);
    assert_eq!(parsed["platformID"], 10);
    // NOTE (OpenIM quirk): the absolute expiry, not a duration.
    let exp = parsed["expireTimeSeconds"].as_i64().unwrap();
    assert!((exp - (now() + 90 * 86_400)).abs() < 60, "{exp}");

    let second = h
        .post(
            "/auth/get_admin_token",
            None,
            json!({"secret": SECRET, "userID": ADMIN}),
        )
        .await
        .expect(0);
    let second = second["token"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    // OpenIM keeps the previous admin token as a 5-minute "temporary" token.
    h.post("/user/get_users_info", Some(&first), json!({"userIDs": []}))
        .await
        .expect(0);
    h.post(
        "/user/get_users_info",
        Some(&second),
        json!({"userIDs": []}),
    )
    .await
    .expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_user_token_rules() {
    let h = Harness::start().await;
    h.register(&["u1", "u2"]).await;
    let data = h
        .admin(
            "/auth/get_user_token",
            json!({"userID": "u1", "platformID": 2}),
        )
        .await
        .expect(0);
    assert_eq!(data["expireTimeSeconds"], 90 * 86_400);
    let u1 = data["token"].as_str().unwrap().to_string();
    let parsed = h
        .post("/auth/parse_token", None, json!({"token": u1}))
        .await
        .expect(0);
    assert_eq!(
        parsed,
        json!({"userID": "u1", "platformID": 2, "expireTimeSeconds": parsed["expireTimeSeconds"]})
    );

    // Only admins may ask.
    h.post(
        "/auth/get_user_token",
        Some(&u1),
        json!({"userID": "u2", "platformID": 2}),
    )
    .await
    .expect(1002);
    // Not the admin platform, not for an admin, not for an unknown user.
    h.admin(
        "/auth/get_user_token",
        json!({"userID": "u1", "platformID": 10}),
    )
    .await
    .expect(1002);
    h.admin(
        "/auth/get_user_token",
        json!({"userID": ADMIN, "platformID": 2}),
    )
    .await
    .expect(1002);
    h.admin(
        "/auth/get_user_token",
        json!({"userID": "ghost", "platformID": 2}),
    )
    .await
    .expect(1004);
    // Bad arguments.
    h.admin(
        "/auth/get_user_token",
        json!({"userID": "u1", "platformID": 0}),
    )
    .await
    .expect(1001);
    h.admin(
        "/auth/get_user_token",
        json!({"userID": "u1", "platformID": 12}),
    )
    .await
    .expect(1001);
    h.admin(
        "/auth/get_user_token",
        json!({"userID": "", "platformID": 2}),
    )
    .await
    .expect(1001);
    h.admin(
        "/auth/get_user_token",
        json!({"userID": "u1", "platformID": "x"}),
    )
    .await
    .expect(1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_accounts_cannot_get_tokens() {
    let h = Harness::start().await;
    h.admin(
        "/user/user_register",
        json!({"users": [{"userID": "oa", "nickname": "OA", "appMangerLevel": 3}]}),
    )
    .await
    .expect(0);
    h.admin(
        "/auth/get_user_token",
        json!({"userID": "oa", "platformID": 2}),
    )
    .await
    .expect(1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_policy_kicks_the_previous_token_of_the_same_platform_only() {
    let h = Harness::start().await;
    let android1 = h.user("u1").await;
    let ios = h.user_token("u1", 1).await;
    let android2 = h.user_token("u1", 2).await;
    let probe = |t: String| {
        let h = &h;
        async move {
            h.post("/user/get_users_info", Some(&t), json!({"userIDs": ["u1"]}))
                .await
                .code()
        }
    };
    assert_eq!(probe(android1.clone()).await, 1506);
    assert_eq!(probe(android2).await, 0);
    assert_eq!(probe(ios).await, 0);
    let r = h
        .post("/auth/parse_token", None, json!({"token": android1}))
        .await;
    r.expect(1506);
    assert_eq!(r.json["errMsg"], "TokenKickedError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_0_keeps_up_to_max_num_one_end_tokens_per_platform() {
    let config = AppConfig {
        multi_login_policy: 0,
        max_num_one_end: 2,
        ..AppConfig::default()
    };
    let h = Harness::with_config(config).await;
    let t1 = h.user("u1").await;
    let t2 = h.user_token("u1", 2).await;
    // Two tokens on Android are allowed.
    for t in [&t1, &t2] {
        h.post("/user/get_users_info", Some(t), json!({"userIDs": []}))
            .await
            .expect(0);
    }
    // A third kicks one of them (the oldest; same-second tokens tie).
    let t3 = h.user_token("u1", 2).await;
    h.post("/user/get_users_info", Some(&t3), json!({"userIDs": []}))
        .await
        .expect(0);
    let codes: Vec<i64> = [
        h.post("/user/get_users_info", Some(&t1), json!({"userIDs": []}))
            .await
            .code(),
        h.post("/user/get_users_info", Some(&t2), json!({"userIDs": []}))
            .await
            .code(),
    ]
    .to_vec();
    assert_eq!(codes.iter().filter(|c| **c == 1506).count(), 1, "{codes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parse_token_reports_every_token_error() {
    let h = Harness::start().await;
    let cases = [
        (MALFORMED_TOKEN.to_string(), 1503, "TokenMalformedError"),
        (foreign_token("u1", 2), 1505, "TokenUnknownError"),
        (expired_token("u1", 2), 1501, "TokenExpiredError"),
        (unrecorded_token("u1", 2), 1507, "TokenNotExistError"),
    ];
    for (token, code, name) in cases {
        let r = h
            .post("/auth/parse_token", None, json!({"token": token}))
            .await;
        r.expect(code);
        assert_eq!(r.json["errMsg"], name);
    }
    h.post("/auth/parse_token", None, json!({"token": ""}))
        .await
        .expect(1001);
    h.post_raw("/auth/parse_token", None, Some("op"), "[")
        .await
        .expect(1001);
    // The same answers through the App API the gateway uses.
    let e = h
        .app
        .parse_token(&expired_token("u1", 2))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrCode::TokenExpired);
    let caller = h.app.caller_from_token(&h.admin_token).await.unwrap();
    assert!(caller.is_admin);
    assert_eq!((caller.user_id.as_str(), caller.platform_id), (ADMIN, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_whose_state_is_not_normal_is_unknown() {
    let h = Harness::start().await;
    let token = h.user("u1").await;
    let key = rill_app::tokens::table_key(h.app.log().keys(), "u1", rill_core::Platform::Android);
    let mut conn = h.redis.conn().await.unwrap();
    let () = redis::AsyncCommands::hset(&mut conn, &key, &token, 3)
        .await
        .unwrap();
    h.post("/auth/parse_token", None, json!({"token": token}))
        .await
        .expect(1505);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_logout_kicks_tokens_of_that_platform_and_live_connections() {
    let h = Harness::start().await;
    let android = h.user("u1").await;
    let ios = h.user_token("u1", 1).await;
    // A connection of u1 on Android held by gateway g1, as the gateway would record it.
    let keys = h.app.log().keys().clone();
    let mut conn = h.redis.conn().await.unwrap();
    rill_log::presence::heartbeat(&mut conn, &keys, "g1")
        .await
        .unwrap();
    let p = rill_log::presence::Presence {
        gateway_id: "g1".into(),
        conn_id: "g1-c1".into(),
        platform_id: 2,
        token: android.clone(),
        background: false,
    };
    rill_log::presence::register(&mut conn, &keys, "u1", &p)
        .await
        .unwrap();

    h.admin(
        "/auth/force_logout",
        json!({"userID": "u1", "platformID": 2}),
    )
    .await
    .expect_empty_ok();

    h.post(
        "/user/get_users_info",
        Some(&android),
        json!({"userIDs": []}),
    )
    .await
    .expect(1506);
    h.post("/user/get_users_info", Some(&ios), json!({"userIDs": []}))
        .await
        .expect(0);
    let batch = rill_log::delivery::read(&mut conn, &keys, "g1", "0-0", 10, 0)
        .await
        .unwrap();
    assert_eq!(
        batch.deliveries,
        vec![rill_log::delivery::Delivery::Kick {
            user_id: "u1".into(),
            platform_id: 2,
            spare_token: None
        }]
    );
    // A fresh login on the platform works again.
    let again = h.user_token("u1", 2).await;
    h.post("/user/get_users_info", Some(&again), json!({"userIDs": []}))
        .await
        .expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_logout_rules() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    h.post(
        "/auth/force_logout",
        Some(&u1),
        json!({"userID": "u1", "platformID": 2}),
    )
    .await
    .expect(1002);
    h.admin(
        "/auth/force_logout",
        json!({"userID": "u1", "platformID": 11}),
    )
    .await
    .expect(1001);
    h.admin(
        "/auth/force_logout",
        json!({"userID": "u1", "platformID": 0}),
    )
    .await
    .expect(1001);
    h.admin("/auth/force_logout", json!({"userID": "", "platformID": 2}))
        .await
        .expect(1001);
    h.post_raw("/auth/force_logout", Some(&h.admin_token), Some("op"), "{")
        .await
        .expect(1001);
    // Logging out a user with no tokens on that platform is fine.
    h.admin(
        "/auth/force_logout",
        json!({"userID": "u1", "platformID": 5}),
    )
    .await
    .expect_empty_ok();
}
