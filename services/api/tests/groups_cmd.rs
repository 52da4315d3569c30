//! Group commands that add members: create_group, invite_user_to_group, join_group and
//! group_application_response, with OpenIM's checks, codes, rows and notifications.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod group_cmd_fixture;

use common::*;
use group_cmd_fixture::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_group_writes_members_conversations_and_notice() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    h.register(&["u2", "u3"]).await;
    let before = rill_core_now();
    let data = make_group(&h, &u1, "", "u1", &["u2"], &["u3"], 0).await;
    let info = &data["groupInfo"];
    let gid = info["groupID"].as_str().unwrap().to_string();
    // A generated id is the decimal value of 8 hex digits.
    assert!(!gid.is_empty() && gid.len() <= 10, "{gid}");
    assert!(gid.parse::<u32>().is_ok(), "{gid}");
    assert_eq!(info["ownerUserID"], "u1");
    assert_eq!(info["memberCount"], 3);
    assert_eq!(info["groupType"], 2);
    assert_eq!(info["groupName"], "name-");
    assert!(info["createTime"].as_i64().unwrap() >= before);

    // Rows: roles, how they joined.
    let r = roles(&h, &gid).await;
    assert_eq!(
        r.into_iter().collect::<Vec<_>>(),
        [
            ("u1".into(), OWNER),
            ("u2".into(), ROLE_ADMIN),
            ("u3".into(), MEMBER)
        ]
    );
    let u3 = member_row(&h, &gid, "u3").await.unwrap();
    assert_eq!(u3["join_source"], 2);
    assert_eq!(u3["inviter_user_id"], "u1");
    assert_eq!(u3["operator_user_id"], "u1");
    assert_eq!(u3["mute_end_time"], 0);
    assert_eq!(group_row(&h, &gid).await["status"], 0);

    // Every member has the group conversation.
    for u in ["u1", "u2", "u3"] {
        assert_eq!(conversation(&h, u, &gid).await, Some((0, 0)), "{u}");
    }

    // 1501 GroupCreated is stored in the group chat with seq 1.
    let s = stored(&h, &gid).await;
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].seq, s[0].content_type), (1, 1501));
    assert_eq!(s[0].send_id, "u1");
    let tips = &s[0].detail;
    assert_eq!(tips["group"]["groupID"], gid.as_str());
    assert_eq!(tips["group"]["memberCount"], 3);
    assert_eq!(tips["opUser"]["userID"], "u1");
    assert_eq!(tips["opUser"]["roleLevel"], 100);
    assert_eq!(tips["opUser"]["nickname"], "u1");
    assert_eq!(tips["groupOwnerUser"]["userID"], "u1");
    // OpenIM's quirk: the member list stops at the operator, who is the owner listed first.
    assert_eq!(ids(&tips["memberList"], "userID"), ["u1"]);
    assert!(tips["groupMemberVersion"].as_u64().unwrap() >= 1);
    assert_eq!(
        tips["groupMemberVersionID"].as_str().unwrap().len(),
        24,
        "{tips}"
    );
}

fn rill_core_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_group_checks() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let u2 = h.user("u2").await;
    let body = |gid: &str, group_type: i32, members: &[&str]| {
        json!({
            "memberUserIDs": members, "adminUserIDs": [], "ownerUserID": "u1",
            "groupInfo": {"groupID": gid, "groupName": "x", "groupType": group_type}
        })
    };
    // Only working groups (type 2); OpenIM answers 1001, not 1205.
    h.post("/group/create_group", Some(&u1), body("", 0, &["u2"]))
        .await
        .expect(1001);
    h.post("/group/create_group", Some(&u1), body("", 3, &["u2"]))
        .await
        .expect(1001);
    // Repeated ids, the owner among the members included.
    h.post("/group/create_group", Some(&u1), body("", 2, &["u2", "u2"]))
        .await
        .expect(1001);
    h.post("/group/create_group", Some(&u1), body("", 2, &["u1"]))
        .await
        .expect(1001);
    // An unknown user.
    h.post("/group/create_group", Some(&u1), body("", 2, &["ghost"]))
        .await
        .expect(1101);
    // Someone else as owner.
    h.post("/group/create_group", Some(&u2), body("", 2, &["u2"]))
        .await
        .expect(1002);
    // A chosen id, then the same id again.
    h.post("/group/create_group", Some(&u1), body("g1", 2, &["u2"]))
        .await
        .expect(0);
    h.post("/group/create_group", Some(&u1), body("g1", 2, &[]))
        .await
        .expect(1202);
    // An app admin creates for u1 without joining; OpenIM counts the admin in memberCount.
    let data = h
        .admin("/group/create_group", body("g2", 2, &["u2"]))
        .await
        .expect(0);
    assert_eq!(data["groupInfo"]["memberCount"], 3);
    assert_eq!(roles(&h, "g2").await.len(), 2);
    let tips = last(&h, "g2").await.detail;
    assert_eq!(tips["opUser"]["userID"], ADMIN_ID);
    assert_eq!(tips["opUser"]["roleLevel"], 60);
    assert_eq!(tips["opUser"]["appMangerLevel"], 2);
    assert_eq!(ids(&tips["memberList"], "userID"), ["u1", "u2"]);
    // A notification text adds 1519 (stored).
    h.post(
        "/group/create_group",
        Some(&u1),
        json!({
            "memberUserIDs": [], "adminUserIDs": [], "ownerUserID": "u1",
            "groupInfo": {"groupID": "g3", "groupType": 2, "notification": "hello"}
        }),
    )
    .await
    .expect(0);
    assert_eq!(stored_types(&h, "g3").await, [1501, 1519]);
    // sendMessage false keeps the 1501 out of the chat.
    h.post(
        "/group/create_group",
        Some(&u1),
        json!({
            "memberUserIDs": ["u2"], "adminUserIDs": [], "ownerUserID": "u1",
            "groupInfo": {"groupID": "g4", "groupType": 2}, "sendMessage": false
        }),
    )
    .await
    .expect(0);
    assert!(stored(&h, "g4").await.is_empty());
}

const ADMIN_ID: &str = "imAdmin";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_adds_members_or_requests() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let u2 = h.user("u2").await;
    let u5 = h.user("u5").await;
    h.register(&["u3", "u4"]).await;
    // needVerification 1: invitations by ordinary members need approval.
    make_group(&h, &u1, "g1", "u1", &[], &["u2"], 1).await;
    let invite = |users: &[&str]| json!({"groupID": "g1", "invitedUserIDs": users});

    h.post("/group/invite_user_to_group", Some(&u2), invite(&["u3"]))
        .await
        .expect_empty_ok();
    assert!(!roles(&h, "g1").await.contains_key("u3"));
    let reqs = h
        .post(
            "/group/get_recv_group_applicationList",
            Some(&u1),
            json!({"fromUserID": "u1", "pagination": {"pageNumber": 1, "showNumber": 10}}),
        )
        .await
        .expect(0);
    assert_eq!(reqs["total"], 1, "{reqs}");
    let r = &reqs["groupRequests"][0];
    assert_eq!(r["userInfo"]["userID"], "u3");
    assert_eq!(r["inviterUserID"], "u2");
    assert_eq!(r["joinSource"], 2);
    assert_eq!(r["handleResult"], 0);
    // The owner's invitation adds directly: 1509 stored, conversation created.
    h.post("/group/invite_user_to_group", Some(&u1), invite(&["u4"]))
        .await
        .expect_empty_ok();
    assert_eq!(roles(&h, "g1").await.get("u4"), Some(&MEMBER));
    let row = member_row(&h, "g1", "u4").await.unwrap();
    assert_eq!(row["inviter_user_id"], "u1");
    assert_eq!(row["join_source"], 2);
    assert_eq!(conversation(&h, "u4", "g1").await, Some((0, 0)));
    let s = last(&h, "g1").await;
    assert_eq!(s.content_type, 1509);
    assert_eq!(ids(&s.detail["invitedUserList"], "userID"), ["u4"]);
    assert_eq!(s.detail["invitedUserList"][0]["nickname"], "u4");
    assert_eq!(s.detail["inviterUser"]["userID"], "u1");
    assert_eq!(s.detail["opUser"]["userID"], "u1");
    assert_eq!(s.detail["group"]["memberCount"], 3);

    // Checks.
    h.post("/group/invite_user_to_group", Some(&u1), invite(&[]))
        .await
        .expect(1001);
    h.post(
        "/group/invite_user_to_group",
        Some(&u1),
        invite(&["u3", "u3"]),
    )
    .await
    .expect(1001);
    h.post("/group/invite_user_to_group", Some(&u1), invite(&["ghost"]))
        .await
        .expect(1004);
    h.post("/group/invite_user_to_group", Some(&u1), invite(&["u4"]))
        .await
        .expect(1001);
    // Not a member: OpenIM's TakeGroupMember answers 1004.
    h.post("/group/invite_user_to_group", Some(&u5), invite(&["u3"]))
        .await
        .expect(1004);
    // Unknown group: 1004 too (OpenIM's TakeGroup), not 1201.
    h.post(
        "/group/invite_user_to_group",
        Some(&u1),
        json!({"groupID": "nope", "invitedUserIDs": ["u3"]}),
    )
    .await
    .expect(1004);
    // A dismissed group: 1204.
    h.post(
        "/group/dismiss_group",
        Some(&u1),
        json!({"groupID": "g1", "deleteMember": false}),
    )
    .await
    .expect_empty_ok();
    h.admin("/group/invite_user_to_group", invite(&["u5"]))
        .await
        .expect(1204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_and_application_response() {
    let h = Harness::start().await;
    let u1 = h.user("u1").await;
    let u2 = h.user("u2").await;
    let u3 = h.user("u3").await;
    let u4 = h.user("u4").await;
    make_group(&h, &u1, "g1", "u1", &["u2"], &["u3"], 0).await;
    let join = |user: &str| json!({"groupID": "g1", "reqMessage": "let me in", "joinSource": 3, "inviterUserID": user});
    // A request, not a member.
    h.post("/group/join_group", Some(&u4), join("u4"))
        .await
        .expect_empty_ok();
    assert!(!roles(&h, "g1").await.contains_key("u4"));
    // Joining for someone else is refused (OpenIM does not check; we do).
    h.post("/group/join_group", Some(&u4), join("u2"))
        .await
        .expect(1002);
    // Members and bad sources.
    h.post("/group/join_group", Some(&u3), join("u3"))
        .await
        .expect(1001);
    h.post(
        "/group/join_group",
        Some(&u4),
        json!({"groupID": "g1", "joinSource": 9, "inviterUserID": "u4"}),
    )
    .await
    .expect(1001);
    h.post(
        "/group/join_group",
        Some(&u4),
        json!({"groupID": "nope", "joinSource": 3, "inviterUserID": "u4"}),
    )
    .await
    .expect(1004);

    let answer = |user: &str, result: i32| json!({"groupID": "g1", "fromUserID": user, "handledMsg": "ok", "handleResult": result});
    // Ordinary members cannot answer; nobody answers with another result.
    h.post(
        "/group/group_application_response",
        Some(&u3),
        answer("u4", 1),
    )
    .await
    .expect(1002);
    h.post(
        "/group/group_application_response",
        Some(&u2),
        answer("u4", 0),
    )
    .await
    .expect(1001);
    // No request from u3: 1004.
    h.post(
        "/group/group_application_response",
        Some(&u2),
        answer("u3", 1),
    )
    .await
    .expect(1004);
    // The admin accepts: u4 enters (1510 stored, conversation created).
    h.post(
        "/group/group_application_response",
        Some(&u2),
        answer("u4", 1),
    )
    .await
    .expect_empty_ok();
    assert_eq!(roles(&h, "g1").await.get("u4"), Some(&MEMBER));
    let row = member_row(&h, "g1", "u4").await.unwrap();
    assert_eq!(row["join_source"], 3);
    assert_eq!(row["operator_user_id"], "u2");
    assert_eq!(conversation(&h, "u4", "g1").await, Some((0, 0)));
    let s = last(&h, "g1").await;
    assert_eq!(s.content_type, 1510);
    assert_eq!(s.detail["entrantUser"]["userID"], "u4");
    assert_eq!(s.detail["group"]["memberCount"], 4);
    // Handled already: 1206.
    h.post(
        "/group/group_application_response",
        Some(&u1),
        answer("u4", -1),
    )
    .await
    .expect(1206);
    let list = h
        .post(
            "/group/get_user_req_group_applicationList",
            Some(&u4),
            json!({"userID": "u4", "pagination": {"pageNumber": 1, "showNumber": 10}}),
        )
        .await
        .expect(0);
    let r = &list["groupRequests"][0];
    assert_eq!(r["handleResult"], 1, "{list}");
    assert_eq!(r["reqMsg"], "let me in");
    assert_eq!(r["handleMsg"], "ok");
    assert_eq!(r["handleUserID"], "u2");

    // needVerification 2: joining is direct.
    h.post(
        "/group/set_group_info_ex",
        Some(&u1),
        json!({"groupID": "g1", "needVerification": 2}),
    )
    .await
    .expect_empty_ok();
    let u5 = h.user("u5").await;
    h.post("/group/join_group", Some(&u5), join("u5"))
        .await
        .expect_empty_ok();
    assert_eq!(roles(&h, "g1").await.get("u5"), Some(&MEMBER));
    // OpenIM's quirk: the joiner is its own inviter.
    assert_eq!(
        member_row(&h, "g1", "u5").await.unwrap()["inviter_user_id"],
        "u5"
    );
    assert_eq!(last(&h, "g1").await.content_type, 1510);
}
