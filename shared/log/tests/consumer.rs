//! The consumer-group runtime against a real redis-server.
#![allow(clippy::unwrap_used)]

mod common;

use common::{log_on, message, text_of, topology};
use redis::AsyncCommands;
use rill_log::config::GroupConfig;
use rill_log::{
    BatchOutcome, CancellationToken, ConsumerOptions, Handler, Log, LogEntry, Position,
    group_status, run_consumer_with, set_group_position,
};
use rill_testkit::RedisServer;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const GROUP: &str = "history";

fn fast(max_deliveries: u64) -> ConsumerOptions {
    ConsumerOptions {
        partitions: None,
        config: Some(GroupConfig {
            batch_size: 20,
            block: Duration::from_millis(50),
            claim_idle: Duration::from_millis(300),
            max_deliveries,
            linger: Duration::ZERO,
        }),
    }
}

/// (partition, entry id) → the delivery count of each time it was handled.
type Seen = HashMap<(u32, String), Vec<u64>>;

/// Records every delivery; fails entries whose text starts with "poison".
#[derive(Clone, Default)]
struct Recorder {
    /// (partition, entry id) → delivery counts. Ids repeat across partitions.
    seen: Arc<Mutex<Seen>>,
}

impl Handler for Recorder {
    async fn handle(&self, batch: &[LogEntry]) -> BatchOutcome {
        let mut seen = self.seen.lock().unwrap();
        let mut out = BatchOutcome::all_ok();
        for (i, e) in batch.iter().enumerate() {
            seen.entry((e.partition, e.id.clone()))
                .or_default()
                .push(e.deliveries);
            if text_of(&e.envelope).starts_with("poison") {
                out.failed.push((i, "poison".into()));
            }
        }
        out
    }
}

/// Signals when it holds a batch, then never returns (its task gets aborted).
struct Stuck(mpsc::UnboundedSender<usize>);

impl Handler for Stuck {
    async fn handle(&self, batch: &[LogEntry]) -> BatchOutcome {
        let _ = self.0.send(batch.len());
        std::future::pending().await
    }
}

/// Signals, then takes its time before succeeding.
struct Slow(mpsc::UnboundedSender<usize>, Arc<Mutex<Vec<String>>>);

impl Handler for Slow {
    async fn handle(&self, batch: &[LogEntry]) -> BatchOutcome {
        let _ = self.0.send(batch.len());
        tokio::time::sleep(Duration::from_millis(400)).await;
        self.1
            .lock()
            .unwrap()
            .extend(batch.iter().map(|e| e.id.clone()));
        BatchOutcome::all_ok()
    }
}

async fn all_ids(log: &Log) -> Vec<(u32, String)> {
    let mut conn = log.conn();
    let mut ids = Vec::new();
    for p in 0..log.topology().partitions {
        let r: redis::streams::StreamRangeReply =
            conn.xrange_all(log.keys().partition_log(p)).await.unwrap();
        ids.extend(r.ids.into_iter().map(|e| (p, e.id)));
    }
    ids
}

async fn pending(log: &Log, group: &str) -> usize {
    let mut conn = log.conn();
    let mut n = 0;
    for p in 0..log.topology().partitions {
        let r: redis::streams::StreamPendingReply = conn
            .xpending(log.keys().partition_log(p), group)
            .await
            .unwrap();
        n += r.count();
    }
    n
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_consumer_is_reclaimed_and_poison_goes_to_dead_letters() {
    let redis = RedisServer::start().await.unwrap();
    let log = log_on(&redis, topology(2)).await;
    for i in 0..150 {
        let conv = format!("sg_{}", i % 7);
        let text = if i == 3 {
            "poison".to_string()
        } else {
            format!("m{i}")
        };
        log.append(&conv, "", &message(&conv, "", &text))
            .await
            .unwrap();
    }
    // An entry no build can decode: it must fail (and end as a dead letter), not panic.
    let mut conn = log.conn();
    let junk_partition = 1;
    let junk_id: String = conn
        .xadd(
            log.keys().partition_log(junk_partition),
            "*",
            &[("c", "sg_x"), ("s", "1"), ("e", "\u{1}garbage")],
        )
        .await
        .unwrap();
    let ids = all_ids(&log).await;
    assert_eq!(ids.len(), 151);

    // Consumer A takes a batch and dies inside its handler.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = {
        let log = log.clone();
        tokio::spawn(async move {
            run_consumer_with(
                &log,
                GROUP,
                "a",
                Stuck(tx),
                CancellationToken::new(),
                fast(3),
            )
            .await
        })
    };
    let held = rx.recv().await.unwrap();
    assert!(held > 0);
    a.abort();
    assert!(a.await.unwrap_err().is_cancelled());
    assert!(
        pending(&log, GROUP).await >= held,
        "A's batch is pending under A"
    );

    // Consumer B reclaims A's entries once they are idle, and handles everything.
    let recorder = Recorder::default();
    let stop = CancellationToken::new();
    let b = {
        let (log, r, stop) = (log.clone(), recorder.clone(), stop.clone());
        tokio::spawn(async move { run_consumer_with(&log, GROUP, "b", r, stop, fast(3)).await })
    };
    let dead_key = |p: u32| log.keys().dead_letters(p, GROUP);
    wait_for("all entries acked and two dead letters", async || {
        let mut c = log.conn();
        let d0: usize = c.xlen(dead_key(0)).await.unwrap();
        let d1: usize = c.xlen(dead_key(1)).await.unwrap();
        d0 + d1 == 2 && pending(&log, GROUP).await == 0
    })
    .await;
    stop.cancel();
    b.await.unwrap().unwrap();

    let seen = recorder.seen.lock().unwrap().clone();
    let junk = (junk_partition, junk_id.clone());
    let poison_id = seen
        .iter()
        .find(|(_, d)| d.len() > 1)
        .map(|(id, _)| id.clone())
        .expect("the poison entry was redelivered");
    for id in &ids {
        if *id != junk {
            assert!(seen.contains_key(id), "entry {id:?} never handled");
        }
    }
    assert!(
        !seen.contains_key(&junk),
        "undecodable entries never reach the handler"
    );
    // The poison entry was handled until its third delivery, then given up on.
    assert_eq!(*seen[&poison_id].last().unwrap(), 3);
    assert_eq!(
        seen.values().filter(|d| d.len() > 1).count(),
        1,
        "only the poison entry came back"
    );

    // Dead letters keep the original fields plus why.
    let dead_of = async |(p, id): &(u32, String)| {
        let r: redis::streams::StreamRangeReply =
            log.conn().xrange_all(dead_key(*p)).await.unwrap();
        r.ids
            .into_iter()
            .find(|e| e.get::<String>("id").as_deref() == Some(id.as_str()))
            .unwrap()
    };
    let poison = dead_of(&poison_id).await;
    assert_eq!(poison.get::<String>("group").as_deref(), Some(GROUP));
    assert_eq!(poison.get::<String>("reason").as_deref(), Some("poison"));
    assert_eq!(poison.get::<u64>("deliveries"), Some(3));
    assert!(poison.get::<String>("c").unwrap().starts_with("sg_"));
    assert!(poison.get::<i64>("s").unwrap() > 0);
    let envelope = rill_log::Envelope::decode(&poison.get::<Vec<u8>>("e").unwrap()).unwrap();
    assert_eq!(text_of(&envelope), "poison");
    let junk = dead_of(&junk).await;
    assert!(
        junk.get::<String>("reason")
            .unwrap()
            .contains("undecodable")
    );
    assert_eq!(junk.get::<u64>("deliveries"), Some(3));

    // The operator view agrees.
    let status = group_status(&log).await.unwrap();
    let rows: Vec<_> = status.iter().filter(|s| s.group == GROUP).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows.iter().map(|r| r.dead_letters).sum::<u64>(), 2);
    assert_eq!(rows.iter().map(|r| r.length).sum::<u64>(), 151);
    for r in &rows {
        assert_eq!(
            (r.pending, r.lag, r.oldest_pending_age),
            (0, Some(0), None),
            "{r:?}"
        );
        assert_eq!(r.last_delivered_id, r.last_id);
    }
    // Groups nobody ran yet show their full lag.
    let push: Vec<_> = status.iter().filter(|s| s.group == "push").collect();
    assert_eq!(push.iter().map(|r| r.lag.unwrap_or(0)).sum::<u64>(), 151);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_mid_batch_finishes_and_acks_it() {
    let redis = RedisServer::start().await.unwrap();
    let log = log_on(&redis, topology(2)).await;
    for i in 0..30 {
        log.append("sg_s", "", &message("sg_s", "", &format!("m{i}")))
            .await
            .unwrap();
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let done = Arc::new(Mutex::new(Vec::new()));
    let stop = CancellationToken::new();
    let worker = {
        let (log, done, stop) = (log.clone(), done.clone(), stop.clone());
        tokio::spawn(async move {
            run_consumer_with(&log, GROUP, "s", Slow(tx, done), stop, fast(5)).await
        })
    };
    let len = rx.recv().await.unwrap();
    stop.cancel(); // while the handler is inside the batch
    worker.await.unwrap().unwrap();
    let done = done.lock().unwrap().clone();
    assert_eq!(done.len(), len, "the batch in hand was finished");
    assert_eq!(pending(&log, GROUP).await, 0, "and acknowledged");
    // It stopped after that batch: the rest is still unread, not lost.
    let status = group_status(&log).await.unwrap();
    let lag: u64 = status
        .iter()
        .filter(|s| s.group == GROUP)
        .map(|s| s.lag.unwrap_or(0))
        .sum();
    assert_eq!(lag as usize, 30 - len);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_redelivers_from_a_position_and_partition_subsets_work() {
    let redis = RedisServer::start().await.unwrap();
    let log = log_on(&redis, topology(4)).await;
    for i in 0..40 {
        let conv = format!("si_r_{i}");
        log.append(&conv, "", &message(&conv, "", "m"))
            .await
            .unwrap();
    }
    let ids = all_ids(&log).await;
    let run_until_idle = async |only: Option<Vec<u32>>| {
        let recorder = Recorder::default();
        let stop = CancellationToken::new();
        let mut options = fast(5);
        options.partitions = only;
        let task = {
            let (log, r, stop) = (log.clone(), recorder.clone(), stop.clone());
            tokio::spawn(async move { run_consumer_with(&log, GROUP, "r", r, stop, options).await })
        };
        tokio::time::sleep(Duration::from_millis(400)).await;
        stop.cancel();
        task.await.unwrap().unwrap();
        recorder.seen.lock().unwrap().clone()
    };
    let first = run_until_idle(None).await;
    assert_eq!(first.len(), ids.len());

    // Replay partition 2 only, from its start.
    set_group_position(&log, GROUP, &[2], &Position::Start)
        .await
        .unwrap();
    let again = run_until_idle(Some(vec![2])).await;
    let mut conn = log.conn();
    let p2: usize = conn.xlen(log.keys().partition_log(2)).await.unwrap();
    assert_eq!(again.len(), p2);
    assert!(p2 > 0 && p2 < ids.len());

    // Replay everything from a given entry (inclusive).
    let mut p0: Vec<String> = {
        let r: redis::streams::StreamRangeReply =
            conn.xrange_all(log.keys().partition_log(0)).await.unwrap();
        r.ids.into_iter().map(|e| e.id).collect()
    };
    p0.sort();
    let from = p0[p0.len() / 2].clone();
    set_group_position(&log, GROUP, &[0], &Position::From(from.clone()))
        .await
        .unwrap();
    let tail = run_until_idle(Some(vec![0])).await;
    let mut got: Vec<String> = tail.keys().map(|(_, id)| id.clone()).collect();
    got.sort();
    assert_eq!(got, p0[p0.len() / 2..].to_vec());

    // A partition that does not exist is refused.
    let bad = run_consumer_with(
        &log,
        GROUP,
        "x",
        Recorder::default(),
        CancellationToken::new(),
        ConsumerOptions {
            partitions: Some(vec![9]),
            config: None,
        },
    )
    .await;
    assert!(bad.is_err());
    let unknown = rill_log::run_consumer(
        &log,
        "nope",
        "x",
        Recorder::default(),
        CancellationToken::new(),
    )
    .await;
    assert!(unknown.unwrap_err().to_string().contains("groups.nope"));
}

/// Panics on entries whose text is "boom".
#[derive(Clone, Default)]
struct Panicky(Arc<Mutex<Vec<String>>>);

impl Handler for Panicky {
    async fn handle(&self, batch: &[LogEntry]) -> BatchOutcome {
        for e in batch {
            if text_of(&e.envelope) == "boom" {
                panic!("handler bug");
            }
        }
        self.0
            .lock()
            .unwrap()
            .extend(batch.iter().map(|e| text_of(&e.envelope)));
        BatchOutcome::all_ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_handler_fails_the_batch_not_the_worker() {
    let redis = RedisServer::start().await.unwrap();
    let log = log_on(&redis, topology(1)).await;
    for text in ["a", "b", "boom", "c", "d"] {
        log.append("sg_p", "", &message("sg_p", "", text))
            .await
            .unwrap();
    }
    let handler = Panicky::default();
    let stop = CancellationToken::new();
    let mut options = fast(2);
    if let Some(c) = options.config.as_mut() {
        c.batch_size = 1;
        c.claim_idle = Duration::from_millis(100);
    }
    let task = {
        let (log, h, stop) = (log.clone(), handler.clone(), stop.clone());
        tokio::spawn(async move { run_consumer_with(&log, GROUP, "p", h, stop, options).await })
    };
    wait_for("one dead letter and nothing pending", async || {
        let dead: usize = log
            .conn()
            .xlen(log.keys().dead_letters(0, GROUP))
            .await
            .unwrap();
        dead == 1 && pending(&log, GROUP).await == 0
    })
    .await;
    stop.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(*handler.0.lock().unwrap(), ["a", "b", "c", "d"]);
}

/// Counts handler calls and the entries they held.
#[derive(Clone, Default)]
struct Batches(Arc<Mutex<Vec<usize>>>);

impl Handler for Batches {
    async fn handle(&self, batch: &[LogEntry]) -> BatchOutcome {
        self.0.lock().unwrap().push(batch.len());
        BatchOutcome::all_ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lingering_group_handles_entries_that_trickle_in_together() {
    let redis = RedisServer::start().await.unwrap();
    let run = async |linger: Duration| {
        // A log of its own (groups start at its beginning).
        let log = log_on(&redis, topology(2)).await;
        let batches = Batches::default();
        let stop = CancellationToken::new();
        let mut options = fast(5);
        if let Some(c) = options.config.as_mut() {
            c.linger = linger;
            c.claim_idle = Duration::from_secs(10);
        }
        let task = {
            let (log, b, stop) = (log.clone(), batches.clone(), stop.clone());
            tokio::spawn(async move { run_consumer_with(&log, GROUP, "c", b, stop, options).await })
        };
        // Let the worker create its group at the log's end and block on it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        // 10 entries, 20 ms apart: about 200 ms of trickle.
        for i in 0..10 {
            log.append("sg_l", "", &message("sg_l", "", &format!("m{i}")))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        wait_for("all 10 handled", async || {
            batches.0.lock().unwrap().iter().sum::<usize>() >= 10
        })
        .await;
        stop.cancel();
        task.await.unwrap().unwrap();
        batches.0.lock().unwrap().clone()
    };
    // Without linger each entry is read as it comes; with a linger longer than the trickle,
    // the first entry is handled at once and the rest together.
    let eager = run(Duration::ZERO).await;
    assert!(eager.len() >= 5, "{eager:?}");
    let lingering = run(Duration::from_secs(2)).await;
    assert_eq!(lingering.first(), Some(&1), "{lingering:?}");
    assert!(lingering.len() <= 3, "{lingering:?}");
}
