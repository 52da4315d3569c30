//! Group chat with the official OpenIM SDK core (libopenimsdk.so, one process per user, driven
//! by tests/sdk/sdk_core.py) against an in-process Rill: the SDK's own create_group,
//! kick_group_member, change_group_member_mute, change_group_mute, invite_user_to_group,
//! quit_group, transfer_group_owner and dismiss_group; group sends with
//! `send_message(recvID "", groupID)`, delivery in seq order, offline catch-up by sync.
//!
//! A test skips (printing why) only when the SDK core is unavailable and CI is unset.

use rill_e2e::events::{
    GROUP_DISMISSED, GROUP_MEMBER_DELETED, JOINED_GROUP_ADDED, JOINED_GROUP_DELETED,
};
use rill_e2e::scenario::{
    content_type, core_client, has, history, sdk_until, seq_of, seq_texts, text_of, texts,
};
use rill_e2e::{Driver, Rill, require};
use serde_json::{Value, json};
use std::time::Duration;

/// Each client process ends itself after this long (the test itself stays well below).
const DEADLINE: Duration = Duration::from_secs(150);
const WAIT: Duration = Duration::from_secs(20);

/// Content types (protocol.md §4.6).
const TEXT: i64 = 101;
const GROUP_CREATED: i64 = 1501;
const MEMBER_KICKED: i64 = 1508;
const MEMBER_INVITED: i64 = 1509;

/// OpenIM errCodes a refused send carries back to the SDK's callback.
const MUTED_IN_GROUP: i64 = 1402;
const MUTED_GROUP: i64 = 1403;
const NO_PERMISSION: i64 = 1002;
const DISMISSED_ALREADY: i64 = 1204;

fn sg(gid: &str) -> String {
    format!("sg_{gid}")
}

/// Creates a working group (groupType 2) through the SDK of `owner` with `members`; returns
/// the group id the server chose. The SDK itself syncs the group after the call.
async fn create_group(owner: &mut Driver, name: &str, members: &[&str]) -> anyhow::Result<String> {
    let req = json!({
        "memberUserIDs": members,
        "adminUserIDs": [],
        "ownerUserID": owner.user,
        "groupInfo": {"groupName": name, "groupType": 2},
    });
    let info = owner.sdk("create_group", json!([req])).await?;
    match info["groupID"].as_str() {
        Some(g) if !g.is_empty() => Ok(g.to_string()),
        _ => Err(owner.fail(&format!("create_group answered without a groupID: {info}"))),
    }
}

/// Waits until the client's joined-group list (local DB, filled by sync / notifications) has
/// `gid`; returns that entry.
async fn sees_group(d: &mut Driver, gid: &str) -> anyhow::Result<Value> {
    let list = sdk_until(
        d,
        "get_joined_group_list",
        json!([]),
        &format!("group {gid}"),
        |l| has(l, "groupID", gid),
    )
    .await?;
    Ok(list
        .as_array()
        .and_then(|l| l.iter().find(|g| g["groupID"] == gid).cloned())
        .unwrap_or(Value::Null))
}

/// Waits until the client's history of the group conversation holds the GroupCreated
/// notification (1501), and insists it is the conversation's first message (seq 1).
async fn sees_created_notification(d: &mut Driver, gid: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let msgs = history(d, &sg(gid), 20).await?;
        if let Some(n) = msgs.iter().find(|m| content_type(m) == GROUP_CREATED) {
            if seq_of(n) != 1 || n["groupID"] != gid {
                return Err(d.fail(&format!(
                    "GroupCreated notification should be seq 1 of {gid}: {n}"
                )));
            }
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            let kinds: Vec<(i64, i64)> =
                msgs.iter().map(|m| (seq_of(m), content_type(m))).collect();
            return Err(d.fail(&format!(
                "no GroupCreated (1501) message in {}; history (seq, contentType): {kinds:?}",
                sg(gid)
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Text messages of group `gid` the client received from `from` (None: any sender), in
/// arrival order.
fn group_texts(d: &Driver, gid: &str, from: Option<&str>) -> Vec<Value> {
    d.received_where(|m| {
        m["groupID"] == gid && content_type(m) == TEXT && from.is_none_or(|f| m["sendID"] == f)
    })
}

/// Asserts `got` (arrival order) is exactly `want` texts with strictly increasing seqs; returns
/// the seqs.
fn expect_in_seq_order(d: &Driver, got: &[Value], want: &[String]) -> anyhow::Result<Vec<i64>> {
    let bodies: Vec<&str> = got.iter().map(text_of).collect();
    let seqs: Vec<i64> = got.iter().map(seq_of).collect();
    if bodies != want || seqs.windows(2).any(|w| w[0] >= w[1]) || seqs.first() <= Some(&1) {
        return Err(d.fail(&format!(
            "expected {want:?} in increasing seqs after the created notice, got {bodies:?} seqs {seqs:?}"
        )));
    }
    Ok(seqs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_create_send_offline_sync_and_kick() -> anyhow::Result<()> {
    if !require("group_create_send_offline_sync_and_kick", true, false)? {
        return Ok(());
    }
    let rill = Rill::start("e2e_group_lifecycle").await?;
    rill.rest.register(&["gu1", "gu2", "gu3"]).await?;
    let mut u1 = core_client(&rill, "gu1", "gu1", DEADLINE).await?;
    let mut u2 = core_client(&rill, "gu2", "gu2", DEADLINE).await?;
    let mut u3 = core_client(&rill, "gu3", "gu3", DEADLINE).await?;
    u1.login().await?;
    u2.login().await?;
    u3.login().await?;

    // u1 creates the group with the SDK; all three see it and its created notification.
    let gid = create_group(&mut u1, "e2e lifecycle", &["gu2", "gu3"]).await?;
    let conv = sg(&gid);
    for d in [&mut u1, &mut u2, &mut u3] {
        let g = sees_group(d, &gid).await?;
        if g["memberCount"] != 3 || g["ownerUserID"] != "gu1" {
            return Err(d.fail(&format!("group {gid}: expected 3 members, owner gu1: {g}")));
        }
        d.wait_event(json!(JOINED_GROUP_ADDED), WAIT).await?;
        sees_created_notification(d, &gid).await?;
    }

    // u1 and u2 send; the others receive every text in send order with increasing seqs.
    let (a1, b, a2) = (texts("a", 3), texts("b", 3), texts("a2", 2));
    u1.send_group_texts(&gid, &a1, 30).await?;
    u2.send_group_texts(&gid, &b, 30).await?;
    u1.send_group_texts(&gid, &a2, 30).await?;
    let all: Vec<String> = a1.iter().chain(&b).chain(&a2).cloned().collect();
    let from_u1: Vec<String> = a1.iter().chain(&a2).cloned().collect();
    let got3 = u3
        .wait_received("group texts", all.len(), WAIT, |m| {
            m["groupID"] == gid.as_str() && content_type(m) == TEXT
        })
        .await?;
    let seqs3 = expect_in_seq_order(&u3, &got3, &all)?;
    // Nothing else was written to the conversation in between: seqs 2..=9, no gap.
    let want_seqs: Vec<i64> = (2..2 + all.len() as i64).collect();
    if seqs3 != want_seqs {
        return Err(u3.fail(&format!("seqs {seqs3:?}, expected {want_seqs:?}")));
    }
    let got2 = u2
        .wait_received("u1's group texts", from_u1.len(), WAIT, |m| {
            m["groupID"] == gid.as_str() && content_type(m) == TEXT && m["sendID"] == "gu1"
        })
        .await?;
    expect_in_seq_order(&u2, &got2, &from_u1)?;

    // u3 goes offline in the middle of 20 messages and catches up by sync after logging in
    // again (same local database: the SDK pulls the gap).
    let burst = texts("burst", 20);
    let before = group_texts(&u3, &gid, None).len();
    u1.send_group_texts(&gid, &burst[..5], 0).await?;
    u3.wait_received("first 5 of the burst", before + 5, WAIT, |m| {
        m["groupID"] == gid.as_str() && content_type(m) == TEXT
    })
    .await?;
    u3.call(json!({"op": "logout"})).await?;
    u1.send_group_texts(&gid, &burst[5..], 0).await?;
    let token = rill
        .rest
        .user_token("gu3", rill_e2e::rest::PLATFORM_WINDOWS)
        .await?;
    u3.login_with(Some(&token)).await?;
    let first_burst_seq = 2 + all.len() as i64;
    let want: Vec<(i64, String)> = burst
        .iter()
        .enumerate()
        .map(|(i, t)| (first_burst_seq + i as i64, t.clone()))
        .collect();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let msgs = history(&mut u3, &conv, 40).await?;
        let pairs: Vec<(i64, String)> = seq_texts(&msgs)
            .into_iter()
            .filter(|(_, t)| t.starts_with("burst-"))
            .collect();
        if pairs == want {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(u3.fail(&format!(
                "history of {conv} after re-login: expected the 20 burst texts at seqs \
                 {first_burst_seq}.., got {pairs:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // u1 kicks u3 with the SDK: u3 hears of it; later messages reach u2 but not u3.
    u1.sdk("kick_group_member", json!([gid, "e2e kick", ["gu3"]]))
        .await?;
    u3.wait_received("the MemberKicked notice", 1, WAIT, |m| {
        m["groupID"] == gid.as_str() && content_type(m) == MEMBER_KICKED
    })
    .await?;
    sdk_until(
        &mut u2,
        "get_group_member_list",
        json!([gid, 0, 0, 100]),
        "gu1 and gu2 only after the kick",
        |l| {
            l.as_array().is_some_and(|l| l.len() == 2)
                && has(l, "userID", "gu1")
                && has(l, "userID", "gu2")
        },
    )
    .await?;
    u2.wait_event(json!(GROUP_MEMBER_DELETED), WAIT).await?;
    u1.send_group_texts(&gid, &["after-kick".to_string()], 0)
        .await?;
    u2.wait_received("the message after the kick", 1, WAIT, |m| {
        m["groupID"] == gid.as_str() && text_of(m) == "after-kick"
    })
    .await?;
    // Bounded wait: anything pushed to u3 would have arrived alongside u2's copy.
    u3.idle(Duration::from_secs(3)).await;
    if let Some(m) = group_texts(&u3, &gid, None)
        .iter()
        .find(|m| text_of(m) == "after-kick")
    {
        return Err(u3.fail(&format!("kicked member received a later message: {m}")));
    }
    let msgs = history(&mut u3, &conv, 60).await?;
    if let Some(m) = msgs.iter().find(|m| text_of(m) == "after-kick") {
        return Err(u3.fail(&format!(
            "kicked member's history of {conv} holds a message sent after the kick: {m}"
        )));
    }
    // It still holds what it saw as a member, including the notice of its own kick.
    if !msgs.iter().any(|m| content_type(m) == MEMBER_KICKED) {
        let kinds: Vec<(i64, i64)> = msgs.iter().map(|m| (seq_of(m), content_type(m))).collect();
        return Err(u3.fail(&format!(
            "kicked member's history lacks the MemberKicked notice: {kinds:?}"
        )));
    }

    // The cap is the server's: a fresh install of u3 (empty local database) reads the group's
    // history up to its own kick notice and nothing after it.
    let kick_seq = msgs
        .iter()
        .filter(|m| content_type(m) == MEMBER_KICKED)
        .map(seq_of)
        .max()
        .unwrap_or(-1);
    u3.call(json!({"op": "logout"})).await?;
    u3.pass();
    drop(u3);
    let mut fresh = core_client(&rill, "gu3-fresh", "gu3", DEADLINE).await?;
    fresh.login().await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let msgs = history(&mut fresh, &conv, 60).await?;
        let seqs: Vec<i64> = msgs.iter().map(seq_of).collect();
        if let Some(m) = msgs.iter().find(|m| seq_of(m) > kick_seq) {
            return Err(fresh.fail(&format!(
                "fresh install of a kicked member reads past its kick notice (seq {kick_seq}): {m}"
            )));
        }
        if seqs.last() == Some(&kick_seq) && msgs.iter().any(|m| text_of(m) == "burst-20") {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(fresh.fail(&format!(
                "fresh install of a kicked member: history of {conv} should end with its kick \
                 notice at seq {kick_seq} and hold the burst; seqs {seqs:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    u1.pass();
    u2.pass();
    fresh.pass();
    rill.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_mute_member_and_whole_group() -> anyhow::Result<()> {
    if !require("group_mute_member_and_whole_group", true, false)? {
        return Ok(());
    }
    let rill = Rill::start("e2e_group_mute").await?;
    rill.rest.register(&["mu1", "mu2", "mu3"]).await?;
    let mut u1 = core_client(&rill, "mu1", "mu1", DEADLINE).await?;
    let mut u2 = core_client(&rill, "mu2", "mu2", DEADLINE).await?;
    let mut u3 = core_client(&rill, "mu3", "mu3", DEADLINE).await?;
    u1.login().await?;
    u2.login().await?;
    u3.login().await?;

    let gid = create_group(&mut u1, "e2e mute", &["mu2", "mu3"]).await?;
    for d in [&mut u2, &mut u3] {
        sees_group(d, &gid).await?;
    }
    // Before any mute everybody may speak.
    u2.send_group_texts(&gid, &["u2-before".to_string()], 0)
        .await?;

    // The owner mutes u2 for ten minutes: u2's next send is refused with 1402 …
    u1.sdk("change_group_member_mute", json!([gid, "mu2", 600]))
        .await?;
    let r = u2.try_send("", &gid, "u2-muted").await?;
    if r["code"] != MUTED_IN_GROUP {
        return Err(u2.fail(&format!(
            "send by a muted member: expected errCode {MUTED_IN_GROUP}, got {r}"
        )));
    }
    // … while u3 is unaffected.
    u3.send_group_texts(&gid, &["u3-while-u2-muted".to_string()], 0)
        .await?;

    // The owner mutes the whole group: a member's send is refused with 1403, the owner's not.
    u1.sdk("change_group_mute", json!([gid, 1])).await?;
    let r = u3.try_send("", &gid, "u3-group-muted").await?;
    if r["code"] != MUTED_GROUP {
        return Err(u3.fail(&format!(
            "send by a member of a muted group: expected errCode {MUTED_GROUP}, got {r}"
        )));
    }
    u1.send_group_texts(&gid, &["owner-while-muted".to_string()], 0)
        .await?;
    u3.wait_received("the owner's message in the muted group", 1, WAIT, |m| {
        m["groupID"] == gid.as_str() && text_of(m) == "owner-while-muted"
    })
    .await?;

    // Unmuting the group lets u3 speak again (u2 stays muted on its own).
    u1.sdk("change_group_mute", json!([gid, 0])).await?;
    u3.send_group_texts(&gid, &["u3-after-unmute".to_string()], 0)
        .await?;
    let r = u2.try_send("", &gid, "u2-still-muted").await?;
    if r["code"] != MUTED_IN_GROUP {
        return Err(u2.fail(&format!(
            "muted member after the group unmute: expected errCode {MUTED_IN_GROUP}, got {r}"
        )));
    }
    u1.wait_received("u3's message after the unmute", 1, WAIT, |m| {
        m["groupID"] == gid.as_str() && text_of(m) == "u3-after-unmute"
    })
    .await?;
    // Nobody received a refused message.
    let refused = ["u2-muted", "u3-group-muted", "u2-still-muted"];
    for d in [&u1, &u2, &u3] {
        if let Some(m) = group_texts(d, &gid, None)
            .iter()
            .find(|m| refused.contains(&text_of(m)))
        {
            return Err(d.fail(&format!("a refused message was delivered: {m}")));
        }
    }

    u1.pass();
    u2.pass();
    u3.pass();
    rill.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_invite_quit_transfer() -> anyhow::Result<()> {
    if !require("group_invite_quit_transfer", true, false)? {
        return Ok(());
    }
    let rill = Rill::start("e2e_group_members").await?;
    rill.rest.register(&["iu1", "iu2", "iu3"]).await?;
    let mut u1 = core_client(&rill, "iu1", "iu1", DEADLINE).await?;
    let mut u2 = core_client(&rill, "iu2", "iu2", DEADLINE).await?;
    let mut u3 = core_client(&rill, "iu3", "iu3", DEADLINE).await?;
    u1.login().await?;
    u2.login().await?;
    u3.login().await?;

    let gid = create_group(&mut u1, "e2e members", &["iu2"]).await?;
    let conv = sg(&gid);
    sees_group(&mut u2, &gid).await?;
    u1.send_group_texts(&gid, &["before-invite".to_string()], 0)
        .await?;

    // Invite: u3 joins, sees the group, and (OpenIM's default enableHistoryForNewMembers) the
    // history from before it joined plus the MemberInvited notice.
    u1.sdk("invite_user_to_group", json!([gid, "welcome", ["iu3"]]))
        .await?;
    let g = sees_group(&mut u3, &gid).await?;
    if g["memberCount"] != 3 {
        return Err(u3.fail(&format!("after the invite the group has 3 members: {g}")));
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let msgs = history(&mut u3, &conv, 20).await?;
        let has_before = msgs.iter().any(|m| text_of(m) == "before-invite");
        let has_notice = msgs.iter().any(|m| content_type(m) == MEMBER_INVITED);
        if has_before && has_notice {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            let kinds: Vec<(i64, i64, &str)> = msgs
                .iter()
                .map(|m| (seq_of(m), content_type(m), text_of(m)))
                .collect();
            return Err(u3.fail(&format!(
                "new member's history of {conv} should hold the earlier text and the \
                 MemberInvited notice (1509): {kinds:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    u3.send_group_texts(&gid, &["hello from iu3".to_string()], 0)
        .await?;
    for d in [&mut u1, &mut u2] {
        d.wait_received("the new member's text", 1, WAIT, |m| {
            m["groupID"] == gid.as_str() && text_of(m) == "hello from iu3"
        })
        .await?;
    }

    // Quit: u2 leaves; its joined list drops the group, the others' member lists drop u2, and
    // later messages do not reach it.
    u2.sdk("quit_group", json!([gid])).await?;
    sdk_until(
        &mut u2,
        "get_joined_group_list",
        json!([]),
        "the group gone after quitting",
        |l| l.as_array().is_some() && !has(l, "groupID", &gid),
    )
    .await?;
    sdk_until(
        &mut u1,
        "get_group_member_list",
        json!([gid, 0, 0, 100]),
        "iu1 and iu3 after iu2 quit",
        |l| l.as_array().is_some_and(|l| l.len() == 2) && !has(l, "userID", "iu2"),
    )
    .await?;
    u1.send_group_texts(&gid, &["after-quit".to_string()], 0)
        .await?;
    u3.wait_received("the text after the quit", 1, WAIT, |m| {
        m["groupID"] == gid.as_str() && text_of(m) == "after-quit"
    })
    .await?;

    // Transfer: u3 becomes the owner, u1 an ordinary member (OpenIM: role 20) who may no
    // longer dismiss the group.
    u1.sdk("transfer_group_owner", json!([gid, "iu3"])).await?;
    let members = sdk_until(
        &mut u3,
        "get_group_member_list",
        json!([gid, 0, 0, 100]),
        "iu3 owner (100), iu1 member (20)",
        |l| {
            l.as_array().is_some_and(|l| {
                l.iter()
                    .any(|m| m["userID"] == "iu3" && m["roleLevel"] == 100)
                    && l.iter()
                        .any(|m| m["userID"] == "iu1" && m["roleLevel"] == 20)
            })
        },
    )
    .await?;
    sdk_until(
        &mut u3,
        "get_specified_groups_info",
        json!([[gid]]),
        "ownerUserID iu3",
        |l| {
            l.as_array()
                .is_some_and(|l| l.iter().any(|g| g["ownerUserID"] == "iu3"))
        },
    )
    .await
    .map_err(|e| e.context(format!("members: {members}")))?;
    let r = u1.sdk_result("dismiss_group", json!([gid])).await?;
    if r["code"] != NO_PERMISSION {
        return Err(u1.fail(&format!(
            "dismiss by a former owner: expected errCode {NO_PERMISSION}, got {r}"
        )));
    }

    // The member who quit received nothing sent after it left.
    u2.idle(Duration::from_secs(1)).await;
    if let Some(m) = group_texts(&u2, &gid, None)
        .iter()
        .find(|m| text_of(m) == "after-quit")
    {
        return Err(u2.fail(&format!("a member who quit received a later message: {m}")));
    }

    u1.pass();
    u2.pass();
    u3.pass();
    rill.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_dismiss_reaches_members_and_refuses_sends() -> anyhow::Result<()> {
    if !require(
        "group_dismiss_reaches_members_and_refuses_sends",
        true,
        false,
    )? {
        return Ok(());
    }
    let rill = Rill::start("e2e_group_dismiss").await?;
    rill.rest.register(&["du1", "du2"]).await?;
    let mut u1 = core_client(&rill, "du1", "du1", DEADLINE).await?;
    let mut u2 = core_client(&rill, "du2", "du2", DEADLINE).await?;
    u1.login().await?;
    u2.login().await?;
    let gid = create_group(&mut u1, "e2e dismiss", &["du2"]).await?;
    sees_group(&mut u2, &gid).await?;
    u2.send_group_texts(&gid, &["before-dismiss".to_string()], 0)
        .await?;

    // The SDK dismisses without deleteMember. OpenIM's push worker removes every member when
    // it handles the 1511 notice, before pushing it (push_handler.go: Push2Group runs
    // groupMessagesHandler, whose deferred DismissGroup(deleteMember=true) completes before
    // GetConnsAndOnlinePush), so the member's SDK, syncing on that notice, drops the group.
    u1.sdk("dismiss_group", json!([gid])).await?;
    u2.wait_event(json!(GROUP_DISMISSED), WAIT).await?;
    sdk_until(
        &mut u2,
        "get_joined_group_list",
        json!([]),
        "the dismissed group gone from the member's joined groups",
        |l| l.as_array().is_some() && !has(l, "groupID", &gid),
    )
    .await?;
    u2.wait_event(json!(JOINED_GROUP_DELETED), WAIT).await?;
    // A send to the dismissed group is refused with 1204 (and must not crash the SDK).
    let r = u2.try_send("", &gid, "after-dismiss").await?;
    if r["code"] != DISMISSED_ALREADY {
        return Err(u2.fail(&format!(
            "send to a dismissed group: expected errCode {DISMISSED_ALREADY}, got {r}"
        )));
    }
    // The history up to the dismissal stays readable.
    let msgs = history(&mut u2, &sg(&gid), 20).await?;
    if !msgs.iter().any(|m| text_of(m) == "before-dismiss") {
        let kinds: Vec<(i64, i64)> = msgs.iter().map(|m| (seq_of(m), content_type(m))).collect();
        return Err(u2.fail(&format!(
            "history after the dismissal lost the earlier text: {kinds:?}"
        )));
    }

    u1.pass();
    u2.pass();
    rill.stop().await
}
