//! `/msg/delete_msgs` through the router: deleting for oneself turns those seqs into status-4
//! messages with empty content for that user only; deleting for everyone (IsSyncOther) turns
//! them into `{seq, status 4}` placeholders for every reader.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Harness;
use rill_app::Caller;
use rill_wire::pb::msg::GetLastMessageReq;
use serde_json::{Value, json};

/// (seq, status, content) of each pulled message.
fn summary(msgs: &[Value]) -> Vec<(i64, i64, String)> {
    msgs.iter()
        .map(|m| {
            (
                m["seq"].as_i64().unwrap_or(-1),
                m["status"].as_i64().unwrap_or(-1),
                m["content"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

/// Content travels as base64 bytes (Go's JSON of a proto `bytes` field); empty when hidden.
fn shown(content: &str) -> bool {
    !content.is_empty() && content != "?"
}

async fn delete(h: &Harness, token: &str, body: Value) -> common::Resp {
    h.post("/msg/delete_msgs", Some(token), body).await
}

async fn last_message(h: &Harness, user: &str, conv: &str) -> Option<(i64, i32)> {
    let caller = Caller {
        user_id: user.to_string(),
        platform_id: 1,
        is_admin: false,
    };
    let resp = h
        .app
        .last_messages(
            &caller,
            GetLastMessageReq {
                user_id: user.to_string(),
                conversation_i_ds: vec![conv.to_string()],
            },
        )
        .await
        .unwrap();
    resp.msgs.get(conv).map(|m| (m.seq, m.status))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_for_self_hides_the_seqs_from_that_user_only() {
    let h = Harness::start().await;
    h.register(&["ea", "eb"]).await;
    let (ta, tb) = (h.user_token("ea", 2).await, h.user_token("eb", 2).await);
    let conv = "si_ea_eb";
    h.send_texts("ea", "eb", 3).await;

    delete(
        &h,
        &ta,
        json!({"conversationID": conv, "seqs": [2, 3], "userID": "ea",
               "deleteSyncOpt": {"IsSyncSelf": true, "IsSyncOther": false}}),
    )
    .await
    .expect(0);

    let mine = h.pull(&ta, "ea", conv).await;
    let s = summary(&mine);
    assert_eq!(s.len(), 3, "{s:?}");
    assert_eq!((s[0].0, s[0].1), (1, 2));
    assert!(shown(&s[0].2), "{s:?}");
    for (i, seq) in [(1, 2), (2, 3)] {
        assert_eq!(s[i].0, seq);
        assert_eq!(s[i].1, 4, "deleted for the user: status 4 ({s:?})");
        assert_eq!(s[i].2, "", "deleted for the user: empty content");
        // OpenIM keeps the other fields of a message deleted for one user.
        assert_eq!(mine[i]["sendID"], "ea");
    }
    let theirs = summary(&h.pull(&tb, "eb", conv).await);
    assert!(
        theirs.iter().all(|(_, st, c)| *st == 2 && shown(c)),
        "peer unaffected: {theirs:?}"
    );

    // 1007: the newest message is still seq 3, deleted for ea (as OpenIM), intact for eb.
    assert_eq!(last_message(&h, "ea", conv).await, Some((3, 4)));
    assert_eq!(last_message(&h, "eb", conv).await, Some((3, 2)));

    // Deleting again is harmless; a seq not sent yet is ignored, so it stays visible later.
    delete(
        &h,
        &ta,
        json!({"conversationID": conv, "seqs": [3, 4], "userID": "ea"}),
    )
    .await
    .expect(0);
    h.send_texts("eb", "ea", 1).await;
    let s = summary(&h.pull(&ta, "ea", conv).await);
    assert_eq!(s.len(), 4);
    assert_eq!(s[3].0, 4);
    assert_eq!(s[3].1, 2, "a message sent after the delete: {s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_for_everyone_hides_the_seqs_from_both_ends() {
    let h = Harness::start().await;
    h.register(&["fa", "fb"]).await;
    let (ta, tb) = (h.user_token("fa", 2).await, h.user_token("fb", 2).await);
    let conv = "si_fa_fb";
    h.send_texts("fa", "fb", 3).await;

    delete(
        &h,
        &tb,
        json!({"conversationID": conv, "seqs": [3], "userID": "fb",
               "deleteSyncOpt": {"IsSyncSelf": true, "IsSyncOther": true}}),
    )
    .await
    .expect(0);

    for (token, user) in [(&ta, "fa"), (&tb, "fb")] {
        let msgs = h.pull(token, user, conv).await;
        let s = summary(&msgs);
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s[..2].iter().all(|(_, st, c)| *st == 2 && shown(c)));
        assert_eq!((s[2].0, s[2].1), (3, 4), "{user}: {s:?}");
        assert_eq!(s[2].2, "");
        // Deleted for everyone: the bare placeholder OpenIM returns for a removed message.
        assert_eq!(msgs[2]["sendID"], "", "{user}");
        // 1007 skips it, as OpenIM skips a physically deleted message.
        assert_eq!(last_message(&h, user, conv).await, Some((2, 2)), "{user}");
    }

    // A message deleted for everyone can no longer be revoked.
    h.post(
        "/msg/revoke_msg",
        Some(&ta),
        json!({"conversationID": conv, "seq": 3, "userID": "fa"}),
    )
    .await
    .expect(1004);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_deletes_are_refused() {
    let h = Harness::start().await;
    h.register(&["ga", "gb", "gc"]).await;
    let (ta, tc) = (h.user_token("ga", 2).await, h.user_token("gc", 2).await);
    let conv = "si_ga_gb";
    h.send_texts("ga", "gb", 1).await;

    for body in [
        json!({"conversationID": "", "seqs": [1], "userID": "ga"}),
        json!({"conversationID": conv, "seqs": [], "userID": "ga"}),
        json!({"conversationID": conv, "seqs": [0], "userID": "ga"}),
        json!({"conversationID": conv, "seqs": [1]}),
    ] {
        delete(&h, &ta, body).await.expect(1001);
    }
    // Someone else's messages: 1002; a conversation the user is not part of: 1002.
    delete(
        &h,
        &tc,
        json!({"conversationID": conv, "seqs": [1], "userID": "ga"}),
    )
    .await
    .expect(1002);
    delete(
        &h,
        &tc,
        json!({"conversationID": conv, "seqs": [1], "userID": "gc"}),
    )
    .await
    .expect(1002);
    // Nothing was deleted by the refused requests.
    let s = summary(&h.pull(&ta, "ga", conv).await);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].1, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_deletes_follow_membership() {
    let h = Harness::start().await;
    let ta = h.user("ha").await;
    let tb = h.user("hb").await;
    let tc = h.user("hc").await;
    h.post(
        "/group/create_group",
        Some(&ta),
        json!({"memberUserIDs": ["hb"], "adminUserIDs": [], "ownerUserID": "ha",
               "groupInfo": {"groupID": "gdel", "groupName": "g", "groupType": 2}}),
    )
    .await
    .expect(0);
    let conv = "sg_gdel";
    for i in 0..2 {
        h.admin(
            "/msg/send_msg",
            json!({"sendID": "ha", "groupID": "gdel", "senderPlatformID": 1,
                   "content": {"content": format!("g{i}")}, "contentType": 101, "sessionType": 3}),
        )
        .await
        .expect(0);
    }
    let before = summary(&h.pull(&ta, "ha", conv).await);
    let last = before.last().map(|m| m.0).unwrap();
    assert!(last >= 2, "{before:?}");

    // hb deletes the newest for everyone and the one before for themselves.
    delete(
        &h,
        &tb,
        json!({"conversationID": conv, "seqs": [last], "userID": "hb",
               "deleteSyncOpt": {"IsSyncSelf": false, "IsSyncOther": true}}),
    )
    .await
    .expect(0);
    delete(
        &h,
        &tb,
        json!({"conversationID": conv, "seqs": [last - 1], "userID": "hb"}),
    )
    .await
    .expect(0);
    let status_of = |s: &[(i64, i64, String)], seq: i64| {
        s.iter().find(|m| m.0 == seq).map(|m| m.1).unwrap_or(-1)
    };
    let a = summary(&h.pull(&ta, "ha", conv).await);
    let b = summary(&h.pull(&tb, "hb", conv).await);
    assert_eq!(status_of(&a, last), 4, "{a:?}");
    assert_eq!(status_of(&b, last), 4, "{b:?}");
    assert_eq!(status_of(&a, last - 1), 2, "{a:?}");
    assert_eq!(status_of(&b, last - 1), 4, "{b:?}");

    // Not a member: may not delete in the group.
    delete(
        &h,
        &tc,
        json!({"conversationID": conv, "seqs": [1], "userID": "hc"}),
    )
    .await
    .expect(1002);
}
