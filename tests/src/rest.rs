//! The REST calls a deployment makes before any client can log in (the official clients never
//! register users or mint tokens): admin token, user_register, get_user_token, force_logout.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

/// The default secret and admin of an OpenIM 3.8 deployment (share.yml).
pub const SECRET: &str = "openIM123";
pub const ADMIN_USER: &str = "imAdmin";

/// Platform ids the tests use (protocol.md §2.5).
pub const PLATFORM_WINDOWS: i32 = 3;
pub const PLATFORM_WEB: i32 = 5;

static OP: AtomicU64 = AtomicU64::new(0);

/// A REST client bound to one API address, holding the admin token once fetched.
#[derive(Clone)]
pub struct Rest {
    base: String,
    http: reqwest::Client,
    admin: String,
}

impl Rest {
    /// Fetches the admin token from `base` (e.g. `http://127.0.0.1:10002`).
    pub async fn connect(base: &str) -> anyhow::Result<Rest> {
        let mut rest = Rest {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            admin: String::new(),
        };
        let data = rest
            .call(
                "/auth/get_admin_token",
                json!({"secret": SECRET, "userID": ADMIN_USER}),
            )
            .await?;
        rest.admin = token_of(&data)?;
        Ok(rest)
    }

    /// POSTs `body` with the admin token; returns `data` of a successful envelope, or an error
    /// naming the path, the request and the whole answer (that is what a failure report needs).
    pub async fn call(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let op = format!("e2e-{}", OP.fetch_add(1, Ordering::Relaxed));
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("operationID", op)
            .json(&body);
        if !self.admin.is_empty() {
            req = req.header("token", &self.admin);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("POST {path} {body}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let envelope: Value = serde_json::from_str(&text)
            .with_context(|| format!("POST {path} {body}: HTTP {status}, not JSON: {text}"))?;
        match envelope.get("errCode").and_then(Value::as_i64) {
            Some(0) => Ok(envelope.get("data").cloned().unwrap_or(Value::Null)),
            _ => bail!("POST {path} {body}: HTTP {status}, answer {text}"),
        }
    }

    /// Registers users (nickname = user id).
    pub async fn register(&self, users: &[&str]) -> anyhow::Result<()> {
        let users: Vec<Value> = users
            .iter()
            .map(|u| json!({"userID": u, "nickname": u, "faceURL": "", "ex": ""}))
            .collect();
        self.call("/user/user_register", json!({ "users": users }))
            .await
            .map(drop)
    }

    /// Mints a user token for one platform.
    pub async fn user_token(&self, user: &str, platform: i32) -> anyhow::Result<String> {
        let data = self
            .call(
                "/auth/get_user_token",
                json!({"platformID": platform, "userID": user}),
            )
            .await?;
        token_of(&data)
    }

    /// Kicks every connection of `user` on `platform` and invalidates its tokens.
    pub async fn force_logout(&self, user: &str, platform: i32) -> anyhow::Result<()> {
        self.call(
            "/auth/force_logout",
            json!({"platformID": platform, "userID": user}),
        )
        .await
        .map(drop)
    }
}

fn token_of(data: &Value) -> anyhow::Result<String> {
    match data.get("token").and_then(Value::as_str) {
        Some(t) if !t.is_empty() => Ok(t.to_string()),
        _ => bail!("no data.token in {data}"),
    }
}
