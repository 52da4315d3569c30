//! The REST calls the tool makes before clients connect (protocol.md §1): admin token, user
//! registration, user tokens, group creation. Every POST carries `operationID` and `token`.

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

static OP: AtomicU64 = AtomicU64::new(0);

/// Users per `user_register` call.
const REGISTER_BATCH: usize = 500;
/// Concurrent `get_user_token` calls.
const TOKEN_CONCURRENCY: usize = 32;

/// An OpenIM error envelope with a non-zero code.
#[derive(Debug, thiserror::Error)]
#[error("POST {path}: errCode {code} {msg} {dlt}")]
pub struct ApiError {
    pub path: String,
    pub code: i64,
    pub msg: String,
    pub dlt: String,
}

#[derive(Clone)]
pub struct Rest {
    base: String,
    http: reqwest::Client,
    admin_token: String,
}

impl Rest {
    /// Fetches the admin token with `secret` for `admin_user`.
    pub async fn connect(base: &str, secret: &str, admin_user: &str) -> anyhow::Result<Rest> {
        let url = reqwest::Url::parse(base).with_context(|| format!("--api {base}"))?;
        let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            bail!("--api {base}: the load tool only targets loopback addresses");
        }
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(TOKEN_CONCURRENCY)
            .tcp_nodelay(true)
            .build()?;
        let mut rest = Rest {
            base: base.trim_end_matches('/').to_string(),
            http,
            admin_token: String::new(),
        };
        let data = rest
            .post(
                "/auth/get_admin_token",
                json!({"secret": secret, "userID": admin_user}),
            )
            .await?;
        rest.admin_token = token_of(&data)?;
        Ok(rest)
    }

    /// POSTs `body` with the admin token; `data` of a successful envelope, else an error that
    /// downcasts to [`ApiError`] when the server answered with an error code.
    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let op = format!("bench-{}", OP.fetch_add(1, Ordering::Relaxed));
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("operationID", op)
            .json(&body);
        if !self.admin_token.is_empty() {
            req = req.header("token", &self.admin_token);
        }
        let resp = req.send().await.with_context(|| format!("POST {path}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let envelope: Value = serde_json::from_str(&text).with_context(|| {
            format!("POST {path}: HTTP {status}, not an OpenIM envelope: {text:.300}")
        })?;
        match envelope.get("errCode").and_then(Value::as_i64) {
            Some(0) => Ok(envelope.get("data").cloned().unwrap_or(Value::Null)),
            Some(code) => Err(ApiError {
                path: path.to_string(),
                code,
                msg: str_of(&envelope, "errMsg"),
                dlt: str_of(&envelope, "errDlt"),
            }
            .into()),
            None => bail!("POST {path}: HTTP {status}, no errCode: {text:.300}"),
        }
    }

    /// Registers `users` (nickname = id) in batches. Users that already exist (1102) are fine:
    /// a re-run against the same server reuses them.
    pub async fn register(&self, users: &[String]) -> anyhow::Result<()> {
        for chunk in users.chunks(REGISTER_BATCH) {
            let list: Vec<Value> = chunk
                .iter()
                .map(|u| json!({"userID": u, "nickname": u, "faceURL": "", "ex": ""}))
                .collect();
            match self
                .post("/user/user_register", json!({ "users": list }))
                .await
            {
                Ok(_) => {}
                Err(e) if api_code(&e) == Some(1102) => {
                    // One existing user fails the whole batch: register one by one.
                    for u in chunk {
                        let one = json!({"users": [{"userID": u, "nickname": u, "faceURL": "", "ex": ""}]});
                        match self.post("/user/user_register", one).await {
                            Ok(_) => {}
                            Err(e) if api_code(&e) == Some(1102) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// A user token for every user, in order.
    pub async fn user_tokens(
        &self,
        users: &[String],
        platform_id: i32,
    ) -> anyhow::Result<Vec<String>> {
        let results: Vec<anyhow::Result<String>> = futures_util::stream::iter(users.iter())
            .map(|u| async move {
                let data = self
                    .post(
                        "/auth/get_user_token",
                        json!({"platformID": platform_id, "userID": u}),
                    )
                    .await?;
                token_of(&data)
            })
            .buffered(TOKEN_CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// Creates a working group owned by `owner` with `members` (excluding the owner).
    pub async fn create_group(
        &self,
        group_id: &str,
        owner: &str,
        members: &[String],
    ) -> anyhow::Result<()> {
        let body = json!({
            "memberUserIDs": members,
            "adminUserIDs": [],
            "ownerUserID": owner,
            "groupInfo": {"groupID": group_id, "groupName": group_id, "groupType": 2},
        });
        self.post("/group/create_group", body).await.map(drop)
    }
}

/// The OpenIM error code of an error from [`Rest::post`], if the server sent one.
pub fn api_code(e: &anyhow::Error) -> Option<i64> {
    e.downcast_ref::<ApiError>().map(|a| a.code)
}

fn token_of(data: &Value) -> anyhow::Result<String> {
    data.get("token")
        .and_then(Value::as_str)
        .map(str::to_string)
        .with_context(|| format!("no token in {data}"))
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}
