//! `rill trim [--retention 7d] [--exact] [--json]`: applies partition-log retention by hand
//! (the same trim the serving processes run periodically).

use rill_log::{Log, TrimOptions, TrimReport};
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct TrimArgs {
    /// Keep entries younger than this (default: streams.yaml `log_retention`).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub retention: Option<Duration>,
    /// Trim exactly at the bound instead of whole stream nodes (slower, removes a few more).
    #[arg(long)]
    pub exact: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    partition: u32,
    min_id: String,
    held_by: String,
    trimmed: u64,
}

impl From<TrimReport> for Row {
    fn from(r: TrimReport) -> Self {
        Self {
            partition: r.partition,
            min_id: r.min_id,
            held_by: r.held_by,
            trimmed: r.trimmed,
        }
    }
}

/// Trims every partition log; what `rill trim` runs.
pub async fn trim(
    log: &Log,
    retention: Option<Duration>,
    exact: bool,
) -> anyhow::Result<Vec<TrimReport>> {
    let mut options = TrimOptions::from_topology(log);
    if let Some(r) = retention {
        options.retention = r;
    }
    options.approximate = !exact;
    Ok(rill_log::trim_all(log, options).await?)
}

pub async fn run(args: TrimArgs, log: &Log) -> anyhow::Result<()> {
    let reports = trim(log, args.retention, args.exact).await?;
    let rows: Vec<Row> = reports.into_iter().map(Row::from).collect();
    if args.json {
        return super::print_json(&rows);
    }
    println!("{:>4}  {:>9}  {:<24} held by", "part", "trimmed", "min id");
    for r in &rows {
        println!(
            "{:>4}  {:>9}  {:<24} {}",
            r.partition, r.trimmed, r.min_id, r.held_by
        );
    }
    println!(
        "total trimmed: {}",
        rows.iter().map(|r| r.trimmed).sum::<u64>()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testenv::TestEnv;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn trim_never_removes_what_a_group_has_not_read() -> anyhow::Result<()> {
        let env = TestEnv::start().await?;
        env.burst(3, 5).await?;
        // Zero retention: only the groups hold the entries back, and they have read nothing.
        let reports = trim(&env.log, Some(Duration::ZERO), true).await?;
        assert_eq!(reports.iter().map(|r| r.trimmed).sum::<u64>(), 0);
        assert!(reports.iter().all(|r| r.held_by != "age"));
        // Once both groups are past everything, zero retention trims all but the slack entry.
        for g in ["history", "readmodel"] {
            rill_log::set_group_position(&env.log, g, &[], &rill_log::Position::End).await?;
        }
        // Entries of this very millisecond are never older than zero.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let reports = trim(&env.log, Some(Duration::ZERO), true).await?;
        let nonempty = reports.iter().filter(|r| r.trimmed > 0).count();
        assert!(nonempty >= 1);
        assert_eq!(
            reports.iter().map(|r| r.trimmed).sum::<u64>(),
            15 - nonempty as u64
        );
        Ok(())
    }
}
