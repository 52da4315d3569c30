//! The push worker against real Redis and Mongo-wire servers: what lands in the gateways'
//! delivery streams.

use prost::Message as _;
use rill_app::{App, AppConfig, Caller};
use rill_log::delivery::{self, Delivery};
use rill_log::presence::{self, Presence};
use rill_log::{Log, Topology};
use rill_testkit::{MongoServer, RedisServer, unique_name};
use rill_wire::pb::sdkws::MsgData;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn app(redis: &RedisServer) -> anyhow::Result<App> {
    let yaml = r#"
partitions: 4
key_prefix: rill
hot_window: 1000
log_retention: 7d
dedup_window: 1h
groups:
  push: { batch_size: 128, block: 50ms, claim_idle: 2s, max_deliveries: 5 }
"#;
    let topology = Topology::from_yaml_str(yaml)?.with_prefix(unique_name("p"));
    let log = Log::connect(redis.client(), topology).await?;
    let mongo = MongoServer::shared().await?;
    let store = rill_store::Store::connect(&mongo.uri(), &unique_name("push")).await?;
    let users: Vec<rill_store::users::UserDoc> = ["u1", "u2", "u3"]
        .iter()
        .map(|u| rill_store::users::UserDoc {
            user_id: u.to_string(),
            ..Default::default()
        })
        .collect();
    rill_store::users::insert_many(store.database(), &users).await?;
    Ok(App::new(AppConfig::default(), log, store))
}

fn conn(gw: &str, id: &str, platform_id: i32, background: bool) -> Presence {
    Presence {
        gateway_id: gw.into(),
        conn_id: id.into(),
        platform_id,
        token: format!("t-{id}"),
        background,
    }
}

fn text(from: &str, to: &str, id: &str) -> MsgData {
    MsgData {
        send_id: from.into(),
        recv_id: to.into(),
        client_msg_id: id.into(),
        session_type: 1,
        content_type: 101,
        content: br#"{"content":"hi"}"#.to_vec(),
        ..Default::default()
    }
}

/// Every delivery of conversation si_u1_u2 in a gateway's stream: (users, seq).
async fn stream(app: &App, gw: &str) -> anyhow::Result<Vec<(Vec<String>, i64)>> {
    Ok(stream_all(app, gw)
        .await?
        .into_iter()
        .filter(|(c, _, _)| c == "si_u1_u2")
        .map(|(_, u, s)| (u, s))
        .collect())
}

/// Every delivery in a gateway's stream: (conversation, users, seq).
async fn stream_all(app: &App, gw: &str) -> anyhow::Result<Vec<(String, Vec<String>, i64)>> {
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
                Ok((
                    conversation_id,
                    user_ids,
                    MsgData::decode(&message[..])?.seq,
                ))
            }
            Delivery::Kick { .. } => anyhow::bail!("unexpected kick"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_delivery_per_gateway_per_message_in_seq_order() -> anyhow::Result<()> {
    let redis = RedisServer::start().await?;
    let app = app(&redis).await?;
    let keys = app.log().keys().clone();
    let mut r = app.redis();
    for gw in ["gwA", "gwB", "gwC"] {
        presence::heartbeat(&mut r, &keys, gw).await?;
    }
    // u1 and u2 share gateway A; u2 also has a phone on B; u3 only a backgrounded iPhone on C.
    presence::register(&mut r, &keys, "u1", &conn("gwA", "a1", 3, false)).await?;
    presence::register(&mut r, &keys, "u2", &conn("gwA", "a2", 5, false)).await?;
    presence::register(&mut r, &keys, "u2", &conn("gwA", "a3", 3, false)).await?;
    presence::register(&mut r, &keys, "u2", &conn("gwB", "b1", 2, false)).await?;
    presence::register(&mut r, &keys, "u3", &conn("gwC", "c1", 1, true)).await?;

    let u1 = Caller {
        user_id: "u1".into(),
        platform_id: 3,
        is_admin: false,
    };
    for i in 0..5 {
        app.send_message(&u1, text("u1", "u2", &format!("m{i}")))
            .await?;
    }
    app.send_message(&u1, text("u1", "u3", "to-ios")).await?;

    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(rill_push::run(app.clone(), "p1".into(), shutdown.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while stream(&app, "gwA").await?.len() < 5 || stream(&app, "gwB").await?.len() < 5 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "pushes did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let any straggler land before counting exactly.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let a = stream(&app, "gwA").await?;
    let both = vec!["u1".to_string(), "u2".to_string()];
    assert_eq!(a, (1..=5).map(|s| (both.clone(), s)).collect::<Vec<_>>());
    let b = stream(&app, "gwB").await?;
    assert_eq!(
        b,
        (1..=5)
            .map(|s| (vec!["u2".to_string()], s))
            .collect::<Vec<_>>()
    );
    // Each stream written to expires unless written again (its TTL renewed once per batch).
    for gw in ["gwA", "gwB"] {
        let ttl: i64 = redis::cmd("TTL")
            .arg(delivery::stream_key(&keys, gw))
            .query_async(&mut r)
            .await?;
        assert!((1..=delivery::TTL_SECS).contains(&ttl), "{gw}: TTL {ttl}");
    }
    // The backgrounded iPhone gets no online push; the sender's copy of that message does.
    assert!(stream_all(&app, "gwC").await?.is_empty());
    let to_ios: Vec<_> = stream_all(&app, "gwA")
        .await?
        .into_iter()
        .filter(|(c, _, _)| c == "si_u1_u3")
        .collect();
    assert_eq!(
        to_ios,
        vec![("si_u1_u3".to_string(), vec!["u1".to_string()], 1)]
    );

    // A gateway that stopped beating is skipped.
    presence::heartbeat_at(&mut r, &keys, "gwB", rill_core::now_ms() - 60_000).await?;
    app.send_message(&u1, text("u1", "u2", "m6")).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while stream(&app, "gwA").await?.len() < 6 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "push 6 did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(stream(&app, "gwB").await?.len(), 5);

    shutdown.cancel();
    worker.await??;
    Ok(())
}
