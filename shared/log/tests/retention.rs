//! Partition-log retention never trims what a group has not acknowledged.
#![allow(clippy::unwrap_used)]

mod common;

use common::{log_on, message, topology};
use redis::AsyncCommands;
use redis::streams::{StreamRangeReply, StreamReadOptions, StreamReadReply};
use rill_log::{TrimOptions, trim_partition};
use rill_testkit::RedisServer;
use std::time::Duration;

const EXACT_NOW: TrimOptions = TrimOptions {
    retention: Duration::ZERO,
    approximate: false,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_never_trims_unacked_entries() {
    let redis = RedisServer::start().await.unwrap();
    let mut t = topology(1);
    t.groups.retain(|name, _| name == "history");
    let log = log_on(&redis, t).await;
    for i in 0..100 {
        log.append("sg_t", "", &message("sg_t", "", &format!("m{i}")))
            .await
            .unwrap();
    }
    let key = log.keys().partition_log(0);
    let mut conn = log.conn();
    let ids: Vec<String> = {
        let r: StreamRangeReply = conn.xrange_all(&key).await.unwrap();
        r.ids.into_iter().map(|e| e.id).collect()
    };
    let remaining = async |conn: &mut redis::aio::ConnectionManager| -> Vec<String> {
        let r: StreamRangeReply = conn.xrange_all(&key).await.unwrap();
        r.ids.into_iter().map(|e| e.id).collect()
    };

    // Age alone: everything is younger than 7 days.
    let r = trim_partition(&log, 0, TrimOptions::from_topology(&log))
        .await
        .unwrap();
    assert_eq!((r.trimmed, r.held_by.as_str()), (0, "history"));

    // Nothing read yet: even with retention 0 nothing may go.
    let r = trim_partition(&log, 0, EXACT_NOW).await.unwrap();
    assert_eq!(r.trimmed, 0);

    // Read 50, ack the first 30: entries 30.. are pending or unread.
    let opts = StreamReadOptions::default().group("history", "c").count(50);
    let read: StreamReadReply = conn.xread_options(&[&key], &[">"], &opts).await.unwrap();
    assert_eq!(read.keys[0].ids.len(), 50);
    let _: usize = conn.xack(&key, "history", &ids[..30]).await.unwrap();
    let r = trim_partition(&log, 0, EXACT_NOW).await.unwrap();
    assert_eq!(r.trimmed, 30);
    assert_eq!(r.held_by, "history");
    assert_eq!(
        remaining(&mut conn).await,
        ids[30..].to_vec(),
        "oldest pending entry kept"
    );

    // Ack the rest of the read: the last delivered entry bounds it now.
    let _: usize = conn.xack(&key, "history", &ids[30..50]).await.unwrap();
    trim_partition(&log, 0, EXACT_NOW).await.unwrap();
    assert_eq!(
        remaining(&mut conn).await,
        ids[49..].to_vec(),
        "nothing unread trimmed"
    );

    // A new group that starts from 0 holds everything still there.
    log.create_group("late").await.unwrap();
    let r = trim_partition(&log, 0, EXACT_NOW).await.unwrap();
    assert_eq!((r.trimmed, r.held_by.as_str()), (0, "late"));
    assert_eq!(remaining(&mut conn).await.len(), 51);

    // Approximate trimming never goes further than exact would.
    let r = trim_partition(
        &log,
        0,
        TrimOptions {
            retention: Duration::ZERO,
            approximate: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(r.trimmed, 0);
}
