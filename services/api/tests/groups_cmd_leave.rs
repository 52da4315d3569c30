//! Group commands that remove members or change the owner: kick_group, quit_group,
//! transfer_group and dismiss_group, with the leavers' conversation cap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod group_cmd_fixture;

use common::*;
use group_cmd_fixture::*;
use serde_json::json;

/// g1: u1 owner, u2 and u3 admins, u4 and u5 members. Returns the five tokens.
async fn world(h: &Harness) -> [String; 5] {
    let mut tokens = Vec::new();
    for u in ["u1", "u2", "u3", "u4", "u5"] {
        tokens.push(h.user(u).await);
    }
    make_group(h, &tokens[0], "g1", "u1", &["u2", "u3"], &["u4", "u5"], 0).await;
    tokens.try_into().unwrap()
}

fn kick(users: &[&str]) -> serde_json::Value {
    json!({"groupID": "g1", "kickedUserIDs": users, "reason": ""})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_permissions_notice_and_cap() {
    let h = Harness::start().await;
    let [u1, u2, _, u4, _] = world(&h).await;
    // Ordinary members kick nobody; admins kick neither admins nor the owner.
    h.post("/group/kick_group", Some(&u4), kick(&["u5"]))
        .await
        .expect(1002);
    h.post("/group/kick_group", Some(&u2), kick(&["u3"]))
        .await
        .expect(1002);
    // The owner cannot be kicked, nobody kicks themselves (OpenIM: 1001).
    h.post("/group/kick_group", Some(&u2), kick(&["u1"]))
        .await
        .expect(1001);
    h.post("/group/kick_group", Some(&u2), kick(&["u2"]))
        .await
        .expect(1001);
    h.post("/group/kick_group", Some(&u1), kick(&[]))
        .await
        .expect(1001);
    h.post("/group/kick_group", Some(&u1), kick(&["u5", "u5"]))
        .await
        .expect(1001);
    // Someone not in the group: 1101 (OpenIM's ErrUserIDNotFound).
    h.post("/group/kick_group", Some(&u1), kick(&["ghost"]))
        .await
        .expect(1101);
    h.post(
        "/group/kick_group",
        Some(&u1),
        json!({"groupID": "nope", "kickedUserIDs": ["u5"]}),
    )
    .await
    .expect(1004);
    assert_eq!(roles(&h, "g1").await.len(), 5);

    // The admin kicks u5: the row goes, 1508 is stored, u5 sees the chat up to it.
    h.post("/group/kick_group", Some(&u2), kick(&["u5"]))
        .await
        .expect_empty_ok();
    assert!(!roles(&h, "g1").await.contains_key("u5"));
    let s = last(&h, "g1").await;
    assert_eq!(s.content_type, 1508);
    assert_eq!(s.send_id, "u2");
    assert_eq!(ids(&s.detail["kickedUserList"], "userID"), ["u5"]);
    assert_eq!(s.detail["kickedUserList"][0]["nickname"], "u5");
    assert_eq!(s.detail["opUser"]["userID"], "u2");
    assert_eq!(s.detail["group"]["memberCount"], 4);
    assert_eq!(conversation(&h, "u5", "g1").await, Some((0, s.seq)));
    // Others are not capped; later messages are beyond u5's cap.
    assert_eq!(conversation(&h, "u4", "g1").await, Some((0, 0)));
    h.post(
        "/group/mute_group_member",
        Some(&u1),
        json!({"groupID": "g1", "userID": "u4", "mutedSeconds": 60}),
    )
    .await
    .expect_empty_ok();
    let later = last(&h, "g1").await.seq;
    assert!(later > s.seq);
    let bounds = h
        .app
        .visible_bounds("u5", &["sg_g1".to_string()])
        .await
        .unwrap();
    assert_eq!(bounds["sg_g1"].max, s.seq);
    // The owner kicks an admin; an app admin kicks anyone but the owner.
    h.post("/group/kick_group", Some(&u1), kick(&["u3"]))
        .await
        .expect_empty_ok();
    h.admin("/group/kick_group", kick(&["u4"]))
        .await
        .expect_empty_ok();
    assert_eq!(
        roles(&h, "g1").await.into_keys().collect::<Vec<_>>(),
        ["u1", "u2"]
    );
    // A kicked user who is invited again has the cap removed.
    h.post(
        "/group/invite_user_to_group",
        Some(&u1),
        json!({"groupID": "g1", "invitedUserIDs": ["u5"]}),
    )
    .await
    .expect_empty_ok();
    assert_eq!(conversation(&h, "u5", "g1").await, Some((0, 0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quit_group() {
    let h = Harness::start().await;
    let [u1, _, u3, u4, _] = world(&h).await;
    // The owner cannot quit; nobody quits for someone else.
    h.post("/group/quit_group", Some(&u1), json!({"groupID": "g1"}))
        .await
        .expect(1002);
    h.post(
        "/group/quit_group",
        Some(&u3),
        json!({"groupID": "g1", "userID": "u4"}),
    )
    .await
    .expect(1002);
    h.post("/group/quit_group", Some(&u1), json!({"groupID": "nope"}))
        .await
        .expect(1004);
    h.post("/group/quit_group", Some(&u4), json!({"groupID": "g1"}))
        .await
        .expect_empty_ok();
    assert!(!roles(&h, "g1").await.contains_key("u4"));
    let s = last(&h, "g1").await;
    assert_eq!(s.content_type, 1504);
    assert_eq!(s.detail["quitUser"]["userID"], "u4");
    assert_eq!(s.detail["quitUser"]["nickname"], "u4");
    assert_eq!(s.detail["group"]["memberCount"], 4);
    assert_eq!(conversation(&h, "u4", "g1").await, Some((0, s.seq)));
    // Not a member any more: 1004.
    h.post("/group/quit_group", Some(&u4), json!({"groupID": "g1"}))
        .await
        .expect(1004);
    // An app admin makes u3 quit.
    h.admin(
        "/group/quit_group",
        json!({"groupID": "g1", "userID": "u3"}),
    )
    .await
    .expect_empty_ok();
    assert!(!roles(&h, "g1").await.contains_key("u3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_group_owner() {
    let h = Harness::start().await;
    let [u1, u2, _, _, _] = world(&h).await;
    let transfer = |old: &str, new: &str| json!({"groupID": "g1", "oldOwnerUserID": old, "newOwnerUserID": new});
    h.post("/group/transfer_group", Some(&u2), transfer("u1", "u2"))
        .await
        .expect(1002);
    h.post("/group/transfer_group", Some(&u2), transfer("u2", "u4"))
        .await
        .expect(1002);
    h.post("/group/transfer_group", Some(&u1), transfer("u1", "u1"))
        .await
        .expect(1001);
    h.post("/group/transfer_group", Some(&u1), transfer("u1", "ghost"))
        .await
        .expect(1001);
    h.post(
        "/group/transfer_group",
        Some(&u1),
        json!({"groupID": "nope", "oldOwnerUserID": "u1", "newOwnerUserID": "u2"}),
    )
    .await
    .expect(1004);
    // A muted new owner is unmuted first (1513), then the owners swap roles (1507).
    h.post(
        "/group/mute_group_member",
        Some(&u1),
        json!({"groupID": "g1", "userID": "u4", "mutedSeconds": 600}),
    )
    .await
    .expect_empty_ok();
    h.post("/group/transfer_group", Some(&u1), transfer("u1", "u4"))
        .await
        .expect_empty_ok();
    let r = roles(&h, "g1").await;
    assert_eq!(r["u4"], OWNER);
    assert_eq!(r["u1"], MEMBER);
    assert_eq!(
        member_row(&h, "g1", "u4").await.unwrap()["mute_end_time"],
        0
    );
    let types = stored_types(&h, "g1").await;
    assert_eq!(types[types.len() - 3..], [1512, 1513, 1507]);
    let s = last(&h, "g1").await;
    assert_eq!(s.detail["group"]["ownerUserID"], "u4");
    assert_eq!(s.detail["newGroupOwner"]["userID"], "u4");
    assert_eq!(s.detail["newGroupOwner"]["roleLevel"], 100);
    assert_eq!(s.detail["oldGroupOwnerInfo"]["userID"], "u1");
    assert_eq!(s.detail["oldGroupOwnerInfo"]["roleLevel"], 20);
    assert_eq!(s.detail["oldGroupOwner"], "");
    // The old owner may now quit; an app admin transfers back.
    h.admin("/group/transfer_group", transfer("u4", "u2"))
        .await
        .expect_empty_ok();
    let r = roles(&h, "g1").await;
    assert_eq!((r["u2"], r["u4"]), (OWNER, ROLE_ADMIN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dismiss_group() {
    let h = Harness::start().await;
    let [u1, u2, _, _, _] = world(&h).await;
    h.post("/group/dismiss_group", Some(&u2), json!({"groupID": "g1"}))
        .await
        .expect(1002);
    h.post(
        "/group/dismiss_group",
        Some(&u1),
        json!({"groupID": "nope"}),
    )
    .await
    .expect(1004);
    h.post("/group/dismiss_group", Some(&u1), json!({"groupID": "g1"}))
        .await
        .expect_empty_ok();
    assert_eq!(group_row(&h, "g1").await["status"], 2);
    let s = last(&h, "g1").await;
    assert_eq!(s.content_type, 1511);
    assert_eq!(s.detail["opUser"]["userID"], "u1");
    // OpenIM's quirk: the tips carry the group as read before the dismissal.
    assert_eq!(s.detail["group"]["status"], 0);
    assert_eq!(s.detail["group"]["memberCount"], 5);
    // OpenIM's push worker removes every member on seeing 1511; each is capped at it.
    assert!(roles(&h, "g1").await.is_empty());
    for u in ["u1", "u2", "u3", "u4", "u5"] {
        assert_eq!(conversation(&h, u, "g1").await, Some((0, s.seq)), "{u}");
    }
    // Again: the owner is gone, so OpenIM's TakeGroupOwner answers 1004.
    h.post("/group/dismiss_group", Some(&u1), json!({"groupID": "g1"}))
        .await
        .expect(1004);

    // deleteMember: members go at once and no notification is sent.
    make_group(&h, &u1, "g2", "u1", &[], &["u2"], 0).await;
    let before = stored_types(&h, "g2").await;
    h.admin(
        "/group/dismiss_group",
        json!({"groupID": "g2", "deleteMember": true}),
    )
    .await
    .expect_empty_ok();
    assert_eq!(stored_types(&h, "g2").await, before);
    assert_eq!(group_row(&h, "g2").await["status"], 2);
    assert!(roles(&h, "g2").await.is_empty());
    assert_eq!(conversation(&h, "u2", "g2").await, Some((0, 1)));
}
