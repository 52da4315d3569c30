//! Append throughput vs raw XADD on the same Redis, at several concurrencies.
//!
//! Run by `scripts/bench-log.sh`, which starts private redis-servers (AOF always, AOF off).
//! Usage: bench_append --target <label>=<redis url> [--target ...] [--tasks 1,8,64]
//!                     [--ops 20000] [--max-seconds 20]
//! Every cell stops at `ops` operations or `max-seconds`, whichever comes first.

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use rill_core::Message;
use rill_log::{Envelope, Event, Log, Topology};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CONVERSATIONS: u64 = 1000;

struct Args {
    targets: Vec<(String, String)>,
    tasks: Vec<usize>,
    ops: u64,
    max: Duration,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        targets: Vec::new(),
        tasks: vec![1, 8, 64],
        ops: 20_000,
        max: Duration::from_secs(20),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--target" => {
                let (label, url) = value.split_once('=').context("--target label=url")?;
                args.targets.push((label.to_string(), url.to_string()));
            }
            "--tasks" => args.tasks = value.split(',').map(str::parse).collect::<Result<_, _>>()?,
            "--ops" => args.ops = value.parse()?,
            "--max-seconds" => args.max = Duration::from_secs_f64(value.parse()?),
            _ => bail!("unknown flag {flag}"),
        }
    }
    if args.targets.is_empty() {
        bail!("at least one --target label=redis://host:port/ is required");
    }
    Ok(args)
}

/// A chat message of typical size (~300 bytes encoded).
fn payload() -> Envelope {
    Envelope::new(Event::Message(Message {
        send_id: "user_000123".into(),
        recv_id: "user_000456".into(),
        client_msg_id: "4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f".into(),
        server_msg_id: "srv_8f7e6d5c4b3a".into(),
        sender_platform_id: 5,
        sender_nickname: "Ann".into(),
        session_type: 1,
        msg_from: 100,
        content_type: 101,
        content: br#"{"content":"the quick brown fox jumps over the lazy dog, twice over"}"#
            .to_vec(),
        send_time: 1_700_000_000_000,
        create_time: 1_700_000_000_000,
        options: [
            ("history".to_string(), true),
            ("persistent".to_string(), true),
        ]
        .into(),
        ..Message::default()
    }))
}

struct Cell {
    ops: u64,
    elapsed: Duration,
    hist: Histogram<u64>,
}

impl Cell {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
    fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }
}

#[derive(Clone, Copy)]
enum Mode {
    Append,
    RawXadd,
}

async fn run_cell(
    log: &Log,
    mode: Mode,
    tasks: usize,
    ops: u64,
    max: Duration,
    run: &str,
) -> anyhow::Result<Cell> {
    let next = Arc::new(AtomicU64::new(0));
    let envelope = Arc::new(payload());
    let bytes = Arc::new(envelope.encode()?);
    let deadline = Instant::now() + max;
    let started = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let (log, next, envelope, bytes, run) = (
            log.clone(),
            next.clone(),
            envelope.clone(),
            bytes.clone(),
            run.to_string(),
        );
        handles.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let mut conn = log.conn();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= ops || Instant::now() >= deadline {
                    break;
                }
                let conv = format!("si_bench_{}", i % CONVERSATIONS);
                let t = Instant::now();
                match mode {
                    Mode::Append => {
                        log.append(&conv, &format!("{run}-{i}"), &envelope).await?;
                    }
                    Mode::RawXadd => {
                        let key = format!("{}:raw:{conv}", log.keys().prefix());
                        let _: String = redis::cmd("XADD")
                            .arg(&key)
                            .arg("MAXLEN")
                            .arg("~")
                            .arg(log.topology().hot_window)
                            .arg("*")
                            .arg("e")
                            .arg(bytes.as_slice())
                            .query_async(&mut conn)
                            .await?;
                    }
                }
                hist.record(t.elapsed().as_micros().max(1) as u64)?;
            }
            anyhow::Ok(hist)
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for h in handles {
        hist.add(h.await??)?;
    }
    let elapsed = started.elapsed();
    Ok(Cell {
        ops: hist.len(),
        elapsed,
        hist,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    println!(
        "| redis | tasks | append ops/s | append p50 / p99 ms | raw XADD ops/s | XADD p50 / p99 ms | append / XADD |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (label, url) in &args.targets {
        let topology = Topology::default().with_prefix(format!("bench{}", std::process::id()));
        let log = Log::connect(rill_log::redis_client(url)?, topology).await?;
        for &tasks in &args.tasks {
            let run = format!("{label}-{tasks}");
            // Warm up connections and the function cache; not measured.
            run_cell(
                &log,
                Mode::Append,
                tasks,
                200,
                args.max,
                &format!("warm-{run}"),
            )
            .await?;
            let append = run_cell(&log, Mode::Append, tasks, args.ops, args.max, &run).await?;
            let raw = run_cell(&log, Mode::RawXadd, tasks, args.ops, args.max, &run).await?;
            println!(
                "| {label} | {tasks} | {:.0} | {:.2} / {:.2} | {:.0} | {:.2} / {:.2} | {:.2} |",
                append.rate(),
                append.ms(0.5),
                append.ms(0.99),
                raw.rate(),
                raw.ms(0.5),
                raw.ms(0.99),
                append.rate() / raw.rate()
            );
        }
    }
    Ok(())
}
