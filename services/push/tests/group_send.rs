//! Group chat on the hot path against real Redis and Mongo-wire servers: the send rules
//! (OpenIM's codes), the membership cache across processes and through a Mongo outage, the
//! push's recipients, and what a member who left may still read.
//!
//! Groups are made with `App::commit` and hand-built entity events (the rows GROUPS-CMD's
//! commands write), so these tests depend only on the foundation.

use prost::Message as _;
use rill_app::{App, AppConfig, AppError, Caller};
use rill_core::ErrCode;
use rill_core::entity::{Change, EntityEvent, Group, Kind, Member};
use rill_log::delivery::{self, Delivery};
use rill_log::presence::{self, Presence};
use rill_log::{Log, Topology};
use rill_testkit::{MongoServer, RedisServer, unique_name};
use rill_wire::pb::msg::GetSeqMessageReq;
use rill_wire::pb::sdkws::{MsgData, SeqRange};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const USERS: [&str; 5] = ["u1", "u2", "u3", "u4", "u5"];

fn topology(prefix: &str) -> anyhow::Result<Topology> {
    let yaml = r#"
partitions: 4
key_prefix: rill
hot_window: 1000
log_retention: 7d
dedup_window: 1h
groups:
  push: { batch_size: 128, block: 50ms, claim_idle: 2s, max_deliveries: 5 }
"#;
    Ok(Topology::from_yaml_str(yaml)?.with_prefix(prefix))
}

/// An App on `redis` (key prefix `prefix`) and database `db` of the Mongo at `mongo_uri`.
async fn app_on(
    redis: &RedisServer,
    prefix: &str,
    mongo_uri: &str,
    db: &str,
) -> anyhow::Result<App> {
    let log = Log::connect(redis.client(), topology(prefix)?).await?;
    let store = rill_store::Store::connect(mongo_uri, db).await?;
    Ok(App::new(AppConfig::default(), log, store))
}

/// A fresh App with users u1..u5, and the names to build a twin of it.
async fn app(redis: &RedisServer) -> anyhow::Result<(App, String, String)> {
    let prefix = unique_name("gs");
    let db = unique_name("gs");
    let mongo = MongoServer::shared().await?;
    let app = app_on(redis, &prefix, &mongo.uri(), &db).await?;
    let users: Vec<rill_store::users::UserDoc> = USERS
        .iter()
        .map(|u| rill_store::users::UserDoc {
            user_id: u.to_string(),
            ..Default::default()
        })
        .collect();
    rill_store::users::insert_many(app.store().database(), &users).await?;
    Ok((app, prefix, db))
}

fn caller(user: &str) -> Caller {
    Caller {
        user_id: user.into(),
        platform_id: 3,
        is_admin: user == "imAdmin",
    }
}

fn member(group_id: &str, user_id: &str, role_level: i32, mute_end_time: i64) -> Member {
    Member {
        group_id: group_id.into(),
        user_id: user_id.into(),
        role_level,
        mute_end_time,
        join_time: rill_core::now_ms(),
        ..Default::default()
    }
}

fn group_row(group_id: &str, status: i32) -> Group {
    Group {
        group_id: group_id.into(),
        group_name: group_id.into(),
        status,
        group_type: 2,
        creator_user_id: "u1".into(),
        ..Default::default()
    }
}

async fn commit(app: &App, group_id: &str, changes: Vec<Change>) -> anyhow::Result<()> {
    let event = EntityEvent {
        operator_user_id: "u1".into(),
        changes,
    };
    app.commit(&rill_core::conversation::group(group_id), event)
        .await?;
    Ok(())
}

/// Group `g` with owner u1, admin u2 and members u3 (and `more`), plus their conversation rows.
async fn make_group(app: &App, g: &str, more: &[&str]) -> anyhow::Result<()> {
    let mut changes = vec![Change::Group {
        kind: Kind::Insert,
        row: group_row(g, 0),
    }];
    let mut all = vec![("u1", 100), ("u2", 60), ("u3", 20)];
    all.extend(more.iter().map(|u| (*u, 20)));
    for (u, role) in &all {
        changes.push(Change::Member {
            group_id: g.into(),
            user_id: u.to_string(),
            kind: Kind::Insert,
            row: Some(member(g, u, *role, 0)),
        });
    }
    commit(app, g, changes).await?;
    let ids: Vec<String> = all.iter().map(|(u, _)| u.to_string()).collect();
    app.create_group_conversations(g, &ids).await?;
    Ok(())
}

async fn set_member(app: &App, g: &str, row: Member) -> anyhow::Result<()> {
    let user_id = row.user_id.clone();
    commit(
        app,
        g,
        vec![Change::Member {
            group_id: g.into(),
            user_id,
            kind: Kind::Update,
            row: Some(row),
        }],
    )
    .await
}

async fn remove_member(app: &App, g: &str, user: &str) -> anyhow::Result<()> {
    commit(
        app,
        g,
        vec![Change::Member {
            group_id: g.into(),
            user_id: user.into(),
            kind: Kind::Delete,
            row: None,
        }],
    )
    .await
}

async fn set_status(app: &App, g: &str, status: i32) -> anyhow::Result<()> {
    commit(
        app,
        g,
        vec![Change::Group {
            kind: Kind::Update,
            row: group_row(g, status),
        }],
    )
    .await
}

fn group_text(from: &str, g: &str, id: &str) -> MsgData {
    MsgData {
        send_id: from.into(),
        group_id: g.into(),
        client_msg_id: id.into(),
        session_type: 3,
        content_type: 101,
        content: br#"{"content":"hi"}"#.to_vec(),
        ..Default::default()
    }
}

/// The code a group send by `from` ends with (`None`: accepted).
async fn send(app: &App, from: &str, g: &str) -> Option<ErrCode> {
    let id = uuid_like();
    app.send_message(&caller(from), group_text(from, g, &id))
        .await
        .err()
        .map(|e: AppError| e.code())
}

fn uuid_like() -> String {
    unique_name("m")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_send_rules_follow_openim() -> anyhow::Result<()> {
    let redis = RedisServer::start().await?;
    let (app, _, _) = app(&redis).await?;
    make_group(&app, "g1", &[]).await?;

    assert_eq!(send(&app, "u3", "g1").await, None, "a member sends");
    assert_eq!(send(&app, "u1", "g1").await, None, "the owner sends");
    assert_eq!(send(&app, "u4", "g1").await, Some(ErrCode::NotInGroupYet));
    // OpenIM's group lookup fails with RecordNotFound (1004), not GroupIDNotFound.
    assert_eq!(
        send(&app, "u1", "nope").await,
        Some(ErrCode::RecordNotFound)
    );
    // IM admins skip the membership rules.
    assert_eq!(send(&app, "imAdmin", "g1").await, None);
    let mut no_group = group_text("u1", "", "x");
    no_group.group_id.clear();
    let e = app.send_message(&caller("u1"), no_group).await.err();
    assert_eq!(e.map(|e| e.code()), Some(ErrCode::Args));

    // A muted member (1402), until the mute ends.
    let until = rill_core::now_ms() + 60_000;
    set_member(&app, "g1", member("g1", "u3", 20, until)).await?;
    assert_eq!(send(&app, "u3", "g1").await, Some(ErrCode::MutedInGroup));
    set_member(&app, "g1", member("g1", "u3", 20, rill_core::now_ms() - 1)).await?;
    assert_eq!(send(&app, "u3", "g1").await, None);
    // A muted admin is muted too; a muted owner is not.
    set_member(&app, "g1", member("g1", "u2", 60, until)).await?;
    assert_eq!(send(&app, "u2", "g1").await, Some(ErrCode::MutedInGroup));
    set_member(&app, "g1", member("g1", "u2", 60, 0)).await?;
    set_member(&app, "g1", member("g1", "u1", 100, until)).await?;
    assert_eq!(send(&app, "u1", "g1").await, None);

    // A muted group (status 3): 1403 for members, owner and admins still send.
    set_status(&app, "g1", 3).await?;
    assert_eq!(send(&app, "u3", "g1").await, Some(ErrCode::MutedGroup));
    assert_eq!(send(&app, "u2", "g1").await, None);
    assert_eq!(send(&app, "u1", "g1").await, None);
    set_status(&app, "g1", 0).await?;
    assert_eq!(send(&app, "u3", "g1").await, None);

    // A dismissed group (status 2): 1204 for everyone, admins included.
    set_status(&app, "g1", 2).await?;
    assert_eq!(
        send(&app, "u1", "g1").await,
        Some(ErrCode::DismissedAlready)
    );
    assert_eq!(
        send(&app, "imAdmin", "g1").await,
        Some(ErrCode::DismissedAlready)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_changes_made_by_another_process_are_seen() -> anyhow::Result<()> {
    let redis = RedisServer::start().await?;
    let (a, prefix, db) = app(&redis).await?;
    let mongo = MongoServer::shared().await?;
    // Another process on the same Redis and Mongo, with its own process cache.
    let b = app_on(&redis, &prefix, &mongo.uri(), &db).await?;
    make_group(&a, "g2", &[]).await?;

    // B caches the group by sending.
    assert_eq!(send(&b, "u3", "g2").await, None);
    assert_eq!(send(&b, "u4", "g2").await, Some(ErrCode::NotInGroupYet));

    // Changes through A take effect on B's next send.
    remove_member(&a, "g2", "u3").await?;
    assert_eq!(send(&b, "u3", "g2").await, Some(ErrCode::NotInGroupYet));
    set_member(&a, "g2", member("g2", "u4", 20, 0)).await?;
    assert_eq!(send(&b, "u4", "g2").await, None);
    set_status(&a, "g2", 3).await?;
    assert_eq!(send(&b, "u4", "g2").await, Some(ErrCode::MutedGroup));
    assert_eq!(send(&b, "u2", "g2").await, None);
    assert_eq!(
        b.group_member_ids("g2").await?,
        vec!["u1".to_string(), "u2".into(), "u4".into()]
    );

    // A group created through A after B cached it as unknown.
    assert_eq!(send(&b, "u1", "g3").await, Some(ErrCode::RecordNotFound));
    make_group(&a, "g3", &[]).await?;
    assert_eq!(send(&b, "u1", "g3").await, None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_sends_work_from_the_redis_copy_while_mongo_is_down() -> anyhow::Result<()> {
    let redis = RedisServer::start().await?;
    let (a, prefix, db) = app(&redis).await?;
    make_group(&a, "g4", &[]).await?;
    make_group(&a, "g5", &[]).await?;
    // A reads g4, which leaves its copy in Redis; g5 stays uncached.
    assert_eq!(send(&a, "u3", "g4").await, None);

    // A process whose Mongo is unreachable: nothing listens on this port.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let uri = format!(
        "mongodb://127.0.0.1:{dead}/?directConnection=true&serverSelectionTimeoutMS=300&connectTimeoutMS=300"
    );
    let down = app_on(&redis, &prefix, &uri, &db).await?;
    assert_eq!(send(&down, "u3", "g4").await, None);
    assert_eq!(send(&down, "u2", "g4").await, None);
    assert_eq!(send(&down, "u4", "g4").await, Some(ErrCode::NotInGroupYet));
    // Without a Redis copy the group cannot be checked: a database error, not a wrong answer.
    assert_eq!(send(&down, "u3", "g5").await, Some(ErrCode::Database));

    // A change (through the healthy process) drops the copy; once any healthy process has
    // read the group again, the Mongo-less one works on the new state.
    remove_member(&a, "g4", "u2").await?;
    assert_eq!(send(&down, "u3", "g4").await, Some(ErrCode::Database));
    assert_eq!(send(&a, "u3", "g4").await, None);
    assert_eq!(send(&down, "u2", "g4").await, Some(ErrCode::NotInGroupYet));
    assert_eq!(send(&down, "u3", "g4").await, None);
    Ok(())
}

/// Every delivery in a gateway's stream: (conversation, users, content type, seq).
async fn deliveries(app: &App, gw: &str) -> anyhow::Result<Vec<(String, Vec<String>, i32, i64)>> {
    let keys = app.log().keys().clone();
    let batch = delivery::read(&mut app.redis(), &keys, gw, "0-0", 1000, 1).await?;
    batch
        .deliveries
        .into_iter()
        .map(|d| match d {
            Delivery::Push {
                mut user_ids,
                message,
                conversation_id,
            } => {
                user_ids.sort();
                let m = MsgData::decode(&message[..])?;
                Ok((conversation_id, user_ids, m.content_type, m.seq))
            }
            Delivery::Kick { .. } => anyhow::bail!("unexpected kick"),
        })
        .collect()
}

fn kicked_notice(g: &str, kicked: &[&str]) -> MsgData {
    let tips = serde_json::json!({
        "group": {"groupID": g},
        "opUser": {"userID": "u1", "groupID": g},
        "kickedUserList": kicked.iter().map(|u| serde_json::json!({"userID": u, "groupID": g})).collect::<Vec<_>>(),
        "operationTime": rill_core::now_ms(),
    });
    MsgData {
        send_id: "u1".into(),
        recv_id: g.into(),
        group_id: g.into(),
        session_type: 3,
        content_type: 1508,
        content: serde_json::json!({ "detail": tips.to_string() })
            .to_string()
            .into_bytes(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_pushes_reach_members_and_the_kicked() -> anyhow::Result<()> {
    let redis = RedisServer::start().await?;
    let (app, _, _) = app(&redis).await?;
    make_group(&app, "g6", &["u4"]).await?;
    let keys = app.log().keys().clone();
    let mut r = app.redis();
    for gw in ["gwA", "gwB"] {
        presence::heartbeat(&mut r, &keys, gw).await?;
    }
    let conn = |gw: &str, id: &str| Presence {
        gateway_id: gw.into(),
        conn_id: id.into(),
        platform_id: 3,
        token: format!("t-{id}"),
        background: false,
    };
    // u1 twice on A (two devices), u2 on A and B, u3 on B, u4 on B, u5 (no member) on A.
    for (u, gw, id) in [
        ("u1", "gwA", "a1"),
        ("u1", "gwA", "a2"),
        ("u2", "gwA", "a3"),
        ("u2", "gwB", "b1"),
        ("u3", "gwB", "b2"),
        ("u4", "gwB", "b3"),
        ("u5", "gwA", "a4"),
    ] {
        presence::register(&mut r, &keys, u, &conn(gw, id)).await?;
    }
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(rill_push::run(app.clone(), "p1".into(), shutdown.clone()));

    assert_eq!(send(&app, "u3", "g6").await, None);
    // u4 is kicked: the stored MemberKicked notice still reaches u4.
    remove_member(&app, "g6", "u4").await?;
    app.send_system_message(kicked_notice("g6", &["u4"]))
        .await?;
    assert_eq!(send(&app, "u2", "g6").await, None);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while deliveries(&app, "gwB").await?.len() < 3 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "pushes did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = |v: &[&str]| v.iter().map(|u| u.to_string()).collect::<Vec<_>>();
    // One entry per gateway per message; the sender is included (its other devices sync).
    assert_eq!(
        deliveries(&app, "gwA").await?,
        vec![
            ("sg_g6".to_string(), s(&["u1", "u2"]), 101, 1),
            ("sg_g6".to_string(), s(&["u1", "u2"]), 1508, 2),
            ("sg_g6".to_string(), s(&["u1", "u2"]), 101, 3),
        ]
    );
    assert_eq!(
        deliveries(&app, "gwB").await?,
        vec![
            ("sg_g6".to_string(), s(&["u2", "u3", "u4"]), 101, 1),
            ("sg_g6".to_string(), s(&["u2", "u3", "u4"]), 1508, 2),
            ("sg_g6".to_string(), s(&["u2", "u3"]), 101, 3),
        ]
    );
    shutdown.cancel();
    worker.await??;
    Ok(())
}

fn seqs_req(user: &str, conversation_id: &str, seqs: &[i64]) -> GetSeqMessageReq {
    GetSeqMessageReq {
        user_id: user.into(),
        conversations: vec![rill_wire::pb::msg::ConversationSeqs {
            conversation_id: conversation_id.into(),
            seqs: seqs.to_vec(),
        }],
        order: 0,
    }
}

/// The seqs `user` gets for `seqs` of `conversation_id` (`None`: the conversation is absent).
async fn pulled(
    app: &App,
    user: &str,
    conversation_id: &str,
    seqs: &[i64],
) -> anyhow::Result<Option<Vec<i64>>> {
    let resp = app
        .pull_by_seq_lists(&caller(user), seqs_req(user, conversation_id, seqs))
        .await?;
    Ok(resp
        .msgs
        .get(conversation_id)
        .or_else(|| resp.notification_msgs.get(conversation_id))
        .map(|p| p.msgs.iter().map(|m| m.seq).collect()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kicked_member_reads_up_to_the_cap_only() -> anyhow::Result<()> {
    let redis = RedisServer::start().await?;
    let (app, _, _) = app(&redis).await?;
    make_group(&app, "g7", &[]).await?;
    for _ in 0..3 {
        assert_eq!(send(&app, "u2", "g7").await, None);
    }
    // What GROUPS-CMD does at a kick: remove the member, cap the conversation at the kick.
    remove_member(&app, "g7", "u3").await?;
    let cap = app.log().max_seq("sg_g7").await?;
    assert_eq!(cap, 3);
    app.set_conversation_max_seq("sg_g7", &["u3".to_string()], cap)
        .await?;
    for _ in 0..2 {
        assert_eq!(send(&app, "u2", "g7").await, None);
    }
    let all = [1, 2, 3, 4, 5];
    assert_eq!(pulled(&app, "u2", "sg_g7", &all).await?, Some(all.to_vec()));
    assert_eq!(
        pulled(&app, "u3", "sg_g7", &all).await?,
        Some(vec![1, 2, 3])
    );
    // Someone who never was a member reads nothing (not even an empty entry).
    assert_eq!(pulled(&app, "u5", "sg_g7", &all).await?, None);

    let ranges = |user: &str| rill_wire::pb::sdkws::PullMessageBySeqsReq {
        user_id: user.into(),
        seq_ranges: vec![SeqRange {
            conversation_id: "sg_g7".into(),
            begin: 1,
            end: 5,
            num: 100,
        }],
        order: 0,
    };
    let r = app.pull_by_ranges(&caller("u3"), ranges("u3")).await?;
    let got: Vec<i64> = r.msgs["sg_g7"].msgs.iter().map(|m| m.seq).collect();
    assert_eq!(got, vec![1, 2, 3]);
    let r = app.pull_by_ranges(&caller("u5"), ranges("u5")).await?;
    assert!(r.msgs.is_empty());

    // The group's n_ twin: members may read it, strangers may not.
    assert!(app.may_read("u2", "n_g7").await?);
    assert!(!app.may_read("u5", "n_g7").await?);
    assert!(app.may_read("u1", "n_u1_u5").await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_resolves_the_recipients_of_every_kind_of_message() -> anyhow::Result<()> {
    let redis = RedisServer::start().await?;
    let (app, _, _) = app(&redis).await?;
    make_group(&app, "g8", &[]).await?;
    make_group(&app, "g9", &["u4", "u5"]).await?;
    remove_member(&app, "g9", "u5").await?;
    let as_message = |m: MsgData| -> rill_core::Message { m.into() };
    let single = MsgData {
        send_id: "u1".into(),
        recv_id: "u2".into(),
        session_type: 1,
        content_type: 101,
        content: br#"{"content":"hi"}"#.to_vec(),
        ..Default::default()
    };
    let msgs = [
        as_message(group_text("u1", "g8", "a")),
        as_message(single),
        as_message(kicked_notice("g9", &["u5", "u4"])),
        as_message(group_text("u2", "g9", "b")),
        as_message(group_text("u2", "unknown", "c")),
    ];
    let refs: Vec<&rill_core::Message> = msgs.iter().collect();
    let got = app.recipients_many(&refs).await?;
    let s = |v: &[&str]| v.iter().map(|u| u.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            s(&["u1", "u2", "u3"]),
            s(&["u2", "u1"]),
            // u4 is still a member: listed once; u5 was kicked: added.
            s(&["u1", "u2", "u3", "u4", "u5"]),
            s(&["u1", "u2", "u3", "u4"]),
            Vec::new(),
        ]
    );
    // The one-message path agrees.
    for (m, want) in refs.iter().zip(&got) {
        assert_eq!(&app.recipients(m).await?, want);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_revokes_follow_roles_and_reach_the_members() -> anyhow::Result<()> {
    let redis = RedisServer::start().await?;
    let (app, _, _) = app(&redis).await?;
    // u1 owner, u2 admin, u3 and u4 members.
    make_group(&app, "gr", &["u4"]).await?;
    for from in ["u3", "u4", "u1", "u2", "u3"] {
        assert_eq!(send(&app, from, "gr").await, None);
    }
    let revoke = |user: &str, seq: i64| {
        let app = app.clone();
        let user = user.to_string();
        async move {
            let req = rill_wire::pb::msg::RevokeMsgReq {
                conversation_id: "sg_gr".into(),
                seq,
                user_id: user.clone(),
            };
            app.revoke_message(&caller(&user), req)
                .await
                .err()
                .map(|e| e.code())
        }
    };
    // Seqs: 1 u3, 2 u4, 3 u1 (owner), 4 u2 (admin), 5 u3.
    assert_eq!(revoke("u4", 1).await, Some(ErrCode::NoPermission));
    assert_eq!(revoke("u3", 1).await, None, "one's own message");
    assert_eq!(revoke("u2", 2).await, None, "an admin, a member's message");
    assert_eq!(revoke("u2", 3).await, Some(ErrCode::NoPermission));
    assert_eq!(revoke("u1", 4).await, None, "the owner, an admin's message");
    assert_eq!(revoke("u5", 5).await, Some(ErrCode::RecordNotFound));
    assert_eq!(revoke("u3", 1).await, Some(ErrCode::MsgAlreadyRevoke));

    // Members read the revoked messages as 2101 and the notices in the group's n_ twin.
    let resp = app
        .pull_by_seq_lists(&caller("u4"), seqs_req("u4", "sg_gr", &[1, 2, 3, 4, 5]))
        .await?;
    let types: Vec<i32> = resp.msgs["sg_gr"]
        .msgs
        .iter()
        .map(|m| m.content_type)
        .collect();
    assert_eq!(types, vec![2101, 2101, 101, 2101, 101]);
    let notices = app
        .pull_by_seq_lists(&caller("u4"), seqs_req("u4", "n_gr", &[1, 2, 3]))
        .await?;
    let n = &notices.notification_msgs["n_gr"].msgs;
    let from: Vec<(&str, &str, i32)> = n
        .iter()
        .map(|m| (m.send_id.as_str(), m.group_id.as_str(), m.content_type))
        .collect();
    assert_eq!(
        from,
        vec![("u3", "gr", 2101), ("u2", "gr", 2101), ("u1", "gr", 2101)]
    );
    Ok(())
}
