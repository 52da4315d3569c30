//! The read-model worker against real Redis and Mongo-wire servers.

#[path = "../../history/tests/common/mod.rs"]
mod common;

use bson::{Document, doc};
use common::*;
use futures_util::TryStreamExt;
use rill_log::LogEntry;
use rill_store::conversations;
use rill_store::versions::{ChangeKind, VersionLog};
use rill_testkit::{MongoServer, unique_name};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Every row of every owner of `convs` has seen `n` messages.
async fn projected(db: &mongodb::Database, convs: &[String], n: i64) -> anyhow::Result<bool> {
    for (i, conv) in convs.iter().enumerate() {
        let (_, a, b) = pair(i);
        for owner in [&a, &b] {
            match conversations::get(db, owner, conv).await? {
                Some(r) if r.conv_max_seq == n && r.latest.as_ref().is_some_and(|l| l.seq == n) => {
                }
                _ => return Ok(false),
            }
        }
    }
    Ok(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_is_max_minus_has_read_after_a_burst_and_zero_after_marking() -> anyhow::Result<()> {
    let mongo = MongoServer::shared().await?;
    let env = env(&mongo.uri()).await?;
    let convs = burst(&env.log, 30, 40).await?;
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(rill_readmodel::run_with(
        env.app.clone(),
        "r1".into(),
        shutdown.clone(),
        options(64)?,
    ));
    wait_for(Duration::from_secs(120), "rows at seq 40", || {
        projected(&env.db, &convs, 40)
    })
    .await?;

    for (i, conv) in convs.iter().enumerate() {
        let (_, a, b) = pair(i);
        let ra = conversations::get(&env.db, &a, conv)
            .await?
            .expect("row of a");
        let rb = conversations::get(&env.db, &b, conv)
            .await?
            .expect("row of b");
        // Senders alternate a, a, b: a sent seq 40 last, b sent seq 39 last.
        assert_eq!((ra.has_read_seq, ra.unread()), (40, 0), "{conv}");
        assert_eq!((rb.has_read_seq, rb.unread()), (39, 1), "{conv}");
        for r in [&ra, &rb] {
            assert_eq!(r.unread(), r.conv_max_seq - r.has_read_seq);
            assert_eq!((r.conversation_type, r.version_logged), (1, true));
        }
        assert_eq!(
            (ra.user_id.as_str(), rb.user_id.as_str()),
            (b.as_str(), a.as_str())
        );
        // Each owner's version log has its one conversation, recorded once as an insert.
        let log = VersionLog::conversations(&env.db);
        let elems = log.elements(&b).await?;
        assert_eq!(
            elems.get(conv.as_str()).map(|e| e.1),
            Some(ChangeKind::Insert)
        );
        assert_eq!(log.head(&b).await?.version, 1);
    }

    // Marking read: unread drops to 0 and stays there when the projection re-applies.
    for (i, conv) in convs.iter().enumerate() {
        let (_, _, b) = pair(i);
        let caller = rill_app::Caller {
            user_id: b.clone(),
            platform_id: 2,
            is_admin: false,
        };
        let req = rill_wire::pb::msg::MarkConversationAsReadReq {
            conversation_id: conv.clone(),
            user_id: b.clone(),
            has_read_seq: 40,
            seqs: vec![],
        };
        env.app.mark_conversation_as_read(&caller, req).await?;
    }
    rill_log::set_group_position(
        &env.log,
        rill_readmodel::GROUP,
        &[],
        &rill_log::Position::Start,
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (i, conv) in convs.iter().enumerate() {
        let (_, a, b) = pair(i);
        for owner in [&a, &b] {
            let r = conversations::get(&env.db, owner, conv)
                .await?
                .expect("row");
            assert_eq!((r.has_read_seq, r.unread()), (40, 0), "{owner} {conv}");
        }
        assert_eq!(
            VersionLog::conversations(&env.db).head(&b).await?.version,
            1,
            "replay logged nothing new"
        );
    }
    shutdown.cancel();
    worker.await??;
    Ok(())
}

/// The projected state without ids and timestamps of creation, for comparing two databases:
/// history, conversation rows and conversation heads (whose ids are the conversation ids).
async fn snapshot(
    db: &mongodb::Database,
) -> anyhow::Result<(Vec<Document>, Vec<Document>, Vec<Document>)> {
    let strip = |mut d: Document, fields: &[&str]| {
        for f in fields {
            d.remove(*f);
        }
        d
    };
    let msgs: Vec<Document> = rill_store::messages::collection(db)
        .find(doc! {})
        .sort(doc! { "conversation_id": 1, "seq": 1 })
        .await?
        .try_collect()
        .await?;
    let rows: Vec<Document> = conversations::collection(db)
        .find(doc! {})
        .sort(doc! { "owner_user_id": 1, "conversation_id": 1 })
        .await?
        .try_collect()
        .await?;
    let heads: Vec<Document> = db
        .collection::<Document>(conversations::heads::COLLECTION)
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await?
        .try_collect()
        .await?;
    Ok((
        msgs.into_iter().map(|d| strip(d, &["_id"])).collect(),
        rows.into_iter()
            .map(|d| strip(d, &["_id", "create_time"]))
            .collect(),
        heads,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mongo_outage_delays_projections_but_they_converge() -> anyhow::Result<()> {
    let mut mongo = MongoServer::start_private().await?;
    // Short server selection so the workers notice the outage and retry quickly.
    let uri = format!("{}&serverSelectionTimeoutMS=1500", mongo.uri());
    let env = env(&uri).await?;
    let shutdown = CancellationToken::new();
    let history = tokio::spawn(rill_history::run_with(
        env.app.clone(),
        "h".into(),
        shutdown.clone(),
        options(128)?,
    ));
    let readmodel = tokio::spawn(rill_readmodel::run_with(
        env.app.clone(),
        "r".into(),
        shutdown.clone(),
        options(128)?,
    ));

    let convs = burst(&env.log, 20, 10).await?;
    wait_for(Duration::from_secs(60), "first 200 projected", || {
        projected(&env.db, &convs, 10)
    })
    .await?;

    // The senders and receivers exist, and the send path's user cache (Redis) knows them.
    let admin = rill_app::Caller {
        user_id: "imAdmin".into(),
        platform_id: 10,
        is_admin: true,
    };
    let ids: Vec<String> = (0..20)
        .flat_map(|i| {
            let (_, a, b) = pair(i);
            [a, b]
        })
        .collect();
    let users = ids
        .iter()
        .map(|id| rill_wire::pb::sdkws::UserInfo {
            user_id: id.clone(),
            nickname: id.clone(),
            ..Default::default()
        })
        .collect();
    env.app
        .user_register(&admin, rill_wire::pb::user::UserRegisterReq { users })
        .await?;
    env.app.user_briefs(&ids).await?;
    // ... and so does its relation cache (each receiver's blacklist).
    for i in 0..20 {
        let (_, a, b) = pair(i);
        env.app.relation_facts(&a, &b, false).await?;
        env.app.relation_facts(&b, &a, false).await?;
    }

    mongo.stop().await?;
    // Sends only need Redis: all 1,000 sends through the front doors' command succeed while
    // Mongo is down.
    let mut appended = 0;
    for round in 0..50 {
        for i in 0..20 {
            let (conv, a, b) = pair(i);
            let n = 10 + round;
            let (send, recv) = if n % 3 == 2 { (&b, &a) } else { (&a, &b) };
            let caller = rill_app::Caller {
                user_id: send.clone(),
                platform_id: 3,
                is_admin: false,
            };
            let msg = rill_wire::pb::sdkws::MsgData {
                send_id: send.clone(),
                recv_id: recv.clone(),
                client_msg_id: format!("{conv}-{n}"),
                session_type: 1,
                msg_from: 100,
                content_type: 101,
                content: format!("{{\"content\":\"hello {n}\"}}").into_bytes(),
                create_time: 1_700_000_000_000 + n as i64,
                ..Default::default()
            };
            env.app.send_message(&caller, msg).await?;
            appended += 1;
        }
    }
    for i in 0..20 {
        let (conv, _, _) = pair(i);
        assert_eq!(env.log.max_seq(&conv).await?, 60, "{conv}");
    }
    assert_eq!(appended, 1000);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The workers really are held up: entries read but not acknowledged, or not read yet.
    let held: u64 = rill_log::group_status(&env.log)
        .await?
        .iter()
        .filter(|s| s.group == rill_history::GROUP)
        .map(|s| s.pending + s.lag.unwrap_or(0))
        .sum();
    assert!(held > 0, "history was not held up by the outage");
    mongo.start_again().await?;

    wait_for(Duration::from_secs(180), "1200 stored", || async {
        Ok(stored(&env.db).await? >= 1200)
    })
    .await?;
    wait_for(Duration::from_secs(180), "rows at seq 60", || {
        projected(&env.db, &convs, 60)
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(stored(&env.db).await?, 1200);
    assert_complete(&env.db, &convs, 60).await?;
    for s in rill_log::group_status(&env.log).await? {
        assert_eq!(
            s.dead_letters, 0,
            "{} on partition {}",
            s.group, s.partition
        );
    }

    // The same entries projected once, without an outage, into another database.
    let client = mongodb::Client::with_uri_str(&uri).await?;
    let reference = client.database(&unique_name("ref"));
    rill_store::Store::from_database(reference.clone())
        .ensure_indexes()
        .await?;
    let mut entries = Vec::new();
    for conv in &convs {
        for e in env.log.range(conv, 1, i64::MAX).await? {
            entries.push(LogEntry {
                partition: env.log.keys().partition_of(conv),
                id: format!("0-{}", e.seq),
                conversation_id: conv.clone(),
                seq: e.seq,
                envelope: e.envelope,
                deliveries: 1,
            });
        }
    }
    assert_eq!(entries.len(), 1200);
    for chunk in entries.chunks(300) {
        rill_history::project(&reference, chunk).await?;
        rill_readmodel::project(&reference, chunk).await?;
    }
    let (got_msgs, got_rows, got_heads) = snapshot(&env.db).await?;
    let (want_msgs, want_rows, want_heads) = snapshot(&reference).await?;
    assert_eq!(got_heads.len(), 20, "one head per conversation");
    assert!(
        got_heads == want_heads,
        "conversation heads differ from the outage-free projection"
    );
    assert_eq!(got_msgs.len(), want_msgs.len());
    assert!(
        got_msgs == want_msgs,
        "history differs from the outage-free projection"
    );
    assert_eq!(got_rows.len(), 40);
    assert_eq!(
        got_rows, want_rows,
        "read model differs from the outage-free projection"
    );

    shutdown.cancel();
    history.await??;
    readmodel.await??;
    Ok(())
}
