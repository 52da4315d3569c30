//! Shared set-up of the history tests: a private Redis, a Mongo database, the log and an App.
#![allow(dead_code)]

use rill_core::Message;
use rill_log::{ConsumerOptions, Envelope, Event, Log, Topology};
use rill_testkit::{RedisServer, unique_name};
use std::time::Duration;

pub struct Env {
    pub redis: RedisServer,
    pub log: Log,
    pub db: mongodb::Database,
    pub app: rill_app::App,
}

pub fn topology() -> anyhow::Result<Topology> {
    topology_with_hot_window(100_000)
}

pub fn topology_with_hot_window(hot_window: u64) -> anyhow::Result<Topology> {
    let yaml = format!(
        r#"
partitions: 4
key_prefix: rill
hot_window: {hot_window}
log_retention: 7d
dedup_window: 1h
groups:
  history: {{ batch_size: 256, block: 100ms, claim_idle: 1s, max_deliveries: 5 }}
  readmodel: {{ batch_size: 256, block: 100ms, claim_idle: 1s, max_deliveries: 5 }}
"#
    );
    Ok(Topology::from_yaml_str(&yaml)?.with_prefix(unique_name("h")))
}

/// A private Redis, the log on it, and a fresh database on the Mongo-wire server at `uri`.
pub async fn env(mongo_uri: &str) -> anyhow::Result<Env> {
    env_with(mongo_uri, topology()?).await
}

/// [`env`] with a topology of the test's own.
pub async fn env_with(mongo_uri: &str, topology: Topology) -> anyhow::Result<Env> {
    let redis = RedisServer::start().await?;
    let log = Log::connect(redis.client(), topology).await?;
    let store = rill_store::Store::connect(mongo_uri, &unique_name("hist")).await?;
    store.ensure_indexes().await?;
    let db = store.database().clone();
    let app = rill_app::App::new(rill_app::AppConfig::default(), log.clone(), store);
    Ok(Env {
        redis,
        log,
        db,
        app,
    })
}

/// Consumer settings for tests: small batches so a run has many of them, fast reclaim.
pub fn options(batch_size: usize) -> anyhow::Result<ConsumerOptions> {
    let mut config = topology()?
        .group("history")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no history group"))?;
    config.batch_size = batch_size;
    config.claim_idle = Duration::from_millis(500);
    Ok(ConsumerOptions {
        partitions: None,
        config: Some(config),
    })
}

/// The conversation of pair `i` and its two users.
pub fn pair(i: usize) -> (String, String, String) {
    let (a, b) = (format!("a{i:03}"), format!("b{i:03}"));
    (rill_core::conversation::single(&a, &b), a, b)
}

/// Appends `per_conv` text messages to each of `convs` single chats (senders alternate),
/// concurrently per conversation. Returns the conversation ids.
pub async fn burst(log: &Log, convs: usize, per_conv: usize) -> anyhow::Result<Vec<String>> {
    let mut tasks = Vec::new();
    for i in 0..convs {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let (conv, a, b) = pair(i);
            for n in 0..per_conv {
                let (send, recv) = if n % 3 == 2 { (&b, &a) } else { (&a, &b) };
                let msg = Message {
                    send_id: send.clone(),
                    recv_id: recv.clone(),
                    client_msg_id: format!("{conv}-{n}"),
                    server_msg_id: format!("srv-{conv}-{n}"),
                    session_type: 1,
                    msg_from: 100,
                    content_type: 101,
                    content: format!("{{\"content\":\"hello {n}\"}}").into_bytes(),
                    send_time: 1_700_000_000_000 + n as i64,
                    create_time: 1_700_000_000_000 + n as i64,
                    status: 2,
                    ..Default::default()
                };
                let appended = log
                    .append(
                        &conv,
                        &msg.client_msg_id,
                        &Envelope::new(Event::Message(msg.clone())),
                    )
                    .await?;
                anyhow::ensure!(
                    !appended.duplicate && appended.seq == n as i64 + 1,
                    "unexpected append {appended:?}"
                );
            }
            anyhow::Ok(conv)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await??);
    }
    Ok(out)
}

/// Polls `f` every 100 ms until it returns true or `timeout` passes.
pub async fn wait_for<F, Fut>(timeout: Duration, what: &str, mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if f().await? {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn stored(db: &mongodb::Database) -> anyhow::Result<u64> {
    Ok(rill_store::messages::collection(db)
        .count_documents(bson::doc! {})
        .await?)
}

/// Every conversation holds exactly seqs 1..=n, each once, with the right content.
pub async fn assert_complete(
    db: &mongodb::Database,
    convs: &[String],
    n: usize,
) -> anyhow::Result<()> {
    for conv in convs {
        let msgs = rill_store::messages::range(db, conv, 1, i64::MAX).await?;
        let seqs: Vec<i64> = msgs.iter().map(|m| m.seq).collect();
        let want: Vec<i64> = (1..=n as i64).collect();
        anyhow::ensure!(seqs == want, "{conv}: stored seqs {seqs:?}");
        for m in &msgs {
            let text = format!("{{\"content\":\"hello {}\"}}", m.seq - 1);
            anyhow::ensure!(
                m.content == text.as_bytes(),
                "{conv}/{}: wrong content",
                m.seq
            );
        }
    }
    Ok(())
}
