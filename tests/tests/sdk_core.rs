//! The official OpenIM clients, unchanged, against an in-process Rill: the Go SDK core
//! (libopenimsdk.so, gob+gzip, driven by tests/sdk/sdk_core.py, one process per user) and the
//! pure-JS SDK (JSON frames + /jssdk, tests/sdk/js_sdk.mjs).
//!
//! Every test has its own redis-server and Mongo database. A test skips (printing why) only when a
//! client is unavailable and CI is unset; see rill_e2e::clients.

use anyhow::{Context as _, bail, ensure};
use rill_e2e::rest::{PLATFORM_WEB, PLATFORM_WINDOWS};
use rill_e2e::{Driver, Kind, Rill, Spec, require};
use serde_json::{Value, json};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(90);
const WAIT: Duration = Duration::from_secs(20);

async fn client(rill: &Rill, kind: Kind, name: &str, user: &str) -> anyhow::Result<Driver> {
    let platform = match kind {
        Kind::Core => PLATFORM_WINDOWS,
        Kind::Js => PLATFORM_WEB,
    };
    let token = rill.rest.user_token(user, platform).await?;
    client_with_token(rill, kind, name, user, platform, token).await
}

async fn client_with_token(
    rill: &Rill,
    kind: Kind,
    name: &str,
    user: &str,
    platform: i32,
    token: String,
) -> anyhow::Result<Driver> {
    let spec = Spec {
        kind,
        name: name.to_string(),
        user: user.to_string(),
        token,
        platform,
        api: rill.api.clone(),
        ws: rill.ws.clone(),
        deadline: DEADLINE,
    };
    Driver::spawn(spec, &rill.log_dir).await
}

fn texts(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}-{i}")).collect()
}

fn text_of(m: &Value) -> &str {
    m["textElem"]["content"].as_str().unwrap_or_default()
}

fn single(a: &str, b: &str) -> String {
    if a < b {
        format!("si_{a}_{b}")
    } else {
        format!("si_{b}_{a}")
    }
}

/// The conversation `id` from a get_all_conversation_list / getConversationListSplit answer.
fn conversation<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|c| c["conversationID"] == id)
}

/// `latestMsg` is a JSON string inside the conversation object.
fn latest_msg(conv: &Value) -> Value {
    match &conv["latestMsg"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// Polls the client's conversation list until `check` accepts the conversation `id` (the
/// client applies pushes and sync results asynchronously); the error shows the last answer.
async fn conversation_until(
    d: &mut Driver,
    id: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let list = d.call(json!({"op": "conversations"})).await?;
        if let Some(c) = conversation(&list, id)
            && check(c)
        {
            return Ok(c.clone());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(d.fail(&format!(
                "conversation {id}: expected {what}; last list: {list}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_delivers_online_in_seq_order_and_syncs_offline_user() -> anyhow::Result<()> {
    if !require("core_delivers_online", true, false)? {
        return Ok(());
    }
    let rill = Rill::start("e2e_core_online").await?;
    rill.rest.register(&["u1", "u2", "u3"]).await?;

    let mut u2 = client(&rill, Kind::Core, "u2", "u2").await?;
    u2.login().await?;
    let mut u1 = client(&rill, Kind::Core, "u1", "u1").await?;
    u1.login().await?;

    // Online delivery: three texts, in order, with server ids for the sender.
    let sent = u1.send_texts("u2", &texts("to-u2", 3), 50).await?;
    for (i, m) in sent.iter().enumerate() {
        let id = m["serverMsgID"].as_str().unwrap_or_default();
        if id.is_empty() {
            return Err(u1.fail(&format!(
                "send #{} acknowledged without serverMsgID: {m}",
                i + 1
            )));
        }
    }
    let got = u2.wait_messages("u1", 3, WAIT).await?;
    let seqs: Vec<i64> = got
        .iter()
        .map(|m| m["seq"].as_i64().unwrap_or(-1))
        .collect();
    let bodies: Vec<&str> = got.iter().map(text_of).collect();
    if seqs != [1, 2, 3] || bodies != ["to-u2-1", "to-u2-2", "to-u2-3"] {
        return Err(u2.fail(&format!(
            "expected seqs 1..3 in order, got {seqs:?} {bodies:?}"
        )));
    }
    for (s, r) in sent.iter().zip(&got) {
        if s["serverMsgID"] != r["serverMsgID"] {
            return Err(u2.fail(&format!(
                "serverMsgID differs: sender acked {}, receiver got {}",
                s["serverMsgID"], r["serverMsgID"]
            )));
        }
    }

    // Offline user: u3 is not logged in while u1 writes; it catches up by sync on login.
    u1.send_texts("u3", &texts("to-u3", 2), 50).await?;
    let mut u3 = client(&rill, Kind::Core, "u3", "u3").await?;
    u3.login().await?;
    let conv_id = single("u1", "u3");
    let conv = conversation_until(&mut u3, &conv_id, "latest message to-u3-2", |c| {
        text_of(&latest_msg(c)) == "to-u3-2"
    })
    .await?;
    let history = u3
        .call(json!({"op": "history", "conversation": conv_id, "count": 20}))
        .await?;
    let list = history["messageList"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut pairs: Vec<(i64, String)> = list
        .iter()
        .map(|m| (m["seq"].as_i64().unwrap_or(-1), text_of(m).to_string()))
        .collect();
    pairs.sort();
    let want = vec![(1, "to-u3-1".to_string()), (2, "to-u3-2".to_string())];
    if pairs != want {
        return Err(u3.fail(&format!(
            "history of {conv_id}: expected {want:?}, got {pairs:?}; conversation {conv}"
        )));
    }

    u1.pass();
    u2.pass();
    u3.pass();
    rill.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_sdk_and_core_exchange_both_ways() -> anyhow::Result<()> {
    if !require("js_sdk_and_core_exchange", true, true)? {
        return Ok(());
    }
    let rill = Rill::start("e2e_js_core").await?;
    rill.rest.register(&["native", "web"]).await?;

    let mut native = client(&rill, Kind::Core, "native", "native").await?;
    native.login().await?;
    let mut web = client(&rill, Kind::Js, "web", "web").await?;
    web.login().await?;

    native
        .send_texts("web", &texts("core-to-js", 2), 50)
        .await?;
    let got = web.wait_messages("native", 2, WAIT).await?;
    let bodies: Vec<&str> = got.iter().map(text_of).collect();
    if bodies != ["core-to-js-1", "core-to-js-2"] {
        return Err(web.fail(&format!("JS SDK got {bodies:?}")));
    }

    let acks = web
        .send_texts("native", &texts("js-to-core", 2), 50)
        .await?;
    if let Some(bad) = acks
        .iter()
        .find(|m| m["serverMsgID"].as_str().unwrap_or("").is_empty())
    {
        return Err(web.fail(&format!("JS send acknowledged without serverMsgID: {bad}")));
    }
    let got = native.wait_messages("web", 2, WAIT).await?;
    let bodies: Vec<&str> = got.iter().map(text_of).collect();
    let seqs: Vec<i64> = got
        .iter()
        .map(|m| m["seq"].as_i64().unwrap_or(-1))
        .collect();
    // One conversation both ways: the replies continue its seqs.
    if bodies != ["js-to-core-1", "js-to-core-2"] || seqs != [3, 4] {
        return Err(native.fail(&format!("SDK core got {bodies:?} seqs {seqs:?}")));
    }

    native.pass();
    web.pass();
    rill.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_login_and_force_logout_kick_the_sdk() -> anyhow::Result<()> {
    if !require("second_login_and_force_logout_kick", true, false)? {
        return Ok(());
    }
    let rill = Rill::start("e2e_kick").await?;
    rill.rest.register(&["k1"]).await?;

    let mut first = client(&rill, Kind::Core, "k1-first", "k1").await?;
    first.login().await?;
    // A second token on the same platform, then a second login with it: the first connection
    // is kicked (multi-login policy 1: same terminal kicks).
    let mut second = client(&rill, Kind::Core, "k1-second", "k1").await?;
    second.login().await?;
    first.wait_event(first.kicked_event(), WAIT).await?;
    if second
        .lines
        .iter()
        .any(|l| l["kind"] == "event" && l["event"] == 3)
    {
        return Err(second.fail("the new login was kicked as well"));
    }

    rill.rest.force_logout("k1", PLATFORM_WINDOWS).await?;
    second.wait_event(second.kicked_event(), WAIT).await?;

    first.pass();
    second.pass();
    rill.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversation_list_after_burst_and_mark_read() -> anyhow::Result<()> {
    if !require("conversation_list_after_burst", true, false)? {
        return Ok(());
    }
    let rill = Rill::start("e2e_conv_read").await?;
    rill.rest.register(&["a1", "b1"]).await?;
    let conv_id = single("a1", "b1");
    const N: usize = 10;

    let mut b = client(&rill, Kind::Core, "b1", "b1").await?;
    b.login().await?;
    let mut a = client(&rill, Kind::Core, "a1", "a1").await?;
    a.login().await?;

    a.send_texts("b1", &texts("burst", N), 0).await?;
    b.wait_messages("a1", N, WAIT).await?;
    let last = format!("burst-{N}");
    let conv = conversation_until(&mut b, &conv_id, "latest burst message, unread N", |c| {
        text_of(&latest_msg(c)) == last && c["unreadCount"] == N
    })
    .await?;
    ensure!(latest_msg(&conv)["seq"] == N, "latest seq: {conv}");
    conversation_until(
        &mut a,
        &conv_id,
        "sender's latest = burst-N, unread 0",
        |c| text_of(&latest_msg(c)) == last && c["unreadCount"].as_i64().unwrap_or(0) == 0,
    )
    .await?;

    b.call(json!({"op": "mark_read", "conversation": conv_id}))
        .await?;
    conversation_until(&mut b, &conv_id, "unread 0 after mark read", |c| {
        c["unreadCount"].as_i64().unwrap_or(0) == 0
    })
    .await?;

    // The read state lives on the server: a fresh install of b1 sees it too.
    b.call(json!({"op": "logout"})).await?;
    b.pass();
    drop(b);
    let mut fresh = client(&rill, Kind::Core, "b1-fresh", "b1").await?;
    fresh.login().await?;
    conversation_until(
        &mut fresh,
        &conv_id,
        "fresh install: latest burst-N, unread 0",
        |c| text_of(&latest_msg(c)) == last && c["unreadCount"].as_i64().unwrap_or(-1) == 0,
    )
    .await?;

    // And the server's own bookkeeping agrees.
    let seqs = rill
        .rest
        .call(
            "/msg/get_conversations_has_read_and_max_seq",
            json!({"userID": "b1", "conversationIDs": [conv_id.clone()], "returnPinned": false}),
        )
        .await
        .context("has_read_and_max_seq")?;
    let entry = &seqs["seqs"][conv_id.as_str()];
    if entry["maxSeq"] != N || entry["hasReadSeq"] != N {
        bail!("server seqs for b1/{conv_id}: expected maxSeq = hasReadSeq = {N}, got {seqs}");
    }

    a.pass();
    fresh.pass();
    rill.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_logout_kicks_only_the_named_platform() -> anyhow::Result<()> {
    if !require("force_logout_kicks_only_the_named_platform", true, true)? {
        return Ok(());
    }
    let rill = Rill::start("e2e_kick_platform").await?;
    rill.rest.register(&["p1"]).await?;

    let mut desktop = client(&rill, Kind::Core, "p1-desktop", "p1").await?;
    desktop.login().await?;
    let mut web = client(&rill, Kind::Js, "p1-web", "p1").await?;
    web.login().await?;

    rill.rest.force_logout("p1", PLATFORM_WEB).await?;
    web.wait_event(web.kicked_event(), WAIT).await?;
    // The desktop session survives: a send is a WS round trip on its connection.
    rill.rest.register(&["p2"]).await?;
    desktop
        .send_texts("p2", &texts("after-web-kick", 1), 0)
        .await?;
    if desktop
        .lines
        .iter()
        .any(|l| l["kind"] == "event" && l["event"] == desktop.kicked_event())
    {
        return Err(desktop.fail("force_logout of the web platform kicked the desktop too"));
    }

    desktop.pass();
    web.pass();
    rill.stop().await
}

/// History of `conv_id` holds seq 1 as a text (101) and seq 2 as revoked (2101).
async fn expect_revoked_history(d: &mut Driver, conv_id: &str) -> anyhow::Result<()> {
    let history = d
        .call(json!({"op": "history", "conversation": conv_id, "count": 20}))
        .await?;
    let kinds: Vec<(i64, i64)> = history["messageList"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|m| {
                    (
                        m["seq"].as_i64().unwrap_or(-1),
                        m["contentType"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if !kinds.contains(&(1, 101)) || !kinds.contains(&(2, 2101)) {
        return Err(d.fail(&format!(
            "history after revoke: expected seq 1 text (101) and seq 2 revoked (2101), got {kinds:?}"
        )));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_receipt_and_revoke_reach_the_peer() -> anyhow::Result<()> {
    if !require("read_receipt_and_revoke_reach_the_peer", true, false)? {
        return Ok(());
    }
    let rill = Rill::start("e2e_receipt_revoke").await?;
    rill.rest.register(&["s1", "r1"]).await?;
    let conv_id = single("s1", "r1");

    let mut r = client(&rill, Kind::Core, "r1", "r1").await?;
    r.login().await?;
    let mut s = client(&rill, Kind::Core, "s1", "s1").await?;
    s.login().await?;
    let sent = s.send_texts("r1", &texts("receipt", 2), 50).await?;
    r.wait_messages("s1", 2, WAIT).await?;

    // Reading the conversation sends the sender a read receipt (2200 → RECV_C2C_READ_RECEIPT).
    r.call(json!({"op": "mark_read", "conversation": conv_id}))
        .await?;
    let receipt = s.wait_event(json!(33), WAIT).await?;
    let last_id = &sent[1]["clientMsgID"];
    let names_last = receipt["data"].as_array().is_some_and(|rs| {
        rs.iter().any(|r| {
            r["userID"] == "r1"
                && r["msgIDList"]
                    .as_array()
                    .is_some_and(|ids| ids.contains(last_id))
        })
    });
    if !names_last {
        return Err(s.fail(&format!(
            "read receipt should name r1 and message {last_id}: {receipt}"
        )));
    }

    // Revoking the second message reaches the peer and rewrites its history.
    s.call(json!({"op": "revoke", "conversation": conv_id, "client_msg_id": last_id}))
        .await?;
    let revoked = r.wait_event(json!(35), WAIT).await?;
    if revoked["data"]["clientMsgID"] != *last_id {
        return Err(r.fail(&format!("revoke event for another message: {revoked}")));
    }
    expect_revoked_history(&mut r, &conv_id).await?;
    // A fresh install reads the revoke from the server's history, not from its own notification.
    r.pass();
    drop(r);
    let mut fresh = client(&rill, Kind::Core, "r1-fresh", "r1").await?;
    fresh.login().await?;
    expect_revoked_history(&mut fresh, &conv_id).await?;

    s.pass();
    fresh.pass();
    rill.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_backlog_syncs_with_history_and_continues_live() -> anyhow::Result<()> {
    if !require("offline_backlog_syncs", true, false)? {
        return Ok(());
    }
    let rill = Rill::start("e2e_backlog").await?;
    rill.rest.register(&["w1", "o1"]).await?;
    let conv_id = single("w1", "o1");
    const N: usize = 30;

    let mut w = client(&rill, Kind::Core, "w1", "w1").await?;
    w.login().await?;
    w.send_texts("o1", &texts("backlog", N), 0).await?;

    // o1 was never online: the first login syncs the newest message, the unread count, and
    // opening the conversation pulls the whole backlog from the server.
    let mut o = client(&rill, Kind::Core, "o1", "o1").await?;
    o.login().await?;
    let last = format!("backlog-{N}");
    conversation_until(&mut o, &conv_id, "latest backlog-N, unread N", |c| {
        text_of(&latest_msg(c)) == last && c["unreadCount"] == N
    })
    .await?;
    let history = o
        .call(json!({"op": "history", "conversation": conv_id, "count": 40}))
        .await?;
    let mut pairs: Vec<(i64, String)> = history["messageList"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|m| (m["seq"].as_i64().unwrap_or(-1), text_of(m).to_string()))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    let want: Vec<(i64, String)> = (1..=N as i64)
        .map(|i| (i, format!("backlog-{i}")))
        .collect();
    if pairs != want {
        return Err(o.fail(&format!("history after backlog: got {pairs:?}")));
    }

    // Live messages continue the same seqs.
    let before = o.received_from("w1").len();
    w.send_texts("o1", &texts("live", 1), 0).await?;
    let live = o.wait_messages("w1", before + 1, WAIT).await?;
    let got: Vec<(i64, &str)> = live
        .iter()
        .map(|m| (m["seq"].as_i64().unwrap_or(-1), text_of(m)))
        .filter(|(_, t)| t.starts_with("live"))
        .collect();
    if got != [(N as i64 + 1, "live-1")] {
        return Err(o.fail(&format!("live message after backlog: {got:?}")));
    }

    w.pass();
    o.pass();
    rill.stop().await
}
