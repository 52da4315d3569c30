//! Smoke run of every `rill bench` scenario with tiny parameters against an in-process server
//! on private redis-server and Mongo-wire servers. Asserts message counts, never timings
//! (benchmarks are scripts: scripts/bench.sh).

use rill::bench::ceiling::{self, CeilingArgs};
use rill::bench::connections::{self, ConnectionsArgs};
use rill::bench::fanout::{self, FanoutArgs};
use rill::bench::frame::Codec;
use rill::bench::send::{self, SendArgs};
use rill::bench::{Target, report};
use rill_log::Topology;
use rill_testkit::{MongoServer, RedisServer, unique_name};
use std::time::Duration;

/// The servers of one test; the Redis handle must outlive the target.
struct Fixture {
    target: Target,
    _redis: RedisServer,
}

async fn start() -> anyhow::Result<Fixture> {
    let redis = RedisServer::start().await?;
    let mongo = MongoServer::shared().await?;
    let topology = Topology::default();
    let opts = rill::ServeOptions::new(
        redis.url(),
        mongo.uri(),
        unique_name("bench"),
        topology.clone(),
    );
    let running = rill::start(opts).await?;
    let target = Target::in_process(running, redis.url(), topology)?;
    Ok(Fixture {
        target,
        _redis: redis,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ceiling_counts_every_append_and_xadd() -> anyhow::Result<()> {
    let f = start().await?;
    let args = CeilingArgs {
        concurrency: 4,
        appends: 300,
        duration: Duration::from_secs(60),
        conversations: 7,
        size: 16,
    };
    let r = ceiling::run(&f.target, &args).await?;
    assert_eq!((r.append.ops, r.append.errors), (300, 0), "{r}");
    assert_eq!((r.xadd.ops, r.xadd.errors), (300, 0), "{r}");
    assert_eq!(r.append.latency.count, 300);
    assert_eq!(r.rows().len(), 2);
    f.target.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_closed_loop_gob_delivers_every_message_once() -> anyhow::Result<()> {
    let f = start().await?;
    let args = SendArgs {
        users: 6,
        senders: 3,
        messages: 60,
        window: 4,
        duration: Duration::from_secs(60),
        drain: Duration::from_secs(60),
        ..SendArgs::default()
    };
    let r = send::run(&f.target, &args).await?;
    assert_eq!(r.wire, "gob+gzip");
    assert_eq!((r.sent, r.acked, r.ack_errors), (60, 60, 0), "{r}");
    assert_eq!(
        (r.delivered, r.duplicates, r.connections_lost),
        (60, 0, 0),
        "{r}"
    );
    assert!(
        r.projections_checked && r.end_to_end_time.is_some(),
        "projections did not drain: {r}"
    );
    assert_eq!((r.ack.count, r.delivery.count), (60, 60));
    // The server runs in the tool's process here: one watched process, and a CPU row.
    let roles: Vec<&str> = r.cpu.processes.iter().map(|(role, _)| *role).collect();
    assert_eq!(roles, ["server+tool"], "{r}");
    let table = report::table(&r.rows(Some(1000.0)));
    assert!(table.contains("send gob+gzip"), "{table}");
    assert!(table.contains("max: CPU | server+tool "), "{table}");
    f.target.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_open_loop_json_delivers_every_message_once() -> anyhow::Result<()> {
    let f = start().await?;
    let args = SendArgs {
        users: 4,
        senders: 2,
        messages: 30,
        rate: 100,
        codec: Codec::Json,
        duration: Duration::from_secs(60),
        drain: Duration::from_secs(60),
        ..SendArgs::default()
    };
    let r = send::run(&f.target, &args).await?;
    assert_eq!(r.wire, "json");
    assert_eq!((r.sent, r.acked, r.ack_errors), (30, 30, 0), "{r}");
    assert_eq!((r.delivered, r.duplicates), (30, 0), "{r}");
    assert_eq!(r.rate_target, Some(100));
    f.target.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_reaches_every_member() -> anyhow::Result<()> {
    let f = start().await?;
    let args = FanoutArgs {
        members: 5,
        messages: 6,
        rate: 20.0,
        drain: Duration::from_secs(30),
        ..FanoutArgs::default()
    };
    let r = fanout::run(&f.target, &args).await?;
    assert_eq!((r.sent, r.acked), (6, 6), "{r}");
    assert_eq!((r.deliveries, r.expected_deliveries), (24, 24), "{r}");
    assert_eq!(r.complete_messages, 6, "{r}");
    assert_eq!(r.last_member.count, 6);
    f.target.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_open_from_several_sources_and_stay_alive() -> anyhow::Result<()> {
    let f = start().await?;
    let args = ConnectionsArgs {
        connections: 12,
        per_source: 5,
        concurrency: 4,
        hold: Duration::from_millis(1500),
        heartbeat: Duration::from_millis(300),
        codec: Codec::Gob,
    };
    let r = connections::run(&f.target, &args).await?;
    assert_eq!((r.connected, r.failed, r.alive), (12, 0, 12), "{r}");
    assert_eq!(r.source_addresses, 3);
    assert!(
        r.pongs >= 12,
        "every connection was pinged at least once: {r}"
    );
    assert!(r.rss_before_kib.is_some() && r.rss_after_kib.is_some());
    f.target.shutdown().await
}
