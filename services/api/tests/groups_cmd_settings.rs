//! Group commands that change fields: mute_group_member / cancel_mute_group_member,
//! mute_group / cancel_mute_group, set_group_info(_ex), set_group_member_info.
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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_members() {
    let h = Harness::start().await;
    let [u1, u2, _, u4, _] = world(&h).await;
    let mute =
        |user: &str, secs: u32| json!({"groupID": "g1", "userID": user, "mutedSeconds": secs});
    // Nobody mutes the owner; only the owner mutes admins; managers mute members.
    h.post("/group/mute_group_member", Some(&u2), mute("u1", 60))
        .await
        .expect(1002);
    h.post("/group/mute_group_member", Some(&u2), mute("u3", 60))
        .await
        .expect(1002);
    h.post("/group/mute_group_member", Some(&u4), mute("u5", 60))
        .await
        .expect(1002);
    h.post("/group/mute_group_member", Some(&u2), mute("u5", 0))
        .await
        .expect(1001);
    h.post("/group/mute_group_member", Some(&u2), mute("ghost", 60))
        .await
        .expect(1004);

    let before = now_ms();
    h.post("/group/mute_group_member", Some(&u2), mute("u5", 600))
        .await
        .expect_empty_ok();
    let until = member_row(&h, "g1", "u5").await.unwrap()["mute_end_time"]
        .as_i64()
        .unwrap();
    assert!(
        until >= before + 600_000 && until <= now_ms() + 600_000,
        "{until}"
    );
    let s = last(&h, "g1").await;
    assert_eq!(s.content_type, 1512);
    assert_eq!(s.detail["mutedSeconds"], 600);
    assert_eq!(s.detail["mutedUser"]["userID"], "u5");
    assert_eq!(s.detail["mutedUser"]["muteEndTime"], until);
    assert_eq!(s.detail["opUser"]["userID"], "u2");
    // The owner mutes an admin.
    h.post("/group/mute_group_member", Some(&u1), mute("u3", 60))
        .await
        .expect_empty_ok();

    // Cancelling follows the same rules.
    h.post(
        "/group/cancel_mute_group_member",
        Some(&u4),
        json!({"groupID": "g1", "userID": "u5"}),
    )
    .await
    .expect(1002);
    h.post(
        "/group/cancel_mute_group_member",
        Some(&u2),
        json!({"groupID": "g1", "userID": "u5"}),
    )
    .await
    .expect_empty_ok();
    assert_eq!(
        member_row(&h, "g1", "u5").await.unwrap()["mute_end_time"],
        0
    );
    let s = last(&h, "g1").await;
    assert_eq!(s.content_type, 1513);
    assert_eq!(s.detail["mutedUser"]["muteEndTime"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_group() {
    let h = Harness::start().await;
    let [u1, u2, _, u4, _] = world(&h).await;
    h.post("/group/mute_group", Some(&u4), json!({"groupID": "g1"}))
        .await
        .expect(1002);
    h.post("/group/mute_group", Some(&u2), json!({"groupID": "g1"}))
        .await
        .expect_empty_ok();
    assert_eq!(group_row(&h, "g1").await["status"], 3);
    let s = last(&h, "g1").await;
    assert_eq!(s.content_type, 1514);
    assert_eq!(s.detail["group"]["status"], 3);
    assert_eq!(s.detail["opUser"]["userID"], "u2");
    h.post(
        "/group/cancel_mute_group",
        Some(&u1),
        json!({"groupID": "g1"}),
    )
    .await
    .expect_empty_ok();
    assert_eq!(group_row(&h, "g1").await["status"], 0);
    assert_eq!(last(&h, "g1").await.content_type, 1515);
    h.admin("/group/mute_group", json!({"groupID": "nope"}))
        .await
        .expect(1004);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_group_info_variants() {
    let h = Harness::start().await;
    let [u1, u2, _, u4, _] = world(&h).await;
    // Ordinary members may not; managers may.
    h.post(
        "/group/set_group_info",
        Some(&u4),
        json!({"groupInfoForSet": {"groupID": "g1", "groupName": "x"}}),
    )
    .await
    .expect(1002);
    h.post(
        "/group/set_group_info",
        Some(&u2),
        json!({"groupInfoForSet": {"groupID": "g1", "groupName": "renamed"}}),
    )
    .await
    .expect_empty_ok();
    assert_eq!(group_row(&h, "g1").await["group_name"], "renamed");
    let s = last(&h, "g1").await;
    assert_eq!(s.content_type, 1520);
    assert_eq!(s.detail["group"]["groupName"], "renamed");
    // The announcement: 1519 stored, who and when recorded, conversations marked.
    let before = now_ms();
    h.post(
        "/group/set_group_info",
        Some(&u1),
        json!({"groupInfoForSet": {"groupID": "g1", "notification": "read me"}}),
    )
    .await
    .expect_empty_ok();
    let g = group_row(&h, "g1").await;
    assert_eq!(g["notification"], "read me");
    assert_eq!(g["notification_user_id"], "u1");
    assert!(g["notification_update_time"].as_i64().unwrap() >= before);
    let s = last(&h, "g1").await;
    assert_eq!(s.content_type, 1519);
    assert_eq!(s.detail["group"]["notificationUserID"], "u1");
    let row = rill_store::conversations::get(h.app.store().database(), "u4", "sg_g1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.group_at_type, 4);
    // Other fields: 1502, which is not stored in the chat by default.
    let count = stored(&h, "g1").await.len();
    h.post(
        "/group/set_group_info",
        Some(&u1),
        json!({"groupInfoForSet": {"groupID": "g1", "introduction": "about", "needVerification": 2}}),
    )
    .await
    .expect_empty_ok();
    let g = group_row(&h, "g1").await;
    assert_eq!(
        (g["introduction"].clone(), g["need_verification"].clone()),
        (json!("about"), json!(2))
    );
    assert_eq!(stored(&h, "g1").await.len(), count);

    // _ex writes present values, empty ones included.
    h.post(
        "/group/set_group_info_ex",
        Some(&u2),
        json!({"groupID": "g1", "introduction": "", "ex": "e"}),
    )
    .await
    .expect_empty_ok();
    let g = group_row(&h, "g1").await;
    assert_eq!(
        (g["introduction"].clone(), g["ex"].clone()),
        (json!(""), json!("e"))
    );
    // OpenIM's quirk: a blank name answers success and writes nothing at all.
    h.post(
        "/group/set_group_info_ex",
        Some(&u2),
        json!({"groupID": "g1", "groupName": "  ", "ex": "f"}),
    )
    .await
    .expect_empty_ok();
    let g = group_row(&h, "g1").await;
    assert_eq!(
        (g["group_name"].clone(), g["ex"].clone()),
        (json!("renamed"), json!("e"))
    );
    h.post(
        "/group/set_group_info_ex",
        Some(&u4),
        json!({"groupID": "g1", "ex": "f"}),
    )
    .await
    .expect(1002);
    h.admin(
        "/group/set_group_info_ex",
        json!({"groupID": "nope", "ex": "f"}),
    )
    .await
    .expect(1004);
    // A dismissed group: 1204.
    h.post(
        "/group/dismiss_group",
        Some(&u1),
        json!({"groupID": "g1", "deleteMember": true}),
    )
    .await
    .expect_empty_ok();
    h.admin(
        "/group/set_group_info_ex",
        json!({"groupID": "g1", "ex": "f"}),
    )
    .await
    .expect(1204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_group_member_info_rules() {
    let h = Harness::start().await;
    let [u1, u2, _, u4, _] = world(&h).await;
    let set = |user: &str, fields: serde_json::Value| {
        let mut m = json!({"groupID": "g1", "userID": user});
        m.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        json!({"members": [m]})
    };
    // Nobody is made owner this way; unknown roles are 1001.
    h.post(
        "/group/set_group_member_info",
        Some(&u1),
        set("u4", json!({"roleLevel": 100})),
    )
    .await
    .expect(1002);
    h.post(
        "/group/set_group_member_info",
        Some(&u1),
        set("u4", json!({"roleLevel": 30})),
    )
    .await
    .expect(1001);
    // Ordinary members edit only themselves; admins not the owner or other admins.
    h.post(
        "/group/set_group_member_info",
        Some(&u4),
        set("u5", json!({"nickname": "x"})),
    )
    .await
    .expect(1002);
    h.post(
        "/group/set_group_member_info",
        Some(&u2),
        set("u1", json!({"nickname": "x"})),
    )
    .await
    .expect(1002);
    h.post(
        "/group/set_group_member_info",
        Some(&u2),
        set("u3", json!({"nickname": "x"})),
    )
    .await
    .expect(1002);
    // Nobody raises their own role; the owner keeps theirs.
    h.post(
        "/group/set_group_member_info",
        Some(&u4),
        set("u4", json!({"roleLevel": 60})),
    )
    .await
    .expect(1002);
    h.post(
        "/group/set_group_member_info",
        Some(&u1),
        set("u1", json!({"roleLevel": 60})),
    )
    .await
    .expect(1001);
    // Not in the group.
    h.post(
        "/group/set_group_member_info",
        Some(&u1),
        set("ghost", json!({"nickname": "x"})),
    )
    .await
    .expect(1001);

    // A member sets their own group nickname (1516, not stored by default).
    let count = stored(&h, "g1").await.len();
    h.post(
        "/group/set_group_member_info",
        Some(&u4),
        set("u4", json!({"nickname": "Cat", "ex": "e"})),
    )
    .await
    .expect_empty_ok();
    let row = member_row(&h, "g1", "u4").await.unwrap();
    assert_eq!(
        (row["nickname"].clone(), row["ex"].clone()),
        (json!("Cat"), json!("e"))
    );
    assert_eq!(stored(&h, "g1").await.len(), count);
    // The owner makes u4 an admin and u2 ordinary.
    h.post(
        "/group/set_group_member_info",
        Some(&u1),
        json!({"members": [
            {"groupID": "g1", "userID": "u4", "roleLevel": 60},
            {"groupID": "g1", "userID": "u2", "roleLevel": 20}
        ]}),
    )
    .await
    .expect_empty_ok();
    let r = roles(&h, "g1").await;
    assert_eq!((r["u4"], r["u2"]), (ROLE_ADMIN, MEMBER));
    // An app admin outside the group may edit anyone.
    h.admin(
        "/group/set_group_member_info",
        set("u1", json!({"faceURL": "f"})),
    )
    .await
    .expect_empty_ok();
    assert_eq!(member_row(&h, "g1", "u1").await.unwrap()["face_url"], "f");
}
