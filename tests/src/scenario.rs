//! Small building blocks the scenario tests share: start an SDK-core client for a user, poll an
//! SDK call until its answer satisfies a check, read a conversation's history.

use crate::driver::{Driver, Kind, Spec};
use crate::rest::PLATFORM_WINDOWS;
use crate::server::Rill;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// How long one polled condition may take (the client applies pushes and syncs asynchronously).
pub const POLL: Duration = Duration::from_secs(20);

/// Starts an SDK-core driver for `user` (Windows platform, a fresh token), process name `name`.
/// The process ends itself after `deadline` whatever happens.
pub async fn core_client(
    rill: &Rill,
    name: &str,
    user: &str,
    deadline: Duration,
) -> anyhow::Result<Driver> {
    let token = rill.rest.user_token(user, PLATFORM_WINDOWS).await?;
    let spec = Spec {
        kind: Kind::Core,
        name: name.to_string(),
        user: user.to_string(),
        token,
        platform: PLATFORM_WINDOWS,
        api: rill.api.clone(),
        ws: rill.ws.clone(),
        deadline,
    };
    Driver::spawn(spec, &rill.log_dir).await
}

/// `prefix-1` … `prefix-n`.
pub fn texts(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}-{i}")).collect()
}

/// The text of a text message (empty for anything else).
pub fn text_of(m: &Value) -> &str {
    m["textElem"]["content"].as_str().unwrap_or_default()
}

pub fn seq_of(m: &Value) -> i64 {
    m["seq"].as_i64().unwrap_or(-1)
}

pub fn content_type(m: &Value) -> i64 {
    m["contentType"].as_i64().unwrap_or(-1)
}

/// Calls `func(args)` on the client until `check` accepts its data; returns that data. The
/// error names `what` and shows the last answer.
pub async fn sdk_until(
    d: &mut Driver,
    func: &str,
    args: Value,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + POLL;
    loop {
        let data = d.sdk(func, args.clone()).await?;
        if check(&data) {
            return Ok(data);
        }
        if Instant::now() > deadline {
            return Err(d.fail(&format!(
                "{func}({args}): expected {what}; last answer: {data}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// True when `list` (a JSON array of objects) has an object whose `key` equals `value`.
pub fn has(list: &Value, key: &str, value: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|x| x[key] == value))
}

/// The messages of the client's history of `conversation` (newest `count`), sorted by seq.
/// Opening a conversation is when the SDK pulls what it lacks from the server.
pub async fn history(
    d: &mut Driver,
    conversation: &str,
    count: usize,
) -> anyhow::Result<Vec<Value>> {
    let data = d
        .call(json!({"op": "history", "conversation": conversation, "count": count}))
        .await?;
    let mut list = data["messageList"].as_array().cloned().unwrap_or_default();
    list.sort_by_key(seq_of);
    Ok(list)
}

/// `(seq, text)` of each text message (content type 101) in `msgs`.
pub fn seq_texts(msgs: &[Value]) -> Vec<(i64, String)> {
    msgs.iter()
        .filter(|m| content_type(m) == 101)
        .map(|m| (seq_of(m), text_of(m).to_string()))
        .collect()
}
