//! `rill streams status [--json]`: per partition and group, where the log and the group stand.

use clap::Subcommand;
use rill_log::Log;
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum StreamsCommand {
    /// Length, last id, lag, pending, oldest pending age and dead letters per partition and group.
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// One row of the status (the JSON shape of `--json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub partition: u32,
    pub group: String,
    pub length: u64,
    pub last_id: String,
    pub last_delivered_id: String,
    /// `null` when Redis cannot tell (e.g. right after a replay).
    pub lag: Option<u64>,
    pub pending: u64,
    pub oldest_pending_age_ms: Option<u64>,
    pub consumers: u64,
    pub dead_letters: u64,
}

/// The status rows of every partition and group.
pub async fn status(log: &Log) -> anyhow::Result<Vec<Row>> {
    Ok(rill_log::group_status(log)
        .await?
        .into_iter()
        .map(|s| Row {
            partition: s.partition,
            group: s.group,
            length: s.length,
            last_id: s.last_id,
            last_delivered_id: s.last_delivered_id,
            lag: s.lag,
            pending: s.pending,
            oldest_pending_age_ms: s
                .oldest_pending_age
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            consumers: s.consumers,
            dead_letters: s.dead_letters,
        })
        .collect())
}

pub async fn run(cmd: StreamsCommand, log: &Log) -> anyhow::Result<()> {
    match cmd {
        StreamsCommand::Status { json } => {
            let rows = status(log).await?;
            if json {
                return super::print_json(&rows);
            }
            print!("{}", table(&rows));
            Ok(())
        }
    }
}

fn age(ms: Option<u64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) => humantime::format_duration(std::time::Duration::from_millis(ms / 1000 * 1000))
            .to_string(),
    }
}

/// The human table, with a total per group at the end.
pub fn table(rows: &[Row]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>4}  {:<10} {:>9}  {:<22} {:>8} {:>8}  {:<14} {:>5}",
        "part", "group", "length", "last id", "lag", "pending", "oldest pending", "dead"
    );
    for r in rows {
        let lag = r.lag.map_or_else(|| "?".to_string(), |l| l.to_string());
        let _ = writeln!(
            out,
            "{:>4}  {:<10} {:>9}  {:<22} {:>8} {:>8}  {:<14} {:>5}",
            r.partition,
            r.group,
            r.length,
            r.last_id,
            lag,
            r.pending,
            age(r.oldest_pending_age_ms),
            r.dead_letters
        );
    }
    let mut totals: std::collections::BTreeMap<&str, (u64, u64, u64, bool)> = Default::default();
    for r in rows {
        let t = totals.entry(&r.group).or_default();
        t.0 += r.lag.unwrap_or(0);
        t.1 += r.pending;
        t.2 += r.dead_letters;
        t.3 |= r.lag.is_none();
    }
    for (group, (lag, pending, dead, unknown)) in totals {
        let lag = if unknown {
            format!("≥{lag}")
        } else {
            lag.to_string()
        };
        let _ = writeln!(
            out,
            "total {group}: lag {lag}, pending {pending}, dead letters {dead}"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testenv::TestEnv;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn status_counts_what_the_groups_have_not_read() -> anyhow::Result<()> {
        let env = TestEnv::start().await?;
        env.burst(3, 4).await?;
        let rows = status(&env.log).await?;
        assert_eq!(rows.len(), 2 * 2, "two partitions × two groups");
        let history: Vec<&Row> = rows.iter().filter(|r| r.group == "history").collect();
        assert_eq!(history.iter().map(|r| r.length).sum::<u64>(), 12);
        assert_eq!(history.iter().map(|r| r.lag.unwrap_or(0)).sum::<u64>(), 12);
        assert!(
            history
                .iter()
                .all(|r| r.pending == 0 && r.dead_letters == 0)
        );
        let text = table(&rows);
        assert!(
            text.contains("total history: lag 12, pending 0, dead letters 0"),
            "{text}"
        );
        let json = serde_json::to_value(&rows)?;
        assert_eq!(json[0]["partition"], 0);
        assert!(json[0].get("oldest_pending_age_ms").is_some());
        Ok(())
    }
}
