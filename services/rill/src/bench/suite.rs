//! `suite`: every scenario against one server in one run (ceiling first, so every other result
//! prints as a ratio to it). A failing scenario becomes a FAILED row; the table always prints.

use super::ceiling::{self, CeilingArgs};
use super::connections::{self, ConnectionsArgs};
use super::fanout::{self, FanoutArgs};
use super::frame::Codec;
use super::report::Row;
use super::send::{self, SendArgs};
use super::target::Target;
use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
pub struct SuiteArgs {
    /// Messages of the max-throughput one-to-one run (gob+gzip).
    #[arg(long, default_value_t = 300_000)]
    pub send_messages: u64,
    /// Messages of the max-throughput one-to-one run with JSON frames (0 skips it).
    #[arg(long, default_value_t = 100_000)]
    pub json_messages: u64,
    #[arg(long, default_value_t = 200)]
    pub send_users: usize,
    #[arg(long, default_value_t = 100)]
    pub send_senders: usize,
    /// Open-loop rate of the latency run (msg/s).
    #[arg(long, default_value_t = 2000)]
    pub latency_rate: u64,
    /// Length of the latency run.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub latency_duration: Duration,
    /// Group size of the fan-out run (0 skips it).
    #[arg(long, default_value_t = 5000)]
    pub fanout_members: usize,
    #[arg(long, default_value_t = 40)]
    pub fanout_messages: u64,
    #[arg(long, default_value_t = 4.0)]
    pub fanout_rate: f64,
    /// Idle connections of the connections run (0 skips it).
    #[arg(long, default_value_t = 20_000)]
    pub connections: usize,
    #[arg(long, default_value = "35s", value_parser = humantime::parse_duration)]
    pub hold: Duration,
    /// Ceiling measurement length.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub ceiling_duration: Duration,
}

pub async fn run(target: &Target, a: &SuiteArgs) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    let ceiling_args = CeilingArgs {
        duration: a.ceiling_duration,
        ..CeilingArgs::default()
    };
    let ceiling = match ceiling::run(target, &ceiling_args).await {
        Ok(r) => {
            println!("{r}");
            rows.extend(r.rows());
            Some(r.append_rate())
        }
        Err(e) => {
            rows.push(failed("ceiling", &e));
            None
        }
    };

    // Order: what needs an idle server first. The max-throughput runs come last because their
    // projection backlog (Mongo) keeps the machine busy long after they stop.
    let base = SendArgs {
        users: a.send_users,
        senders: a.send_senders,
        ..SendArgs::default()
    };
    let mut latency = Vec::new();
    if a.latency_rate > 0 {
        let messages = (a.latency_rate as f64 * a.latency_duration.as_secs_f64()) as u64;
        latency.push(SendArgs {
            messages,
            rate: a.latency_rate,
            duration: a.latency_duration + Duration::from_secs(5),
            ..base.clone()
        });
    }
    run_sends(target, &latency, ceiling, &mut rows).await;

    if a.fanout_members > 0 {
        let f = FanoutArgs {
            members: a.fanout_members,
            messages: a.fanout_messages,
            rate: a.fanout_rate,
            ..FanoutArgs::default()
        };
        match fanout::run(target, &f).await {
            Ok(r) => {
                println!("{r}");
                rows.extend(r.rows(ceiling));
            }
            Err(e) => rows.push(failed(
                &format!("fanout ({} members)", a.fanout_members),
                &e,
            )),
        }
    }

    if a.connections > 0 {
        let c = ConnectionsArgs {
            connections: a.connections,
            hold: a.hold,
            ..ConnectionsArgs::default()
        };
        match connections::run(target, &c).await {
            Ok(r) => {
                println!("{r}");
                rows.extend(r.rows());
            }
            Err(e) => rows.push(failed(&format!("connections ({})", a.connections), &e)),
        }
    }

    let mut max = vec![SendArgs {
        messages: a.send_messages,
        ..base.clone()
    }];
    if a.json_messages > 0 {
        max.push(SendArgs {
            messages: a.json_messages,
            codec: Codec::Json,
            ..base.clone()
        });
    }
    run_sends(target, &max, ceiling, &mut rows).await;
    Ok(rows)
}

async fn run_sends(target: &Target, sends: &[SendArgs], ceiling: Option<f64>, rows: &mut Vec<Row>) {
    for s in sends {
        match send::run(target, s).await {
            Ok(r) => {
                println!("{r}");
                rows.extend(r.rows(ceiling));
            }
            Err(e) => rows.push(failed(&format!("send {}", s.codec.name()), &e)),
        }
    }
}

fn failed(scenario: &str, e: &anyhow::Error) -> Row {
    eprintln!("{scenario} failed: {e:#}");
    let mut why = format!("{e:#}");
    if why.chars().count() > 160 {
        why = why.chars().take(157).collect::<String>() + "...";
    }
    Row::new(scenario, format!("FAILED: {why}")).target("-", Some(false))
}

/// Machine facts and what was measured, printed above the table.
pub fn header(target: &Target) -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|k| k.parse::<f64>().ok())
                })
        })
        .map(|kib| kib / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let open_files = super::target::open_files_limit()
        .map(|n| n.to_string())
        .unwrap_or_else(|| "?".into());
    format!(
        "rill bench — {cpus} CPUs, {mem_gib:.1} GiB RAM, open-files limit {open_files}; {}",
        target.description
    )
}
