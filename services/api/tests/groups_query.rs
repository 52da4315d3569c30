//! The group read routes: groups and members with OpenIM's owner/count rules, orders and
//! pages, member-only permissions, abstract info, the CMS search, and the join-request lists
//! and counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod group_fixture;

use common::*;
use group_fixture::*;
use serde_json::{Value, json};

fn page(n: i32, show: i32) -> Value {
    json!({"pageNumber": n, "showNumber": show})
}

/// g1 "beta": u1 owner, u2 admin, u3 member (group nickname "Cat");
/// g2 "alpha": u2 owner, u1 member; g3 "gamma": dismissed, u1 still listed as a member.
async fn world(h: &Harness) -> [String; 5] {
    let mut tokens = Vec::new();
    for u in ["u1", "u2", "u3", "u4", "u5"] {
        tokens.push(h.user(u).await);
    }
    create(
        h,
        "g1",
        "beta",
        1_000,
        &[("u1", ROLE_OWNER), ("u2", ROLE_ADMIN), ("u3", ROLE_MEMBER)],
    )
    .await;
    let mut cat = member_row("g1", "u3", ROLE_MEMBER, 1_002);
    cat.nickname = "Cat".into();
    update(h, cat).await;
    create(
        h,
        "g2",
        "alpha",
        2_000,
        &[("u2", ROLE_OWNER), ("u1", ROLE_MEMBER)],
    )
    .await;
    create(h, "g3", "gamma", 3_000, &[("u1", ROLE_OWNER)]).await;
    let mut gone = group_row("g3", "gamma", 3_000);
    gone.status = 2;
    set_group(h, gone).await;
    tokens.try_into().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_info_answers_owner_and_counted_members() {
    let h = Harness::start().await;
    let [_, _, _, u4, _] = world(&h).await;
    // Any user may read any group; unknown ids are left out, repeats answered once.
    let data = h
        .post(
            "/group/get_groups_info",
            Some(&u4),
            json!({"groupIDs": ["g2", "nope", "g1", "g2"]}),
        )
        .await
        .expect(0);
    let infos = &data["groupInfos"];
    assert_eq!(ids(infos, "groupID"), ["g2", "g1"]);
    assert_eq!(
        infos[1],
        json!({
            "groupID": "g1", "groupName": "beta", "notification": "", "introduction": "",
            "faceURL": "", "ownerUserID": "u1", "createTime": 1000, "memberCount": 3, "ex": "",
            "status": 0, "creatorUserID": "creator", "groupType": 2, "needVerification": 0,
            "lookMemberInfo": 0, "applyMemberFriend": 0, "notificationUpdateTime": 0,
            "notificationUserID": ""
        })
    );
    assert_eq!(infos[0]["ownerUserID"], "u2");
    assert_eq!(infos[0]["memberCount"], 2);
    // A dismissed group is still answered, with its status.
    let data = h
        .post(
            "/group/get_groups_info",
            Some(&u4),
            json!({"groupIDs": ["g3"]}),
        )
        .await
        .expect(0);
    assert_eq!(data["groupInfos"][0]["status"], 2);
    // A member leaving is counted at once.
    leave(&h, "g1", "u3").await;
    let data = h
        .post(
            "/group/get_groups_info",
            Some(&u4),
            json!({"groupIDs": ["g1"]}),
        )
        .await
        .expect(0);
    assert_eq!(data["groupInfos"][0]["memberCount"], 2);
    h.post("/group/get_groups_info", Some(&u4), json!({"groupIDs": []}))
        .await
        .expect(1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joined_group_list_orders_by_name_and_pages() {
    let h = Harness::start().await;
    let [u1, u2, _, _, _] = world(&h).await;
    let list = |token: String, n: i32, show: i32| {
        let h = &h;
        async move {
            h.post(
                "/group/get_joined_group_list",
                Some(&token),
                json!({"fromUserID": "u1", "pagination": page(n, show)}),
            )
            .await
        }
    };
    // By name (alpha before beta); the dismissed group is left out.
    let data = list(u1.clone(), 1, 10).await.expect(0);
    assert_eq!(data["total"], 2);
    assert_eq!(ids(&data["groups"], "groupID"), ["g2", "g1"]);
    assert_eq!(data["groups"][1]["memberCount"], 3);
    let data = list(u1.clone(), 2, 1).await.expect(0);
    assert_eq!(
        (data["total"].clone(), ids(&data["groups"], "groupID")),
        (json!(2), vec!["g1".to_string()])
    );
    let data = list(u1.clone(), 3, 1).await.expect(0);
    assert_eq!(data, json!({"total": 2, "groups": []}));
    // A zero page size is an empty page, as OpenIM pages.
    let data = list(u1.clone(), 1, 0).await.expect(0);
    assert_eq!(data, json!({"total": 2, "groups": []}));
    list(u2, 1, 10).await.expect(1002);
    let data = h
        .admin(
            "/group/get_joined_group_list",
            json!({"fromUserID": "u1", "pagination": page(1, 10)}),
        )
        .await
        .expect(0);
    assert_eq!(data["total"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_reads_are_for_members_only() {
    let h = Harness::start().await;
    let [u1, u2, u3, u4, _] = world(&h).await;
    macro_rules! list {
        ($t:expr, $b:expr$(,)?) => {
            h.post("/group/get_group_member_list", Some($t), $b)
        };
    }

    // Owner, admin, member; an empty group nickname shows the profile's nickname.
    let data = list!(&u3, json!({"groupID": "g1", "pagination": page(1, 10)}))
        .await
        .expect(0);
    assert_eq!(data["total"], 3);
    assert_eq!(ids(&data["members"], "userID"), ["u1", "u2", "u3"]);
    assert_eq!(ids(&data["members"], "nickname"), ["u1", "u2", "Cat"]);
    assert_eq!(
        data["members"][1],
        json!({
            "groupID": "g1", "userID": "u2", "roleLevel": 60, "joinTime": 1001, "nickname": "u2",
            "faceURL": "", "appMangerLevel": 0, "joinSource": 2, "operatorUserID": "creator",
            "ex": "", "muteEndTime": 0, "inviterUserID": ""
        })
    );
    let data = list!(&u1, json!({"groupID": "g1", "pagination": page(2, 2)}))
        .await
        .expect(0);
    assert_eq!(data["total"], 3);
    assert_eq!(ids(&data["members"], "userID"), ["u3"]);
    // The keyword matches group nicknames only (OpenIM's SearchMember), as text.
    let data = list!(
        &u1,
        json!({"groupID": "g1", "keyword": "Ca", "pagination": page(1, 10)}),
    )
    .await
    .expect(0);
    assert_eq!(
        (data["total"].clone(), ids(&data["members"], "userID")),
        (json!(1), vec!["u3".to_string()])
    );
    let data = list!(
        &u1,
        json!({"groupID": "g1", "keyword": "u1", "pagination": page(1, 10)}),
    )
    .await
    .expect(0);
    assert_eq!(data, json!({"total": 0, "members": []}));
    let data = list!(
        &u1,
        json!({"groupID": "g1", "keyword": ".*", "pagination": page(1, 10)}),
    )
    .await
    .expect(0);
    assert_eq!(data["total"], 0);
    // Not a member: 1002; app admins read anything; arguments first.
    list!(&u4, json!({"groupID": "g1", "pagination": page(1, 10)}))
        .await
        .expect(1002);
    h.admin(
        "/group/get_group_member_list",
        json!({"groupID": "g1", "pagination": page(1, 10)}),
    )
    .await
    .expect(0);
    list!(
        &u1,
        json!({"groupID": "g1", "filter": 6, "pagination": page(1, 10)}),
    )
    .await
    .expect(1001);
    list!(&u1, json!({"groupID": "", "pagination": page(1, 10)}))
        .await
        .expect(1001);
    list!(&u1, json!({"groupID": "g1"})).await.expect(1001);

    // Members by id: non-members among the ids are left out.
    macro_rules! info {
        ($t:expr, $b:expr$(,)?) => {
            h.post("/group/get_group_members_info", Some($t), $b)
        };
    }
    let data = info!(&u2, json!({"groupID": "g1", "userIDs": ["u3", "u4", "u1"]}))
        .await
        .expect(0);
    assert_eq!(sorted(ids(&data["members"], "userID")), ["u1", "u3"]);
    info!(&u4, json!({"groupID": "g1", "userIDs": ["u1"]}))
        .await
        .expect(1002);
    info!(&u1, json!({"groupID": "g1", "userIDs": []}))
        .await
        .expect(1001);
    info!(&u1, json!({"groupID": "", "userIDs": ["u1"]}))
        .await
        .expect(1001);

    // Member ids, owner first.
    let data = h
        .post(
            "/group/get_group_member_user_id",
            Some(&u3),
            json!({"groupID": "g1"}),
        )
        .await
        .expect(0);
    assert_eq!(strs(&data["userIDs"]), ["u1", "u2", "u3"]);
    h.post(
        "/group/get_group_member_user_id",
        Some(&u4),
        json!({"groupID": "g1"}),
    )
    .await
    .expect(1002);
    h.admin("/group/get_group_member_user_id", json!({"groupID": "g1"}))
        .await
        .expect(0);
    h.post(
        "/group/get_group_member_user_id",
        Some(&u3),
        json!({"groupID": ""}),
    )
    .await
    .expect(1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abstract_info_counts_and_hashes_members() {
    let h = Harness::start().await;
    let [u1, _, _, u4, _] = world(&h).await;
    macro_rules! abs {
        ($t:expr, $g:expr$(,)?) => {
            h.post("/group/get_group_abstract_info", Some($t), json!({"groupIDs": $g}))
        };
    }
    let members = h
        .post(
            "/group/get_group_members_info",
            Some(&u1),
            json!({"groupID": "g1", "userIDs": ["u1", "u2", "u3"]}),
        )
        .await
        .expect(0);
    let infos: Vec<rill_wire::pb::sdkws::GroupMemberFullInfo> =
        serde_json::from_value(members["members"].clone()).unwrap();
    let data = abs!(&u1, json!(["g1", "g2"])).await.expect(0);
    let list = &data["groupAbstractInfos"];
    assert_eq!(ids(list, "groupID"), ["g1", "g2"]);
    assert_eq!(list[0]["groupMemberNumber"], 3);
    assert_eq!(list[1]["groupMemberNumber"], 2);
    assert_eq!(
        list[0]["groupMemberListHash"].as_u64(),
        Some(rill_app::groups::queries::member_list_hash(&infos))
    );
    // Any change to a member changes the hash.
    let before = list[0]["groupMemberListHash"].clone();
    let mut renamed = member_row("g1", "u2", ROLE_ADMIN, 1_001);
    renamed.nickname = "Boss".into();
    update(&h, renamed).await;
    let data = abs!(&u1, json!(["g1"])).await.expect(0);
    assert_ne!(data["groupAbstractInfos"][0]["groupMemberListHash"], before);

    abs!(&u1, json!([])).await.expect(1001);
    abs!(&u1, json!(["g1", "g1"])).await.expect(1001);
    abs!(&u4, json!(["g1"])).await.expect(1002);
    h.admin(
        "/group/get_group_abstract_info",
        json!({"groupIDs": ["g1", "nope"]}),
    )
    .await
    .expect(1201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_groups_searches_names_newest_first() {
    let h = Harness::start().await;
    let [_, _, _, u4, _] = world(&h).await;
    let mut named = member_row("g2", "u2", ROLE_OWNER, 2_000);
    named.nickname = "Chief".into();
    update(&h, named).await;
    let search = |body: Value| h.post("/group/get_groups", Some(&u4), body);
    // "a" is in alpha, beta and gamma; gamma is dismissed.
    let data = search(json!({"groupName": "a", "pagination": page(1, 10)}))
        .await
        .expect(0);
    assert_eq!(data["total"], 2);
    let groups = data["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["groupInfo"]["groupID"], "g2");
    assert_eq!(groups[0]["groupOwnerUserID"], "u2");
    assert_eq!(groups[0]["groupOwnerUserName"], "Chief");
    assert_eq!(groups[1]["groupInfo"]["groupID"], "g1");
    // The owner's name is the stored group nickname (empty here), as in OpenIM.
    assert_eq!(groups[1]["groupOwnerUserName"], "");
    let data = search(json!({"groupName": "alp", "pagination": page(1, 10)}))
        .await
        .expect(0);
    assert_eq!(data["total"], 1);
    let data = search(json!({"groupName": "", "pagination": page(2, 1)}))
        .await
        .expect(0);
    assert_eq!(data["total"], 2);
    assert_eq!(data["groups"][0]["groupInfo"]["groupID"], "g1");
    // By id: one group, dismissed ones too.
    let data = search(json!({"groupID": "g3", "pagination": page(1, 10)}))
        .await
        .expect(0);
    assert_eq!(data["total"], 1);
    assert_eq!(data["groups"][0]["groupInfo"]["status"], 2);
    search(json!({"groupName": "a"})).await.expect(1001);
}

/// Requests: u5→g1 pending (t 1000), u6→g1 refused (t 2000), u5→g2 pending (t 3000),
/// u4→g2 accepted (t 500). g1 is managed by u1 (owner) and u2 (admin), g2 by u2.
async fn requests(h: &Harness) -> String {
    request(h, request_row("u5", "g1", 0, 1_000)).await;
    request(h, request_row("u6", "g1", -1, 2_000)).await;
    request(h, request_row("u5", "g2", 0, 3_000)).await;
    request(h, request_row("u4", "g2", 1, 500)).await;
    h.user("u6").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_applications_are_those_of_managed_groups() {
    let h = Harness::start().await;
    let [u1, u2, u3, u4, _] = world(&h).await;
    requests(&h).await;
    macro_rules! recv {
        ($t:expr, $b:expr$(,)?) => {
            h.post("/group/get_recv_group_applicationList", Some($t), $b)
        };
    }
    let data = recv!(&u1, json!({"fromUserID": "u1", "pagination": page(1, 10)}))
        .await
        .expect(0);
    assert_eq!(data["total"], 2);
    let reqs = &data["groupRequests"];
    assert_eq!(
        reqs[0],
        json!({
            "userInfo": {"userID": "u6", "nickname": "u6", "faceURL": "", "ex": ""},
            "groupInfo": reqs[0]["groupInfo"].clone(),
            "handleResult": -1, "reqMsg": "u6 wants in", "handleMsg": "", "reqTime": 2000,
            "handleUserID": "", "handleTime": 0, "ex": "", "joinSource": 3, "inviterUserID": ""
        })
    );
    assert_eq!(reqs[0]["groupInfo"]["groupID"], "g1");
    assert_eq!(reqs[0]["groupInfo"]["ownerUserID"], "u1");
    assert_eq!(reqs[0]["groupInfo"]["memberCount"], 3);
    assert_eq!(reqs[1]["userInfo"]["userID"], "u5");
    let data = recv!(
        &u1,
        json!({"fromUserID": "u1", "handleResults": [0], "pagination": page(1, 10)}),
    )
    .await
    .expect(0);
    assert_eq!(data["total"], 1);
    assert_eq!(data["groupRequests"][0]["userInfo"]["userID"], "u5");

    // u2 manages both groups: newest first across them, paged.
    let data = recv!(&u2, json!({"fromUserID": "u2", "pagination": page(1, 10)}))
        .await
        .expect(0);
    assert_eq!(data["total"], 4);
    let order: Vec<(String, String)> = data["groupRequests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["userInfo"]["userID"].as_str().unwrap().to_string(),
                r["groupInfo"]["groupID"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [("u5", "g2"), ("u6", "g1"), ("u5", "g1"), ("u4", "g2")]
        .iter()
        .map(|(u, g)| (u.to_string(), g.to_string()))
        .collect();
    assert_eq!(order, expected);
    let data = recv!(&u2, json!({"fromUserID": "u2", "pagination": page(2, 3)}))
        .await
        .expect(0);
    assert_eq!(data["total"], 4);
    assert_eq!(data["groupRequests"][0]["userInfo"]["userID"], "u4");
    // Named groups: the caller must manage each (a non-member is 1004, as OpenIM's lookup).
    let data = recv!(
        &u2,
        json!({"fromUserID": "u2", "groupIDs": ["g2"], "pagination": page(1, 10)}),
    )
    .await
    .expect(0);
    assert_eq!(data["total"], 2);
    recv!(
        &u3,
        json!({"fromUserID": "u3", "groupIDs": ["g1"], "pagination": page(1, 10)}),
    )
    .await
    .expect(1002);
    recv!(
        &u4,
        json!({"fromUserID": "u4", "groupIDs": ["g1"], "pagination": page(1, 10)}),
    )
    .await
    .expect(1004);
    // An ordinary member manages nothing.
    let data = recv!(&u3, json!({"fromUserID": "u3", "pagination": page(1, 10)}))
        .await
        .expect(0);
    assert_eq!(data, json!({"total": 0, "groupRequests": []}));
    let data = h
        .admin(
            "/group/get_recv_group_applicationList",
            json!({"fromUserID": "u3", "groupIDs": ["g1"], "pagination": page(1, 10)}),
        )
        .await
        .expect(0);
    assert_eq!(data["total"], 2);
    recv!(&u2, json!({"fromUserID": "u1", "pagination": page(1, 10)}))
        .await
        .expect(1002);

    // Pending counts of managed groups, optionally after a time.
    macro_rules! count {
        ($t:expr, $u:expr, $time:expr$(,)?) => {
            h.post("/group/get_group_application_unhandled_count", Some($t), json!({"userID": $u, "time": $time}))
        };
    }
    assert_eq!(count!(&u1, "u1", 0).await.expect(0), json!({"count": 1}));
    assert_eq!(count!(&u2, "u2", 0).await.expect(0), json!({"count": 2}));
    assert_eq!(
        count!(&u2, "u2", 1_500).await.expect(0),
        json!({"count": 1})
    );
    assert_eq!(count!(&u3, "u3", 0).await.expect(0), json!({"count": 0}));
    count!(&u3, "u1", 0).await.expect(1002);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_and_specific_applications() {
    let h = Harness::start().await;
    let [u1, u2, u3, u4, u5] = world(&h).await;
    let u6 = requests(&h).await;
    macro_rules! mine {
        ($t:expr, $b:expr$(,)?) => {
            h.post("/group/get_user_req_group_applicationList", Some($t), $b)
        };
    }
    let data = mine!(&u5, json!({"userID": "u5", "pagination": page(1, 10)}))
        .await
        .expect(0);
    assert_eq!(data["total"], 2);
    assert_eq!(data["groupRequests"][0]["reqTime"], 3000);
    assert_eq!(data["groupRequests"][1]["reqTime"], 1000);
    let reqs = &data["groupRequests"];
    assert_eq!(reqs[0]["groupInfo"]["groupID"], "g2");
    assert_eq!(reqs[0]["groupInfo"]["ownerUserID"], "u2");
    assert_eq!(reqs[0]["userInfo"]["userID"], "u5");
    assert_eq!(reqs[1]["groupInfo"]["groupID"], "g1");
    let data = mine!(
        &u5,
        json!({"userID": "u5", "groupIDs": ["g1"], "handleResults": [0], "pagination": page(1, 10)}),
    )
    .await
    .expect(0);
    assert_eq!(data["total"], 1);
    let data = mine!(
        &u6,
        json!({"userID": "u6", "handleResults": [0], "pagination": page(1, 10)}),
    )
    .await
    .expect(0);
    assert_eq!(data, json!({"total": 0, "groupRequests": []}));
    mine!(&u6, json!({"userID": "u5", "pagination": page(1, 10)}))
        .await
        .expect(1002);
    h.admin(
        "/group/get_user_req_group_applicationList",
        json!({"userID": "ghost", "pagination": page(1, 10)}),
    )
    .await
    .expect(1004);

    // Requests of named users to one group: group owner/admin only; no profiles (OpenIM).
    macro_rules! of_users {
        ($t:expr, $b:expr$(,)?) => {
            h.post("/group/get_group_users_req_application_list", Some($t), $b)
        };
    }
    let data = of_users!(&u2, json!({"groupID": "g1", "userIDs": ["u5", "u6", "u9"]}))
        .await
        .expect(0);
    assert_eq!(data["total"], 2);
    assert_eq!(data["groupRequests"][0]["userInfo"], Value::Null);
    assert_eq!(data["groupRequests"][0]["groupInfo"]["groupID"], "g1");
    let data = of_users!(&u1, json!({"groupID": "g1", "userIDs": ["u9"]}))
        .await
        .expect(0);
    assert_eq!(data, json!({"total": 0, "groupRequests": []}));
    of_users!(&u3, json!({"groupID": "g1", "userIDs": ["u5"]}))
        .await
        .expect(1002);
    of_users!(&u4, json!({"groupID": "g1", "userIDs": ["u5"]}))
        .await
        .expect(1004);
    of_users!(&u1, json!({"groupID": "", "userIDs": ["u5"]}))
        .await
        .expect(1001);
    of_users!(&u1, json!({"groupID": "g1", "userIDs": []}))
        .await
        .expect(1001);

    // One user's request: the applicant, the group's managers and app admins.
    macro_rules! one {
        ($t:expr, $g:expr, $u:expr$(,)?) => {
            h.post("/group/get_specified_user_group_request_info", Some($t), json!({"groupID": $g, "userID": $u}))
        };
    }
    let data = one!(&u5, "g1", "u5").await.expect(0);
    assert_eq!(data["total"], 1);
    assert_eq!(data["groupRequests"][0]["userInfo"]["nickname"], "u5");
    assert_eq!(data["groupRequests"][0]["reqTime"], 1000);
    assert_eq!(one!(&u1, "g1", "u5").await.expect(0)["total"], 1);
    assert_eq!(one!(&u2, "g1", "u5").await.expect(0)["total"], 1);
    one!(&u3, "g1", "u5").await.expect(1002);
    one!(&u4, "g1", "u5").await.expect(1002);
    assert_eq!(
        one!(&u3, "g1", "u3").await.expect(0),
        json!({"total": 0, "groupRequests": []})
    );
    h.admin(
        "/group/get_specified_user_group_request_info",
        json!({"groupID": "g1", "userID": "u6"}),
    )
    .await
    .expect(0);
}
