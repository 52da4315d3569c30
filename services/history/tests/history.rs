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
