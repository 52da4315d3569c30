//! The loop of one consumer: read → handle → ack, reclaim, dead letters, metrics.
//!
//! Delivery is at least once. An entry stays pending until acked; a failed entry is left
//! pending and comes back through XAUTOCLAIM after `claim_idle` (to this or another consumer);
//! an entry that failed on its `max_deliveries`-th delivery, or was delivered more often than
//! that (a consumer died on it each time), is copied to the dead-letter stream and acked.

use crate::config::GroupConfig;
use crate::consumer::{Handler, LogEntry};
use crate::log::decode_field;
use crate::reply::{self, Entry};
use crate::{Log, LogError};
use futures_util::FutureExt;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamAutoClaimReply, StreamPendingCountReply};
use redis::{AsyncConnectionConfig, Value};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How often a worker refreshes its lag/pending gauges.
const METRICS_EVERY: Duration = Duration::from_secs(5);
/// XAUTOCLAIM rounds per partition per pass, so reclaiming cannot starve new entries.
const CLAIM_ROUNDS: usize = 8;
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Consumers idle this long with nothing pending are removed from the group.
const PRUNE_IDLE_MS: u64 = 24 * 3600 * 1000;

/// An entry as read, before decoding.
struct Raw {
    /// Index into `Worker::partitions`.
    slot: usize,
    entry: Entry,
    deliveries: u64,
}

pub(crate) struct Worker<'a, H> {
    log: &'a Log,
    group: &'a str,
    consumer: &'a str,
    config: GroupConfig,
    handler: H,
    partitions: Vec<u32>,
    /// Partition-log keys, parallel to `partitions`.
    keys: Vec<String>,
    slot_of_key: HashMap<String, usize>,
    /// Metric labels, parallel to `partitions`.
    labels: Vec<[(&'static str, String); 2]>,
    /// This loop's own connection: a BLOCK holds up everything else on a multiplexed
    /// connection, so it is never shared.
    conn: Option<MultiplexedConnection>,
    last_claim: Option<Instant>,
    last_metrics: Option<Instant>,
}

impl<'a, H: Handler> Worker<'a, H> {
    pub(crate) fn new(
        log: &'a Log,
        group: &'a str,
        consumer: &'a str,
        config: GroupConfig,
        partitions: Vec<u32>,
        handler: H,
    ) -> Self {
        let keys: Vec<String> = partitions
            .iter()
            .map(|&p| log.partition_log(p).to_string())
            .collect();
        let slot_of_key = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect();
        let labels = partitions
            .iter()
            .map(|p| [("group", group.to_string()), ("partition", p.to_string())])
            .collect();
        Self {
            log,
            group,
            consumer,
            config,
            handler,
            partitions,
            keys,
            slot_of_key,
            labels,
            conn: None,
            last_claim: None,
            last_metrics: None,
        }
    }

    pub(crate) async fn run(mut self, shutdown: CancellationToken) -> Result<(), LogError> {
        let mut backoff = Duration::from_millis(100);
        let mut groups_ready = false;
        while !shutdown.is_cancelled() {
            let step = async {
                if !groups_ready {
                    self.log.create_group(self.group).await?;
                    self.prune_consumers().await;
                    groups_ready = true;
                }
                self.step(&shutdown).await
            };
            match step.await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(group = self.group, consumer = self.consumer, error = %e, "consumer step failed; retrying");
                    self.conn = None;
                    tokio::select! {
                        _ = shutdown.cancelled() => {}
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        tracing::info!(
            group = self.group,
            consumer = self.consumer,
            "consumer stopped"
        );
        Ok(())
    }

    /// One round: maybe reclaim, then one blocking read and its batches. A read is never
    /// cancelled (entries it returns would be stranded until `claim_idle`), so shutdown waits at
    /// most one BLOCK plus the batch in hand.
    async fn step(&mut self, shutdown: &CancellationToken) -> Result<(), LogError> {
        let claim_every =
            (self.config.claim_idle / 2).clamp(Duration::from_millis(20), Duration::from_secs(10));
        if self.last_claim.is_none_or(|t| t.elapsed() >= claim_every) {
            self.reclaim(shutdown).await?;
            self.last_claim = Some(Instant::now());
        }
        if self
            .last_metrics
            .is_none_or(|t| t.elapsed() >= METRICS_EVERY)
        {
            self.refresh_gauges().await;
            self.last_metrics = Some(Instant::now());
        }
        if shutdown.is_cancelled() {
            return Ok(());
        }
        let began = Instant::now();
        let read = self.read_new().await?;
        // Linger after a read that found something but not a full batch, so entries accumulate
        // for the next one. An empty read (BLOCK ran out) does not linger: an idle worker takes
        // the first new entry at once. A full read means a backlog, which is read at once.
        let linger = !read.is_empty() && read.len() < self.config.batch_size;
        self.process(read).await?;
        if linger && !self.config.linger.is_zero() {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep_until((began + self.config.linger).into()) => {}
            }
        }
        Ok(())
    }

    async fn conn(&mut self) -> Result<&mut MultiplexedConnection, LogError> {
        if self.conn.is_none() {
            // The response timeout only has to outlast BLOCK; it still catches a dead socket.
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(5)))
                .set_response_timeout(Some(self.config.block + Duration::from_secs(5)));
            let conn = self
                .log
                .client()
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            self.conn = Some(conn);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| LogError::Reply("no connection".into()))
    }

    /// XREADGROUP `>` over every owned partition in one command. (On Redis Cluster this would
    /// need one command per slot, i.e. per partition.)
    async fn read_new(&mut self) -> Result<Vec<Raw>, LogError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(self.group)
            .arg(self.consumer)
            .arg("COUNT")
            .arg(self.config.batch_size)
            .arg("BLOCK")
            .arg(
                u64::try_from(self.config.block.as_millis())
                    .unwrap_or(u64::MAX)
                    .max(1),
            )
            .arg("STREAMS")
            .arg(&self.keys);
        for _ in &self.keys {
            cmd.arg(">");
        }
        let read: Value = cmd.query_async(self.conn().await?).await?;
        let mut out = Vec::new();
        for (key, entries) in reply::read(read)? {
            let Some(&slot) = self.slot_of_key.get(&key) else {
                continue;
            };
            out.extend(entries.into_iter().map(|entry| Raw {
                slot,
                entry,
                deliveries: 1,
            }));
        }
        Ok(out)
    }

    /// Takes over entries idle longer than `claim_idle` (a dead consumer's, or failed ones),
    /// learns their delivery counts, and processes them.
    async fn reclaim(&mut self, shutdown: &CancellationToken) -> Result<(), LogError> {
        let idle_ms = u64::try_from(self.config.claim_idle.as_millis()).unwrap_or(u64::MAX);
        for slot in 0..self.keys.len() {
            let mut cursor = "0-0".to_string();
            for _ in 0..CLAIM_ROUNDS {
                if shutdown.is_cancelled() {
                    return Ok(());
                }
                let key = &self.keys[slot];
                let mut cmd = redis::cmd("XAUTOCLAIM");
                cmd.arg(key)
                    .arg(self.group)
                    .arg(self.consumer)
                    .arg(idle_ms)
                    .arg(&cursor)
                    .arg("COUNT")
                    .arg(self.config.batch_size);
                let reply: StreamAutoClaimReply = cmd.query_async(&mut self.log_conn()).await?;
                if !reply.claimed.is_empty() {
                    metrics::counter!("rill_consumer_reclaimed_total", &self.labels[slot])
                        .increment(reply.claimed.len() as u64);
                    let counts = self.delivery_counts(slot, &reply.claimed).await?;
                    let raws = reply
                        .claimed
                        .into_iter()
                        .map(|entry| {
                            let deliveries = counts.get(&entry.id).copied().unwrap_or(1);
                            Raw {
                                slot,
                                entry: entry.into(),
                                deliveries,
                            }
                        })
                        .collect();
                    self.process(raws).await?;
                }
                cursor = reply.next_stream_id;
                if cursor == "0-0" {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Delivery counts from XPENDING (XAUTOCLAIM does not report them): one exact-range query
    /// per entry, pipelined.
    async fn delivery_counts(
        &self,
        slot: usize,
        entries: &[redis::streams::StreamId],
    ) -> Result<HashMap<String, u64>, LogError> {
        let mut pipe = redis::pipe();
        for e in entries {
            pipe.cmd("XPENDING")
                .arg(&self.keys[slot])
                .arg(self.group)
                .arg(&e.id)
                .arg(&e.id)
                .arg(1);
        }
        let replies: Vec<StreamPendingCountReply> = pipe.query_async(&mut self.log_conn()).await?;
        Ok(replies
            .into_iter()
            .flat_map(|r| r.ids)
            .map(|p| (p.id, p.times_delivered as u64))
            .collect())
    }

    /// The shared non-blocking connection, for everything except the blocking read.
    fn log_conn(&self) -> redis::aio::ConnectionManager {
        self.log.conn()
    }

    /// Decodes, hands the entries to the handler in batches of at most `batch_size`, acks what
    /// did not fail and dead-letters what failed for the last time.
    async fn process(&mut self, raws: Vec<Raw>) -> Result<(), LogError> {
        let mut raws = raws;
        while !raws.is_empty() {
            let rest = raws.split_off(raws.len().min(self.config.batch_size));
            self.process_batch(raws).await?;
            raws = rest;
        }
        Ok(())
    }

    async fn process_batch(&mut self, raws: Vec<Raw>) -> Result<(), LogError> {
        let started = Instant::now();
        let mut batch = Vec::with_capacity(raws.len());
        // batch index → raws index
        let mut origin = Vec::with_capacity(raws.len());
        let mut failed: Vec<Option<String>> = vec![None; raws.len()];
        for (i, raw) in raws.iter().enumerate() {
            if raw.deliveries > self.config.max_deliveries {
                failed[i] = Some("delivered more than max_deliveries times without an ack".into());
                continue;
            }
            match to_entry(self.partitions[raw.slot], raw) {
                Ok(entry) => {
                    batch.push(entry);
                    origin.push(i);
                }
                // Not final by itself: a newer consumer (rolling upgrade) may decode it.
                Err(e) => failed[i] = Some(format!("undecodable entry: {e}")),
            }
        }
        if !batch.is_empty() {
            // A panicking handler fails the batch instead of killing the worker, so an entry
            // that makes it panic ends as a dead letter rather than crash-looping the service.
            let handled = AssertUnwindSafe(self.handler.handle(&batch))
                .catch_unwind()
                .await;
            match handled {
                Ok(outcome) => {
                    for (bi, reason) in outcome.failed {
                        if let Some(&i) = origin.get(bi) {
                            failed[i] = Some(reason);
                        }
                    }
                }
                Err(_) => {
                    tracing::error!(
                        group = self.group,
                        entries = batch.len(),
                        "handler panicked; batch failed"
                    );
                    for &i in &origin {
                        failed[i] = Some("handler panicked".into());
                    }
                }
            }
        }
        metrics::histogram!("rill_consumer_batch_seconds", "group" => self.group.to_string())
            .record(started.elapsed().as_secs_f64());
        self.settle(&raws, &failed).await
    }

    /// XACK the successes; move final failures to the dead letters (and ack them); leave the
    /// other failures pending for a later XAUTOCLAIM. One pipelined round trip.
    async fn settle(&mut self, raws: &[Raw], failed: &[Option<String>]) -> Result<(), LogError> {
        let mut acks: Vec<Vec<&str>> = vec![Vec::new(); self.keys.len()];
        let mut dead: Vec<(usize, &str)> = Vec::new();
        let mut retry = vec![0u64; self.keys.len()];
        for (i, raw) in raws.iter().enumerate() {
            match &failed[i] {
                None => acks[raw.slot].push(&raw.entry.id),
                Some(reason) if raw.deliveries >= self.config.max_deliveries => {
                    dead.push((i, reason))
                }
                Some(_) => retry[raw.slot] += 1,
            }
        }
        let mut pipe = redis::pipe();
        for (slot, ids) in acks.iter().enumerate() {
            if !ids.is_empty() {
                pipe.cmd("XACK")
                    .arg(&self.keys[slot])
                    .arg(self.group)
                    .arg(ids)
                    .ignore();
            }
        }
        for &(i, reason) in &dead {
            let raw = &raws[i];
            let p = self.partitions[raw.slot];
            tracing::error!(group = self.group, partition = p, id = %raw.entry.id, deliveries = raw.deliveries, reason, "entry moved to dead letters");
            let cmd = pipe
                .cmd("XADD")
                .arg(self.log.keys().dead_letters(p, self.group))
                .arg("*");
            // The original fields, unchanged, so the entry can be inspected or re-appended.
            for (field, value) in &raw.entry.fields {
                if let Value::BulkString(bytes) = value {
                    cmd.arg(field).arg(bytes);
                }
            }
            cmd.arg("id")
                .arg(&raw.entry.id)
                .arg("group")
                .arg(self.group)
                .arg("reason")
                .arg(reason)
                .arg("deliveries")
                .arg(raw.deliveries)
                .ignore();
            pipe.cmd("XACK")
                .arg(&self.keys[raw.slot])
                .arg(self.group)
                .arg(&raw.entry.id)
                .ignore();
        }
        if acks.iter().any(|a| !a.is_empty()) || !dead.is_empty() {
            let () = pipe.query_async(&mut self.log_conn()).await?;
        }
        for (slot, ids) in acks.iter().enumerate() {
            if !ids.is_empty() {
                metrics::counter!("rill_consumer_processed_total", &self.labels[slot])
                    .increment(ids.len() as u64);
            }
            if retry[slot] > 0 {
                metrics::counter!("rill_consumer_failed_total", &self.labels[slot])
                    .increment(retry[slot]);
            }
        }
        for &(i, _) in &dead {
            let slot = raws[i].slot;
            metrics::counter!("rill_consumer_failed_total", &self.labels[slot]).increment(1);
            metrics::counter!("rill_consumer_dead_letters_total", &self.labels[slot]).increment(1);
        }
        Ok(())
    }

    /// Removes consumers of this group that hold nothing and were idle for a day (processes
    /// that came and went under per-process names), so XINFO stays readable. Best effort.
    async fn prune_consumers(&self) {
        let mut conn = self.log_conn();
        for key in &self.keys {
            let consumers: Result<redis::streams::StreamInfoConsumersReply, _> =
                redis::cmd("XINFO")
                    .arg("CONSUMERS")
                    .arg(key)
                    .arg(self.group)
                    .query_async(&mut conn)
                    .await;
            let Ok(consumers) = consumers else { continue };
            for c in consumers.consumers {
                if c.pending == 0 && c.idle as u64 > PRUNE_IDLE_MS && c.name != self.consumer {
                    let _: Result<i64, _> = redis::cmd("XGROUP")
                        .arg("DELCONSUMER")
                        .arg(key)
                        .arg(self.group)
                        .arg(&c.name)
                        .query_async(&mut conn)
                        .await;
                }
            }
        }
    }

    /// Lag and pending of this group on the owned partitions (XINFO GROUPS). Best effort.
    async fn refresh_gauges(&mut self) {
        let mut pipe = redis::pipe();
        for key in &self.keys {
            pipe.cmd("XINFO").arg("GROUPS").arg(key);
        }
        let replies: Result<Vec<redis::streams::StreamInfoGroupsReply>, _> =
            pipe.query_async(&mut self.log_conn()).await;
        let Ok(replies) = replies else { return };
        for (slot, reply) in replies.into_iter().enumerate() {
            if let Some(g) = reply.groups.into_iter().find(|g| g.name == self.group) {
                metrics::gauge!("rill_consumer_pending", &self.labels[slot]).set(g.pending as f64);
                if let Some(lag) = g.lag {
                    metrics::gauge!("rill_consumer_lag", &self.labels[slot]).set(lag as f64);
                }
            }
        }
    }
}

/// Decodes the fields `c`, `s`, `e` of a partition-log entry.
fn to_entry(partition: u32, raw: &Raw) -> Result<LogEntry, LogError> {
    let e = &raw.entry;
    let conversation_id = e
        .text("c")
        .ok_or_else(|| LogError::Decode("field c missing".into()))?
        .to_string();
    let seq: i64 = e
        .text("s")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| LogError::Decode("field s missing or not a number".into()))?;
    let mut envelope = decode_field(
        e.field("e")
            .ok_or_else(|| LogError::Decode("field e missing".into()))?,
    )?;
    envelope.set_seq(seq);
    Ok(LogEntry {
        partition,
        id: e.id.clone(),
        conversation_id,
        seq,
        envelope,
        deliveries: raw.deliveries,
    })
}
