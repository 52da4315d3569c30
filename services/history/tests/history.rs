//! The history worker against real Redis and Mongo-wire servers.

mod common;

use common::*;
use rill_log::{Position, set_group_position};
use rill_testkit::MongoServer;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_messages_land_once_and_a_replay_restores_them() -> anyhow::Result<()> {
    let mongo = MongoServer::shared().await?;
    let env = env(&mongo.uri()).await?;
    let convs = burst(&env.log, 50, 100).await?;

    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(rill_history::run_with(
        env.app.clone(),
        "h1".into(),
        shutdown.clone(),
        options(256)?,
    ));
    wait_for(Duration::from_secs(120), "5000 stored", || async {
        Ok(stored(&env.db).await? >= 5000)
    })
    .await?;
    assert_eq!(stored(&env.db).await?, 5000);
    assert_complete(&env.db, &convs, 100).await?;

    // Lose the projection, then replay the group from the start (what `rill replay --group
    // history --from 0` does): the running worker re-projects the same 5,000.
    rill_store::messages::collection(&env.db).drop().await?;
    rill_store::messages::ensure_indexes(&env.db).await?;
    assert_eq!(stored(&env.db).await?, 0);
    let moved =
        set_group_position(&env.log, rill_history::GROUP, &[], &Position::parse("0")?).await?;
    assert_eq!(moved.len(), 4);
    wait_for(Duration::from_secs(120), "5000 replayed", || async {
        Ok(stored(&env.db).await? >= 5000)
    })
    .await?;
    // Let any straggling batch finish, then the count must still be exact.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stored(&env.db).await?, 5000);
    assert_complete(&env.db, &convs, 100).await?;

    shutdown.cancel();
    worker.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_loses_and_duplicates_nothing() -> anyhow::Result<()> {
    let mongo = MongoServer::shared().await?;
    let env = env(&mongo.uri()).await?;
    let convs = burst(&env.log, 20, 100).await?;

    // Small batches so the abort lands while batches are in flight.
    let shutdown = CancellationToken::new();
    let first = tokio::spawn(rill_history::run_with(
        env.app.clone(),
        "doomed".into(),
        shutdown.clone(),
        options(50)?,
    ));
    wait_for(Duration::from_secs(60), "a first batch", || async {
        Ok(stored(&env.db).await? > 0)
    })
    .await?;
    first.abort();
    let at_abort = stored(&env.db).await?;
    assert!(
        at_abort < 2000,
        "the abort came too late to interrupt anything ({at_abort} stored)"
    );

    // A new consumer takes over what the dead one read but never acknowledged.
    let second = tokio::spawn(rill_history::run_with(
        env.app.clone(),
        "heir".into(),
        shutdown.clone(),
        options(50)?,
    ));
    wait_for(Duration::from_secs(120), "2000 stored", || async {
        Ok(stored(&env.db).await? >= 2000)
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(stored(&env.db).await?, 2000);
    assert_complete(&env.db, &convs, 100).await?;
    // Nothing was given up on.
    let status = rill_log::group_status(&env.log).await?;
    for s in status.iter().filter(|s| s.group == rill_history::GROUP) {
        assert_eq!(s.dead_letters, 0, "partition {}", s.partition);
    }
    shutdown.cancel();
    second.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_across_the_hot_window_and_mongo_is_gap_free() -> anyhow::Result<()> {
    use rill_wire::pb::sdkws::{PullMessageBySeqsReq, SeqRange};
    let mongo = MongoServer::shared().await?;
    let env = env_with(&mongo.uri(), topology_with_hot_window(100)?).await?;
    let convs = burst(&env.log, 1, 600).await?;
    let conv = &convs[0];
    // The stream kept only its newest entries: the oldest seqs exist only in Mongo.
    let hot_min = env.log.hot_min_seq(conv).await?.unwrap_or(0);
    assert!(
        hot_min > 1 && hot_min < 600,
        "hot window starts at {hot_min}"
    );

    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(rill_history::run_with(
        env.app.clone(),
        "h".into(),
        shutdown.clone(),
        options(256)?,
    ));
    wait_for(Duration::from_secs(60), "600 stored", || async {
        Ok(stored(&env.db).await? >= 600)
    })
    .await?;

    let (_, a, _) = pair(0);
    let caller = rill_app::Caller {
        user_id: a.clone(),
        platform_id: 2,
        is_admin: false,
    };
    let pull = |begin, end| PullMessageBySeqsReq {
        user_id: a.clone(),
        seq_ranges: vec![SeqRange {
            conversation_id: conv.clone(),
            begin,
            end,
            num: 1000,
        }],
        order: 0,
    };
    let resp = env.app.pull_by_ranges(&caller, pull(1, 600)).await?;
    let msgs = &resp.msgs[conv].msgs;
    let seqs: Vec<i64> = msgs.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=600).collect::<Vec<_>>());
    for m in msgs {
        assert_eq!(m.status, 2, "seq {} is a placeholder", m.seq);
        assert_eq!(
            m.content,
            format!("{{\"content\":\"hello {}\"}}", m.seq - 1).into_bytes()
        );
    }
    assert!(resp.msgs[conv].is_end);

    // The same range straight from the store, below the hot window, is ascending and complete.
    let old = rill_store::messages::range(&env.db, conv, 1, hot_min - 1).await?;
    assert_eq!(
        old.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..hot_min).collect::<Vec<_>>()
    );

    // A seq lost from Mongo below the hot window comes back as a status-4 placeholder.
    rill_store::messages::collection(&env.db)
        .delete_one(bson::doc! { "conversation_id": conv.as_str(), "seq": 5i64 })
        .await?;
    let resp = env.app.pull_by_ranges(&caller, pull(4, 6)).await?;
    let got: Vec<(i64, i32)> = resp.msgs[conv]
        .msgs
        .iter()
        .map(|m| (m.seq, m.status))
        .collect();
    assert_eq!(got, vec![(4, 2), (5, 4), (6, 2)]);

    shutdown.cancel();
    worker.await??;
    Ok(())
}
