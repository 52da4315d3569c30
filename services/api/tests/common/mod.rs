//! Shared harness of the API's router tests: a real redis-server and the Mongo-wire server,
//! the router driven without sockets (`tower::ServiceExt::oneshot`), and token forgery for
//! the error paths.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use rill_app::tokens::{self, JwtClaims};
use rill_app::{App, AppConfig};
use rill_log::{Log, Topology};
use rill_store::Store;
use rill_testkit::{MongoServer, RedisServer, unique_name};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const SECRET: &str = "openIM123";
pub const ADMIN: &str = "imAdmin";

pub struct Harness {
    pub redis: RedisServer,
    pub app: App,
    pub router: Router,
    pub admin_token: String,
}

/// What came back: HTTP status, headers and the body parsed as JSON (Null when not JSON).
pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub raw: Vec<u8>,
    pub json: Value,
}

impl Resp {
    pub fn code(&self) -> i64 {
        self.json["errCode"].as_i64().unwrap_or(-1)
    }

    /// Asserts the OpenIM envelope with `code`: HTTP 200, all three head keys, and for errors
    /// no `data`. Returns `data` (Null when absent).
    #[track_caller]
    pub fn expect(&self, code: i64) -> Value {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "HTTP status; body {}",
            self.json
        );
        let obj = self
            .json
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {:?}", String::from_utf8_lossy(&self.raw)));
        assert!(
            obj.contains_key("errMsg") && obj.contains_key("errDlt"),
            "{}",
            self.json
        );
        assert_eq!(self.code(), code, "errCode; body {}", self.json);
        if code != 0 {
            assert!(
                !obj.contains_key("data"),
                "an error carries no data: {}",
                self.json
            );
            assert_ne!(self.json["errMsg"], "", "{}", self.json);
        } else {
            assert_eq!(self.json["errMsg"], "");
        }
        self.json.get("data").cloned().unwrap_or(Value::Null)
    }

    /// Asserts an empty success: exactly `{errCode:0, errMsg:"", errDlt:""}`.
    #[track_caller]
    pub fn expect_empty_ok(&self) {
        assert_eq!(self.status, StatusCode::OK);
        assert_eq!(self.json, json!({"errCode": 0, "errMsg": "", "errDlt": ""}));
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Self::with_config(AppConfig::default()).await
    }

    pub async fn with_config(config: AppConfig) -> Harness {
        let redis = RedisServer::start().await.expect("redis");
        let mongo = MongoServer::shared().await.expect("mongo");
        let log = Log::connect(redis.client(), Topology::default())
            .await
            .expect("log");
        let store = Store::connect(&mongo.uri(), &unique_name("api"))
            .await
            .expect("store");
        store.ensure_indexes().await.expect("indexes");
        let app = App::new(config, log, store);
        let router = rill_api::router(app.clone(), &rill_api::Config::default());
        let mut h = Harness {
            redis,
            app,
            router,
            admin_token: String::new(),
        };
        let data = h
            .post(
                "/auth/get_admin_token",
                None,
                json!({"secret": SECRET, "userID": ADMIN}),
            )
            .await
            .expect(0);
        h.admin_token = data["token"].as_str().expect("admin token").to_string();
        h
    }

    /// Sends a request through the router.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let raw = to_bytes(resp.into_body(), 1 << 24)
            .await
            .expect("body")
            .to_vec();
        let json = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            raw,
            json,
        }
    }

    /// POST with `operationID` and (when given) `token` headers and a JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.post_raw(path, token, Some("op-1"), body.to_string())
            .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        operation_id: Option<&str>,
        body: impl Into<Body>,
    ) -> Resp {
        let mut b = Request::post(path).header("content-type", "application/json");
        if let Some(t) = token {
            b = b.header("token", t);
        }
        if let Some(op) = operation_id {
            b = b.header("operationID", op);
        }
        self.send(b.body(body.into()).expect("request")).await
    }

    /// POST as the admin.
    pub async fn admin(&self, path: &str, body: Value) -> Resp {
        self.post(path, Some(&self.admin_token.clone()), body).await
    }

    /// Registers users (nickname = id) as the admin.
    pub async fn register(&self, ids: &[&str]) {
        let users: Vec<Value> = ids
            .iter()
            .map(|id| json!({"userID": id, "nickname": id}))
            .collect();
        self.admin("/user/user_register", json!({ "users": users }))
            .await
            .expect(0);
    }

    /// A user token for `user_id` on `platform_id`.
    pub async fn user_token(&self, user_id: &str, platform_id: i32) -> String {
        let data = self
            .admin(
                "/auth/get_user_token",
                json!({"userID": user_id, "platformID": platform_id}),
            )
            .await
            .expect(0);
        data["token"].as_str().expect("token").to_string()
    }

    /// `n` single-chat texts `m0`, `m1`, … from `from` to `to`, sent by the admin.
    pub async fn send_texts(&self, from: &str, to: &str, n: usize) {
        for i in 0..n {
            self.admin(
                "/msg/send_msg",
                json!({"sendID": from, "recvID": to, "senderPlatformID": 1,
                       "content": {"content": format!("m{i}")}, "contentType": 101, "sessionType": 1}),
            )
            .await
            .expect(0);
        }
    }

    /// The messages `user` pulls for seqs 1..=100 of `conv`.
    pub async fn pull(&self, token: &str, user: &str, conv: &str) -> Vec<Value> {
        let data = self
            .post(
                "/msg/pull_msg_by_seq",
                Some(token),
                json!({"userID": user, "seqRanges": [{"conversationID": conv, "begin": 1, "end": 100, "num": 100}], "order": 0}),
            )
            .await
            .expect(0);
        data["msgs"][conv]["Msgs"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Registers `user_id` and returns a token for it on Android.
    pub async fn user(&self, user_id: &str) -> String {
        self.register(&[user_id]).await;
        self.user_token(user_id, 2).await
    }
}

/// A correctly signed token that was never recorded (1507).
pub fn unrecorded_token(user_id: &str, platform_id: i32) -> String {
    tokens::sign(SECRET, &tokens::new_claims(user_id, platform_id, 1)).expect("sign")
}

/// A token whose `exp` has passed (1501).
pub fn expired_token(user_id: &str, platform_id: i32) -> String {
    let claims = JwtClaims {
        exp: tokens::now_secs() - 60,
        ..tokens::new_claims(user_id, platform_id, 1)
    };
    tokens::sign(SECRET, &claims).expect("sign")
}

/// A token signed with another secret (1505).
pub fn foreign_token(user_id: &str, platform_id: i32) -> String {
    tokens::sign(
        "not-the-secret",
        &tokens::new_claims(user_id, platform_id, 1),
    )
    .expect("sign")
}

/// Not a JWT at all (1503).
pub const MALFORMED_TOKEN: &str = "this-is-not-a-jwt";
