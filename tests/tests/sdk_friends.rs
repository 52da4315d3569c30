//! Friends and the blacklist with the official OpenIM SDK core (libopenimsdk.so, one process
//! per user, driven by tests/sdk/sdk_core.py) against an in-process Rill: add_friend, the
//! recipient's application list, accept_friend_application, both friend lists, add_black
//! refusing the blocked user's single-chat sends with 1302, remove_black lifting it.
//!
//! A test skips (printing why) only when the SDK core is unavailable and CI is unset.

use rill_e2e::events::{
    BLACK_ADDED, FRIEND_ADDED, FRIEND_APPLICATION_ACCEPTED, FRIEND_APPLICATION_ADDED,
    FRIEND_DELETED,
};
use rill_e2e::scenario::{core_client, has, sdk_until, text_of};
use rill_e2e::{Rill, require};
use serde_json::{Value, json};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(120);
const WAIT: Duration = Duration::from_secs(20);

/// errCode of a single-chat send to a user who blocked the sender (OpenIM BlockedByPeer).
const BLOCKED_BY_PEER: i64 = 1302;

/// The entry of `list` (a JSON array) whose `key` is `value`.
fn entry<'a>(list: &'a Value, key: &str, value: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|x| x[key] == value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn friend_apply_accept_and_blacklist() -> anyhow::Result<()> {
    if !require("friend_apply_accept_and_blacklist", true, false)? {
        return Ok(());
    }
    let rill = Rill::start("e2e_friends").await?;
    rill.rest.register(&["fu1", "fu2"]).await?;
    let mut u1 = core_client(&rill, "fu1", "fu1", DEADLINE).await?;
    let mut u2 = core_client(&rill, "fu2", "fu2", DEADLINE).await?;
    u1.login().await?;
    u2.login().await?;

    // u1 applies; u2 is told (FriendApplication notification → listener) and lists it.
    u1.sdk(
        "add_friend",
        json!([{"toUserID": "fu2", "reqMsg": "hello from fu1", "ex": ""}]),
    )
    .await?;
    let added = u2.wait_event(json!(FRIEND_APPLICATION_ADDED), WAIT).await?;
    if added["data"]["fromUserID"] != "fu1" || added["data"]["toUserID"] != "fu2" {
        return Err(u2.fail(&format!(
            "FriendApplicationAdded should name fu1 → fu2: {added}"
        )));
    }
    let apps = u2
        .sdk(
            "get_friend_application_list_as_recipient",
            json!([{"handleResults": [], "offset": 0, "count": 0}]),
        )
        .await?;
    match entry(&apps, "fromUserID", "fu1") {
        Some(a)
            if a["toUserID"] == "fu2"
                && a["handleResult"] == 0
                && a["reqMsg"] == "hello from fu1" => {}
        _ => {
            return Err(u2.fail(&format!(
                "application list should hold fu1 → fu2, unhandled, with the request text: {apps}"
            )));
        }
    }
    // The applicant sees its own request too.
    let mine = u1
        .sdk(
            "get_friend_application_list_as_applicant",
            json!([{"offset": 0, "count": 0}]),
        )
        .await?;
    if entry(&mine, "toUserID", "fu2").is_none() {
        return Err(u1.fail(&format!(
            "applicant's list lacks the request to fu2: {mine}"
        )));
    }

    // u2 accepts; both friend lists show the other (u1 learns it from the approval notice).
    u2.sdk(
        "accept_friend_application",
        json!([{"toUserID": "fu1", "handleMsg": "welcome"}]),
    )
    .await?;
    sdk_until(
        &mut u2,
        "get_friend_list",
        json!([0]),
        "fu1 as a friend",
        |l| has(l, "userID", "fu1"),
    )
    .await?;
    let list1 = sdk_until(
        &mut u1,
        "get_friend_list",
        json!([0]),
        "fu2 as a friend",
        |l| has(l, "userID", "fu2"),
    )
    .await?;
    if entry(&list1, "userID", "fu2").is_some_and(|f| f["nickname"] != "fu2") {
        return Err(u1.fail(&format!(
            "friend entry should carry fu2's nickname: {list1}"
        )));
    }
    u1.wait_event(json!(FRIEND_APPLICATION_ACCEPTED), WAIT)
        .await?;
    u1.wait_event(json!(FRIEND_ADDED), WAIT).await?;
    let apps = u2
        .sdk(
            "get_friend_application_list_as_recipient",
            json!([{"handleResults": [], "offset": 0, "count": 0}]),
        )
        .await?;
    if !entry(&apps, "fromUserID", "fu1").is_some_and(|a| a["handleResult"] == 1) {
        return Err(u2.fail(&format!(
            "after accepting, the application should be handled (1): {apps}"
        )));
    }

    // Friends talk.
    u1.send_texts("fu2", &["as friends".to_string()], 0).await?;
    u2.wait_messages("fu1", 1, WAIT).await?;

    // u2 blocks u1: u1's single-chat sends to u2 are refused with 1302 and never delivered.
    u2.sdk("add_black", json!(["fu1", ""])).await?;
    u2.wait_event(json!(BLACK_ADDED), WAIT).await?;
    let blacks = u2.sdk("get_black_list", json!([])).await?;
    if entry(&blacks, "userID", "fu1").is_none() {
        return Err(u2.fail(&format!("black list should hold fu1: {blacks}")));
    }
    let r = u1.try_send("fu2", "", "while blocked").await?;
    if r["code"] != BLOCKED_BY_PEER {
        return Err(u1.fail(&format!(
            "send to a user who blocked us: expected errCode {BLOCKED_BY_PEER}, got {r}"
        )));
    }
    // The block is one-way: u2 may still write to u1.
    u2.send_texts("fu1", &["from the blocker".to_string()], 0)
        .await?;
    u1.wait_messages("fu2", 1, WAIT).await?;

    // remove_black lifts it.
    u2.sdk("remove_black", json!(["fu1"])).await?;
    u1.send_texts("fu2", &["after unblock".to_string()], 0)
        .await?;
    let got = u2.wait_messages("fu1", 2, WAIT).await?;
    let bodies: Vec<&str> = got.iter().map(text_of).collect();
    if bodies != ["as friends", "after unblock"] {
        return Err(u2.fail(&format!(
            "u2 should have exactly the two unblocked texts, got {bodies:?}"
        )));
    }

    // u1 deletes u2: gone from u1's list.
    u1.sdk("delete_friend", json!(["fu2"])).await?;
    sdk_until(
        &mut u1,
        "get_friend_list",
        json!([0]),
        "no fu2 after delete",
        |l| l.as_array().is_some() && !has(l, "userID", "fu2"),
    )
    .await?;
    u1.wait_event(json!(FRIEND_DELETED), WAIT).await?;

    // A fresh install of u2 syncs everything from the server (full sync): OpenIM deletes a
    // friendship in one direction only, so fu1 is still u2's friend; the black list is empty.
    u2.call(json!({"op": "logout"})).await?;
    u2.pass();
    drop(u2);
    let mut fresh = core_client(&rill, "fu2-fresh", "fu2", DEADLINE).await?;
    fresh.login().await?;
    sdk_until(
        &mut fresh,
        "get_friend_list",
        json!([0]),
        "fu1 still a friend of fu2 (one-way delete)",
        |l| has(l, "userID", "fu1"),
    )
    .await?;
    let blacks = fresh.sdk("get_black_list", json!([])).await?;
    if blacks.as_array().is_some_and(|b| !b.is_empty()) {
        return Err(fresh.fail(&format!(
            "black list should be empty after remove_black: {blacks}"
        )));
    }

    u1.pass();
    fresh.pass();
    rill.stop().await
}
