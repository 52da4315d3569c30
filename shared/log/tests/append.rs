//! The append function against a real redis-server: seqs, dedup, reads, durability.
#![allow(clippy::unwrap_used)]

mod common;

use common::{log_on, message, text_of, topology};
use redis::AsyncCommands;
use rill_log::{Event, LogError};
use rill_testkit::RedisServer;
use std::collections::HashMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_get_gapless_seqs() {
    let redis = RedisServer::start().await.unwrap();
    let log = log_on(&redis, topology(4)).await;
    const TASKS: usize = 8;
    const TOTAL: usize = 10_000;
    const CONVERSATIONS: usize = 100;

    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in (t..TOTAL).step_by(TASKS) {
                let conv = format!("si_a_{}", i % CONVERSATIONS);
                let id = format!("m{i}");
                let a = log
                    .append(&conv, &id, &message(&conv, &id, &id))
                    .await
                    .unwrap();
                assert!(!a.duplicate);
                got.push((conv, a.seq, id));
            }
            got
        }));
    }
    let mut per_conv: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for t in tasks {
        for (conv, seq, id) in t.await.unwrap() {
            per_conv.entry(conv).or_default().push((seq, id));
        }
    }
    assert_eq!(per_conv.len(), CONVERSATIONS);
    for (conv, mut seqs) in per_conv {
        seqs.sort();
        let n = seqs.len() as i64;
        let only: Vec<i64> = seqs.iter().map(|(s, _)| *s).collect();
        assert_eq!(only, (1..=n).collect::<Vec<_>>(), "{conv}");
        assert_eq!(log.max_seq(&conv).await.unwrap(), n);
        // The stream holds exactly what each append was told.
        let stored = log.range(&conv, 1, n).await.unwrap();
        assert_eq!(stored.len() as i64, n);
        for (entry, (seq, id)) in stored.iter().zip(&seqs) {
            assert_eq!(entry.seq, *seq);
            assert_eq!(text_of(&entry.envelope), *id);
            let Event::Message(m) = &entry.envelope.event else {
                panic!("not a message");
            };
            assert_eq!(m.seq, *seq, "reader fills the seq in");
        }
    }
    // Every append also reached exactly one partition log.
    let mut conn = log.conn();
    let mut total = 0;
    for p in 0..4 {
        let len: usize = conn.xlen(log.keys().partition_log(p)).await.unwrap();
        total += len;
    }
    assert_eq!(total, TOTAL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_client_msg_id_returns_first_seq_and_adds_nothing() {
    let redis = RedisServer::start().await.unwrap();
    let log = log_on(&redis, topology(2)).await;
    let conv = "sg_g1";
    let first = log
        .append(conv, "c1", &message(conv, "c1", "hello"))
        .await
        .unwrap();
    let other = log
        .append(conv, "c2", &message(conv, "c2", "world"))
        .await
        .unwrap();
    assert_eq!((first.seq, first.duplicate), (1, false));
    assert_eq!(other.seq, 2);

    let again = log
        .append(conv, "c1", &message(conv, "c1", "hello again"))
        .await
        .unwrap();
    assert_eq!((again.seq, again.duplicate), (1, true));

    let mut conn = log.conn();
    let conv_len: usize = conn.xlen(log.keys().conversation(conv)).await.unwrap();
    let p = log.keys().partition_of(conv);
    let log_len: usize = conn.xlen(log.keys().partition_log(p)).await.unwrap();
    assert_eq!((conv_len, log_len), (2, 2));
    assert_eq!(
        text_of(&log.range(conv, 1, 1).await.unwrap()[0].envelope),
        "hello"
    );

    // The marker expires with the dedup window.
    let ttl: i64 = conn.pttl(log.keys().dedup(conv, "c1")).await.unwrap();
    assert!(ttl > 0 && ttl <= 24 * 3600 * 1000, "{ttl}");

    // No clientMsgID: no dedup.
    let a = log.append(conv, "", &message(conv, "", "x")).await.unwrap();
    let b = log.append(conv, "", &message(conv, "", "x")).await.unwrap();
    assert_eq!((a.seq, b.seq, b.duplicate), (3, 4, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_survive_trimming_of_the_hot_window() {
    let redis = RedisServer::start().await.unwrap();
    let mut t = topology(2);
    t.hot_window = 10;
    let log = log_on(&redis, t).await;
    let conv = "si_x_y";
    assert_eq!(log.max_seq(conv).await.unwrap(), 0);
    assert_eq!(log.hot_min_seq(conv).await.unwrap(), None);
    assert!(log.range(conv, 1, 10).await.unwrap().is_empty());
    for i in 0..500 {
        log.append(
            conv,
            &format!("m{i}"),
            &message(conv, "", &format!("{}", i + 1)),
        )
        .await
        .unwrap();
    }
    // MAXLEN ~ trims whole nodes: fewer than 500 remain, at least the window.
    let min = log.hot_min_seq(conv).await.unwrap().unwrap();
    assert!(min > 1 && min <= 491, "{min}");
    assert_eq!(log.max_seq(conv).await.unwrap(), 500);
    let tail = log.range(conv, 495, 600).await.unwrap();
    assert_eq!(
        tail.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (495..=500).collect::<Vec<_>>()
    );
    assert_eq!(text_of(&tail[0].envelope), "495");
    // A range that reaches below the window returns only what is still there.
    let below = log.range(conv, 1, min).await.unwrap();
    assert_eq!(below.len(), 1);
    assert!(log.range(conv, 10, 5).await.unwrap().is_empty());

    // Trim everything: the max seq still comes from the last generated id.
    let mut conn = log.conn();
    let _: usize = redis::cmd("XTRIM")
        .arg(log.keys().conversation(conv))
        .arg("MAXLEN")
        .arg(0)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(log.max_seq(conv).await.unwrap(), 500);
    assert_eq!(log.hot_min_seq(conv).await.unwrap(), None);
    assert_eq!(
        log.append(conv, "", &message(conv, "", "next"))
            .await
            .unwrap()
            .seq,
        501
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_seqs_in_order_across_partitions() {
    let redis = RedisServer::start().await.unwrap();
    let log = log_on(&redis, topology(8)).await;
    let convs: Vec<String> = (0..20).map(|i| format!("sg_{i}")).collect();
    for (i, c) in convs.iter().enumerate() {
        for _ in 0..i {
            log.append(c, "", &message(c, "", "m")).await.unwrap();
        }
    }
    let mut asked = convs.clone();
    asked.push("never_written".into());
    let seqs = log.max_seqs(&asked).await.unwrap();
    let mut want: Vec<i64> = (0..20).collect();
    want.push(0);
    assert_eq!(seqs, want);
    assert!(log.max_seqs(&[]).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seq_floor_moves_stream_forward_only() {
    let redis = RedisServer::start().await.unwrap();
    let log = log_on(&redis, topology(2)).await;
    let conv = "si_f_g";
    for _ in 0..3 {
        log.append(conv, "", &message(conv, "", "m")).await.unwrap();
    }
    assert_eq!(log.ensure_seq_floor(conv, 2).await.unwrap(), (3, false));
    assert_eq!(log.ensure_seq_floor(conv, 10).await.unwrap(), (3, true));
    assert_eq!(
        log.append(conv, "", &message(conv, "", "m"))
            .await
            .unwrap()
            .seq,
        11
    );

    // A stream that does not exist at all (its whole history was lost).
    let fresh = "si_lost_stream";
    assert_eq!(log.ensure_seq_floor(fresh, 7).await.unwrap(), (0, true));
    assert_eq!(log.max_seq(fresh).await.unwrap(), 7);
    assert!(log.range(fresh, 1, 7).await.unwrap().is_empty());
    assert_eq!(
        log.append(fresh, "", &message(fresh, "", "m"))
            .await
            .unwrap()
            .seq,
        8
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_count_mismatch_refuses_to_start() {
    let redis = RedisServer::start().await.unwrap();
    let t = topology(4);
    let _first = log_on(&redis, t.clone()).await;
    let mut other = t.clone();
    other.partitions = 8;
    match rill_log::Log::connect(redis.client(), other).await {
        Err(LogError::PartitionMismatch {
            recorded: 4,
            configured: 8,
        }) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("started with a different partition count"),
    }
    // The same count starts again (and reloading the function is harmless).
    let _again = log_on(&redis, t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_is_reloaded_when_redis_restarts_empty() {
    let mut redis = RedisServer::start().await.unwrap();
    let log = log_on(&redis, topology(2)).await;
    log.append("c", "", &message("c", "", "m")).await.unwrap();
    redis.restart().await.unwrap();
    // No persistence: everything is gone, including the function library.
    let mut seq = None;
    for _ in 0..20 {
        match log.append("c", "id", &message("c", "id", "m")).await {
            Ok(a) => {
                seq = Some(a.seq);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    assert_eq!(seq, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_sigkill_with_aof_always() {
    let mut redis = RedisServer::start_aof().await.unwrap();
    let log = log_on(&redis, topology(4)).await;
    let convs: Vec<String> = (0..10).map(|i| format!("si_k_{i}")).collect();

    // Appends keep running while the server is killed; only acknowledged ones are counted.
    let writer = {
        let log = log.clone();
        let convs = convs.clone();
        tokio::spawn(async move {
            let mut acked: HashMap<String, Vec<(i64, String)>> = HashMap::new();
            for i in 0..1000 {
                let conv = &convs[i % convs.len()];
                let id = format!("k{i}");
                if let Ok(a) = log.append(conv, &id, &message(conv, &id, &id)).await {
                    acked.entry(conv.clone()).or_default().push((a.seq, id));
                }
            }
            acked
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    redis.kill9().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    redis.restart().await.unwrap();
    let acked = writer.await.unwrap();
    assert!(acked.values().map(Vec::len).sum::<usize>() > 0);

    for conv in &convs {
        let max = log.max_seq(conv).await.unwrap();
        let stored = log.range(conv, 1, max).await.unwrap();
        let by_seq: HashMap<i64, String> = stored
            .iter()
            .map(|e| (e.seq, text_of(&e.envelope)))
            .collect();
        // Gapless after the crash, and every acknowledged append is there under its seq.
        assert_eq!(stored.len() as i64, max, "{conv}");
        for (seq, id) in acked.get(conv).into_iter().flatten() {
            assert_eq!(by_seq.get(seq), Some(id), "{conv} seq {seq}");
        }
        let next = log
            .append(conv, "after", &message(conv, "after", "after"))
            .await
            .unwrap();
        assert_eq!(next.seq, max + 1);
    }
}
