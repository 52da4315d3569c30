//! The REST conventions every route shares (protocol.md §1.1): headers, envelope, token
//! errors, 404, OPTIONS, CORS, gzip, health and metrics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::json;
use std::io::Read;

/// Every token-checked route a client can reach, with a body that would pass its checks.
const ROUTES: &[&str] = &[
    "/auth/get_user_token",
    "/auth/force_logout",
    "/user/user_register",
    "/user/update_user_info",
    "/user/update_user_info_ex",
    "/user/set_global_msg_recv_opt",
    "/user/get_users_info",
    "/user/get_all_users_uid",
    "/user/account_check",
    "/user/get_users",
    "/user/get_users_online_status",
    "/user/get_user_client_config",
    "/user/get_users_status",
    "/user/subscribe_users_status",
    "/user/get_subscribe_users_status",
    "/user/process_user_command_get",
    "/user/process_user_command_get_all",
    "/friend/get_incremental_friends",
    "/friend/get_incremental_blacks",
    "/friend/get_full_friend_user_ids",
    "/friend/get_friend_list",
    "/friend/get_designated_friends",
    "/friend/get_black_list",
    "/friend/get_specified_blacks",
    "/friend/get_self_unhandled_apply_count",
    "/friend/get_friend_apply_list",
    "/friend/get_self_friend_apply_list",
    "/friend/get_designated_friend_apply",
    "/group/get_incremental_join_groups",
    "/group/get_full_join_group_ids",
    "/group/get_joined_group_list",
    "/group/get_groups_info",
    "/group/get_incremental_group_members_batch",
    "/group/get_group_application_unhandled_count",
    "/group/get_recv_group_applicationList",
    "/group/get_user_req_group_applicationList",
    "/third/fcm_update_token",
    "/third/set_app_badge",
    "/object/part_limit",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_rejects_missing_and_bad_tokens_with_openim_codes() {
    let h = Harness::start().await;
    let good = h.user("u1").await;
    // A second login on the same platform kicks the first token.
    let kicked = good.clone();
    let _fresh = h.user_token("u1", 2).await;
    let cases: Vec<(Option<String>, i64)> = vec![
        (None, 1001),
        (Some(MALFORMED_TOKEN.to_string()), 1503),
        (Some(foreign_token("u1", 2)), 1505),
        (Some(expired_token("u1", 2)), 1501),
        (Some(unrecorded_token("u1", 2)), 1507),
        (Some(kicked), 1506),
    ];
    for route in ROUTES {
        for (token, code) in &cases {
            let r = h.post(route, token.as_deref(), json!({})).await;
            r.expect(*code);
            if token.is_none() {
                assert_eq!(r.json["errDlt"], "header must have token", "{route}");
            }
        }
        let r = h.post_raw(route, Some(&h.admin_token), None, "{}").await;
        r.expect(1001);
        assert_eq!(r.json["errDlt"], "header must have operationID", "{route}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whitelisted_routes_need_an_operation_id_but_no_token() {
    let h = Harness::start().await;
    let r = h
        .post_raw(
            "/auth/get_admin_token",
            None,
            None,
            r#"{"secret":"openIM123","userID":"imAdmin"}"#,
        )
        .await;
    r.expect(1001);
    assert_eq!(r.json["errDlt"], "header must have operationID");
    let r = h
        .post_raw(
            "/auth/parse_token",
            None,
            Some("op"),
            format!(r#"{{"token":"{}"}}"#, h.admin_token),
        )
        .await;
    assert_eq!(r.expect(0)["userID"], ADMIN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_json_is_an_args_error_in_the_envelope() {
    let h = Harness::start().await;
    for body in ["", "{", "[1,2]", r#"{"userIDs": "not-a-list"}"#, "null"] {
        let r = h
            .post_raw(
                "/user/get_users_info",
                Some(&h.admin_token),
                Some("op"),
                body,
            )
            .await;
        r.expect(1001);
        assert_eq!(r.json["errMsg"], "ArgsError");
    }
    // Unknown keys are ignored, as Go's decoder does.
    let r = h
        .admin("/user/get_users_info", json!({"userIDs": [], "extra": 1}))
        .await;
    r.expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_and_wrong_methods_are_404_and_options_is_answered_everywhere() {
    let h = Harness::start().await;
    let r = h
        .post("/nope/nothing", Some(&h.admin_token), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h
        .send(
            Request::get("/user/get_users_info")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for path in ["/user/get_users_info", "/does/not/exist"] {
        let r = h
            .send(
                Request::options(path)
                    .header("origin", "http://x")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json, json!("Options Request!"));
        assert_eq!(r.headers["access-control-allow-origin"], "*");
        assert_eq!(r.headers["access-control-allow-headers"], "*");
    }
    let r = h
        .admin("/user/get_users_info", json!({"userIDs": []}))
        .await;
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_gzipped_when_the_client_accepts_it() {
    let h = Harness::start().await;
    let req = Request::post("/user/get_users_info")
        .header("operationID", "op")
        .header("token", &h.admin_token)
        .header("accept-encoding", "gzip")
        .body(Body::from(r#"{"userIDs":["imAdmin"]}"#))
        .unwrap();
    let r = h.send(req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-encoding"], "gzip");
    let mut text = String::new();
    flate2::read::GzDecoder::new(r.raw.as_slice())
        .read_to_string(&mut text)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["data"]["usersInfo"][0]["userID"], ADMIN);
    // Without Accept-Encoding the body is plain.
    let r = h
        .admin("/user/get_users_info", json!({"userIDs": ["imAdmin"]}))
        .await;
    assert!(r.headers.get("content-encoding").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics_are_plain_gets() {
    let h = Harness::start().await;
    let r = h
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.raw, b"ok");
    h.post("/user/get_users_info", None, json!({}))
        .await
        .expect(1001);
    let r = h
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let page = String::from_utf8_lossy(&r.raw);
    assert!(page.contains("rill_api_requests_total"), "{page}");
    assert!(page.contains(r#"route="/user/get_users_info""#), "{page}");
    assert!(page.contains(r#"err_code="1001""#), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_on_a_socket_and_stops_on_cancel() {
    let h = Harness::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(rill_api::run(
        h.app.clone(),
        rill_api::Config::default(),
        listener,
        shutdown.clone(),
    ));
    // A raw HTTP/1.1 request over loopback.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("ok"), "{reply}");
    shutdown.cancel();
    let done = tokio::time::timeout(std::time::Duration::from_secs(15), server).await;
    assert!(
        matches!(done, Ok(Ok(Ok(())))),
        "server did not stop cleanly"
    );
}
