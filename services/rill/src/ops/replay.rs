//! `rill replay --group G --from <entry id | RFC 3339 time | ms | 0 | end>`: moves the group
//! (XGROUP SETID on the partition logs) and lets the normal workers re-project from there.
//!
//! A start whose entries were already trimmed away is refused (the replay would silently skip
//! them) unless `--force`; `0`/`start` means "the oldest entry still kept" and is always
//! allowed.

use indicatif::{ProgressBar, ProgressStyle};
use redis::Value;
use rill_log::{Log, Position};
use std::collections::HashMap;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The consumer group to move (history, readmodel, push, ...).
    #[arg(long)]
    pub group: String,
    /// Where to resume: `0`/`start` (oldest entry kept), `end`, an entry id `<ms>-<n>`, an
    /// RFC 3339 time (`2026-11-22T10:00:00Z`) or milliseconds since the epoch. Inclusive.
    #[arg(long)]
    pub from: String,
    /// Only these partitions (comma-separated); all by default.
    #[arg(long, value_delimiter = ',')]
    pub partitions: Vec<u32>,
    /// Replay even if entries after the start were already trimmed away.
    #[arg(long)]
    pub force: bool,
    /// Wait until the group has caught up again, showing progress.
    #[arg(long)]
    pub wait: bool,
}

/// `--from`: an RFC 3339 time, else what [`Position::parse`] accepts.
pub fn parse_from(s: &str) -> anyhow::Result<Position> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        let ms = u64::try_from(t.timestamp_millis())
            .map_err(|_| anyhow::anyhow!("--from {s}: before 1970"))?;
        return Ok(Position::FromTime(ms));
    }
    Ok(Position::parse(s)?)
}

/// `<ms>-<n>` as a comparable pair.
fn stream_id(id: &str) -> Option<(u64, u64)> {
    let (ms, n) = id.split_once('-').unwrap_or((id, "0"));
    Some((ms.parse().ok()?, n.parse().ok()?))
}

/// The first entry id a position delivers, for the retention check (`None`: no check).
fn first_delivered(position: &Position) -> Option<(u64, u64)> {
    match position {
        Position::From(id) => stream_id(id),
        Position::FromTime(ms) => Some((*ms, 0)),
        Position::Start | Position::End => None,
    }
}

/// A replay that would skip trimmed entries.
#[derive(Debug, thiserror::Error)]
#[error(
    "entries after the start were already trimmed from partition(s) {partitions:?} (the oldest kept \
     is {first_kept}); the replay would skip them. Start later, or pass --force to replay what is left"
)]
pub struct Refused {
    pub partitions: Vec<u32>,
    pub first_kept: String,
}

/// What a replay did.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    pub partitions: Vec<u32>,
    /// Partitions whose trimmed entries are skipped (only with `force`, or `0`/`start`).
    pub skipped_trimmed: Vec<u32>,
}

/// Moves `group` on `partitions` (empty = all) to `position`, after the retention check.
/// This is what `rill replay` runs.
pub async fn replay(
    log: &Log,
    group: &str,
    position: &Position,
    partitions: &[u32],
    force: bool,
) -> anyhow::Result<Replayed> {
    let all: Vec<u32> = (0..log.topology().partitions).collect();
    let partitions = if partitions.is_empty() {
        all
    } else {
        partitions.to_vec()
    };
    let mut conn = log.conn();
    let mut trimmed = Vec::new();
    let mut first_kept_seen = String::new();
    for &p in &partitions {
        anyhow::ensure!(
            p < log.topology().partitions,
            "partition {p} does not exist"
        );
        let key = log.partition_log(p);
        let groups: redis::streams::StreamInfoGroupsReply = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(key)
            .query_async(&mut conn)
            .await?;
        anyhow::ensure!(
            groups.groups.iter().any(|g| g.name == group),
            "no consumer group {group:?} on partition {p}"
        );
        let info: HashMap<String, Value> = redis::cmd("XINFO")
            .arg("STREAM")
            .arg(key)
            .query_async(&mut conn)
            .await?;
        let num = |k: &str| {
            info.get(k)
                .and_then(|v| redis::from_redis_value_ref::<u64>(v).ok())
                .unwrap_or(0)
        };
        let id = |k: &str| {
            info.get(k)
                .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
                .and_then(|s| stream_id(&s))
        };
        // Trimming (unlike XDEL) leaves no "max deleted id": entries are gone when fewer are
        // kept than were ever added, and they were all older than the first one kept.
        if num("entries-added") <= num("length") {
            continue;
        }
        let last = id("last-generated-id").unwrap_or((0, 0));
        let lost = match (first_delivered(position), num("length")) {
            (Some(start), 0) => start <= last,
            (Some(start), _) => id("recorded-first-entry-id").is_some_and(|first| start < first),
            (None, _) => matches!(position, Position::Start),
        };
        if lost {
            trimmed.push(p);
            let gone = id("recorded-first-entry-id")
                .filter(|f| *f != (0, 0))
                .unwrap_or(last);
            if stream_id(&first_kept_seen).is_none_or(|f| f < gone) {
                first_kept_seen = format!("{}-{}", gone.0, gone.1);
            }
        }
    }
    let refusable = first_delivered(position).is_some();
    if refusable && !trimmed.is_empty() && !force {
        return Err(Refused {
            partitions: trimmed,
            first_kept: first_kept_seen,
        }
        .into());
    }
    let moved = rill_log::set_group_position(log, group, &partitions, position).await?;
    Ok(Replayed {
        partitions: moved,
        skipped_trimmed: trimmed,
    })
}

/// Waits until `group` has read and acknowledged everything on `partitions`, with a progress
/// bar over the entry-id time range still to go.
pub async fn wait_caught_up(
    log: &Log,
    group: &str,
    partitions: &[u32],
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    let mut start: Option<u64> = None;
    loop {
        let rows = rill_log::status::group_status_of(log, partitions).await?;
        let rows: Vec<_> = rows.into_iter().filter(|r| r.group == group).collect();
        let behind = |r: &rill_log::GroupStatus| {
            stream_id(&r.last_delivered_id) < stream_id(&r.last_id) || r.pending > 0
        };
        // Progress in milliseconds of entry ids: from where the slowest partition started to
        // the newest entry.
        let done_ms = rows
            .iter()
            .filter(|r| behind(r))
            .filter_map(|r| stream_id(&r.last_delivered_id))
            .map(|i| i.0)
            .min();
        let end_ms = rows
            .iter()
            .filter_map(|r| stream_id(&r.last_id))
            .map(|i| i.0)
            .max()
            .unwrap_or(0);
        match done_ms {
            None => {
                bar.finish_with_message("caught up");
                return Ok(());
            }
            Some(done) => {
                let s = *start.get_or_insert(done);
                bar.set_length(end_ms.saturating_sub(s).max(1));
                bar.set_position(done.saturating_sub(s));
                let pending: u64 = rows.iter().map(|r| r.pending).sum();
                bar.set_message(format!("pending {pending}"));
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A position as an operator wrote it.
fn describe(position: &Position) -> String {
    match position {
        Position::Start => "the oldest entry kept".into(),
        Position::End => "the end (skipping everything so far)".into(),
        Position::From(id) => format!("entry {id}"),
        Position::FromTime(ms) => i64::try_from(*ms)
            .ok()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map_or_else(|| format!("{ms} ms"), |t| t.to_rfc3339()),
    }
}

pub async fn run(args: ReplayArgs, log: &Log) -> anyhow::Result<()> {
    let position = parse_from(&args.from)?;
    let done = replay(log, &args.group, &position, &args.partitions, args.force).await?;
    println!(
        "{}: {} partition(s) moved to {}; its workers re-project from there",
        args.group,
        done.partitions.len(),
        describe(&position)
    );
    if !done.skipped_trimmed.is_empty() {
        println!(
            "note: partitions {:?} were trimmed before; entries older than what they keep are not replayed",
            done.skipped_trimmed
        );
    }
    if args.wait {
        let bar = ProgressBar::new(1);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {percent}% {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        wait_caught_up(log, &args.group, &done.partitions, &bar).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testenv::TestEnv;

    #[test]
    fn from_accepts_ids_times_and_keywords() -> anyhow::Result<()> {
        assert_eq!(parse_from("0")?, Position::Start);
        assert_eq!(parse_from("end")?, Position::End);
        assert_eq!(
            parse_from("1700000000000-3")?,
            Position::From("1700000000000-3".into())
        );
        assert_eq!(
            parse_from("2023-11-14T22:13:20Z")?,
            Position::FromTime(1_700_000_000_000)
        );
        assert_eq!(
            parse_from("2023-11-14T23:13:20+01:00")?,
            Position::FromTime(1_700_000_000_000)
        );
        assert!(parse_from("yesterday").is_err());
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_start_inside_trimmed_history_is_refused_unless_forced() -> anyhow::Result<()> {
        let env = TestEnv::start().await?;
        env.burst(4, 5).await?;
        let mut conn = env.log.conn();
        // Remember the first entry of every partition, then trim everything before its last.
        let mut first = Vec::new();
        let mut used = Vec::new();
        for p in 0..2 {
            let key = env.log.partition_log(p).to_string();
            let all: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
                .arg(&key)
                .arg("-")
                .arg("+")
                .query_async(&mut conn)
                .await?;
            let (Some(head), Some(last)) = (all.ids.first(), all.ids.last()) else {
                continue;
            };
            first.push(head.id.clone());
            used.push(p);
            let _: u64 = redis::cmd("XTRIM")
                .arg(&key)
                .arg("MINID")
                .arg(&last.id)
                .query_async(&mut conn)
                .await?;
        }
        first.sort();
        let from = Position::From(first[0].clone());
        let refused = replay(&env.log, "history", &from, &[], false).await;
        let err = refused.expect_err("trimmed entries must refuse the replay");
        assert!(err.downcast_ref::<Refused>().is_some(), "{err}");
        // The group did not move.
        let rows = rill_log::group_status(&env.log).await?;
        assert!(
            rows.iter()
                .filter(|r| r.group == "history")
                .all(|r| r.last_delivered_id == "0-0")
        );

        let forced = replay(&env.log, "history", &from, &[], true).await?;
        assert_eq!(forced.partitions, vec![0, 1]);
        assert_eq!(forced.skipped_trimmed, used);
        // `0` replays what is kept without asking.
        let start = replay(&env.log, "readmodel", &Position::Start, &[1], false).await?;
        assert_eq!(start.partitions, vec![1]);
        assert!(
            replay(&env.log, "nope", &Position::Start, &[], false)
                .await
                .is_err()
        );
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replay_from_zero_reprojects_history_through_the_workers() -> anyhow::Result<()> {
        let env = TestEnv::start().await?;
        env.burst(5, 20).await?;
        let app = rill_app::App::new(
            rill_app::AppConfig::default(),
            env.log.clone(),
            rill_store::Store::from_database(env.db.clone()),
        );
        let shutdown = tokio_util::sync::CancellationToken::new();
        let worker = tokio::spawn(rill_history::run(app, "w".into(), shutdown.clone()));
        let bar = ProgressBar::hidden();
        wait_caught_up(&env.log, "history", &[0, 1], &bar).await?;
        assert_eq!(env.stored().await?, 100);
        rill_store::messages::collection(&env.db).drop().await?;
        rill_store::messages::ensure_indexes(&env.db).await?;
        let done = replay(&env.log, "history", &parse_from("0")?, &[], false).await?;
        assert_eq!(done.partitions.len(), 2);
        wait_caught_up(&env.log, "history", &done.partitions, &bar).await?;
        assert_eq!(env.stored().await?, 100);
        shutdown.cancel();
        worker.await??;
        Ok(())
    }
}
