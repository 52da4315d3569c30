//! `ceiling`: the log's physical limit on this Redis, measured in the same run as the other
//! scenarios so they print as ratios: `rill_log::Log::append` (dedup + XADD 0-* + partition log,
//! one FCALL) in a tight concurrent loop, and raw `XADD *` of the same payload. Keys live under a
//! private prefix and are deleted afterwards.

use super::progress::Progress;
use super::report::{Row, thousands};
use super::setup;
use super::stats::{self, Hist, Summary, per_sec};
use super::target::Target;
use anyhow::Context as _;
use rill_log::{Envelope, Event, Log};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct CeilingArgs {
    /// Concurrent appenders (all on one multiplexed connection, as in the server).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Appends (and XADDs) per measurement.
    #[arg(long, default_value_t = 300_000)]
    pub appends: u64,
    /// Each measurement stops after this long.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Distinct conversations appended to.
    #[arg(long, default_value_t = 1000)]
    pub conversations: usize,
    /// Text size of the appended message, in bytes.
    #[arg(long, default_value_t = 64)]
    pub size: usize,
}

impl Default for CeilingArgs {
    fn default() -> Self {
        CeilingArgs {
            concurrency: 64,
            appends: 300_000,
            duration: Duration::from_secs(10),
            conversations: 1000,
            size: 64,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Measured {
    pub ops: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latency: Summary,
}

impl Measured {
    pub fn rate(&self) -> f64 {
        per_sec(self.ops, self.elapsed)
    }
}

#[derive(Debug, Clone)]
pub struct CeilingReport {
    pub concurrency: usize,
    pub payload_bytes: usize,
    pub append: Measured,
    pub xadd: Measured,
}

impl CeilingReport {
    /// The denominator of every ratio: idempotent appends per second.
    pub fn append_rate(&self) -> f64 {
        self.append.rate()
    }

    pub fn rows(&self) -> Vec<Row> {
        let c = Some(self.append_rate());
        vec![
            Row::new(
                format!("ceiling: Log::append ×{}", self.concurrency),
                format!(
                    "{} appends/s (p99 {} ms)",
                    thousands(self.append.rate()),
                    stats::fmt_ms(self.append.latency.p99_ms)
                ),
            )
            .ratio_of(self.append.rate(), c),
            Row::new(
                format!("ceiling: raw XADD ×{}", self.concurrency),
                format!(
                    "{} XADD/s (p99 {} ms)",
                    thousands(self.xadd.rate()),
                    stats::fmt_ms(self.xadd.latency.p99_ms)
                ),
            )
            .ratio_of(self.xadd.rate(), c),
        ]
    }
}

impl fmt::Display for CeilingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "ceiling: {} concurrent, {} B payload",
            self.concurrency, self.payload_bytes
        )?;
        for (name, m) in [("Log::append", &self.append), ("raw XADD", &self.xadd)] {
            writeln!(
                f,
                "  {name:<12} {} ops in {:.2} s = {:.0}/s, errors {}; latency {}",
                m.ops,
                m.elapsed.as_secs_f64(),
                m.rate(),
                m.errors,
                m.latency
            )?;
            if let Some(e) = &m.first_error {
                writeln!(f, "    first error: {e}")?;
            }
        }
        Ok(())
    }
}

pub async fn run(target: &Target, args: &CeilingArgs) -> anyhow::Result<CeilingReport> {
    let url = target
        .redis_url
        .as_deref()
        .context("the ceiling needs the server's Redis: pass --redis (or --self-contained)")?;
    let run = setup::run_id();
    let prefix = format!("rillbench{run}");
    let topology = target.topology.clone().with_prefix(prefix.clone());
    let client = rill_log::redis_client(url).context("--redis")?;
    let log = Log::connect(client, topology)
        .await
        .context("connecting the log to Redis")?;

    let template = rill_core::Message {
        send_id: "ceiling_a".into(),
        recv_id: "ceiling_b".into(),
        sender_platform_id: 3,
        sender_nickname: "ceiling_a".into(),
        session_type: 1,
        msg_from: 100,
        content_type: 101,
        content: serde_json::json!({ "content": super::msgs::body(args.size) })
            .to_string()
            .into_bytes(),
        create_time: rill_core::now_ms(),
        send_time: rill_core::now_ms(),
        status: 2,
        server_msg_id: "0123456789abcdef0123456789abcdef".into(),
        ..Default::default()
    };
    let conversations: Arc<Vec<String>> = Arc::new(
        (0..args.conversations.max(1))
            .map(|i| {
                rill_core::conversation::single(
                    &format!("ceil{run}a{i}"),
                    &format!("ceil{run}b{i}"),
                )
            })
            .collect(),
    );
    let payload = Envelope::new(Event::Message(template.clone())).encode()?;

    let append = {
        let log = log.clone();
        let conversations = conversations.clone();
        let template = template.clone();
        let run = run.clone();
        measure("ceiling Log::append", args, move |i| {
            let log = log.clone();
            let conversation = conversations[i as usize % conversations.len()].clone();
            let mut m = template.clone();
            m.client_msg_id = format!("ceil{run}-{i}");
            async move {
                let cmid = m.client_msg_id.clone();
                log.append(&conversation, &cmid, &Envelope::new(Event::Message(m)))
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
        })
        .await
    };
    let xadd = {
        let conn = log.conn();
        let payload = Arc::new(payload.clone());
        let conversations = conversations.clone();
        let prefix = prefix.clone();
        measure("ceiling XADD", args, move |i| {
            let mut conn = conn.clone();
            let payload = payload.clone();
            let conversation = &conversations[i as usize % conversations.len()];
            let key = format!("{prefix}:x:{conversation}");
            let conversation = conversation.clone();
            async move {
                redis::cmd("XADD")
                    .arg(&key)
                    .arg("*")
                    .arg("c")
                    .arg(&conversation)
                    .arg("e")
                    .arg(payload.as_slice())
                    .query_async::<String>(&mut conn)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
        })
        .await
    };
    cleanup(&log, &prefix).await;
    Ok(CeilingReport {
        concurrency: args.concurrency,
        payload_bytes: payload.len(),
        append,
        xadd,
    })
}

/// Runs `op(i)` for i = 0.. on `concurrency` tasks until `appends` ops or `duration`.
async fn measure<F, Fut>(label: &str, args: &CeilingArgs, op: F) -> Measured
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let hist = Hist::default();
    let d = done.clone();
    let total = args.appends;
    let progress = Progress::start(label, move || {
        format!("{}/{total}", d.load(Ordering::Relaxed))
    });
    let started = Instant::now();
    let deadline = started + args.duration;
    let mut tasks = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency.max(1) {
        let (op, next, done, errors, first_error, hist) = (
            op.clone(),
            next.clone(),
            done.clone(),
            errors.clone(),
            first_error.clone(),
            hist.clone(),
        );
        let total = args.appends;
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || Instant::now() > deadline {
                    break;
                }
                let t = Instant::now();
                match op(i).await {
                    Ok(()) => {
                        hist.record(t.elapsed());
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut f) = first_error.lock() {
                            f.get_or_insert(e);
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed();
    progress.finish();
    Measured {
        ops: done.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        first_error: first_error.lock().ok().and_then(|f| f.clone()),
        elapsed,
        latency: hist.summary(),
    }
}

/// Deletes every key under the private prefix (best effort: a leftover only costs memory).
async fn cleanup(log: &Log, prefix: &str) {
    let mut conn = log.conn();
    let mut cursor: u64 = 0;
    loop {
        let reply: Result<(u64, Vec<String>), _> = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await;
        let Ok((next, keys)) = reply else { return };
        if !keys.is_empty() {
            let _: Result<i64, _> = redis::cmd("UNLINK").arg(&keys).query_async(&mut conn).await;
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
}
