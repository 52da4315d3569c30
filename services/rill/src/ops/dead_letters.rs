//! `rill dead-letters list|retry`: entries a consumer group gave up on (one dead-letter stream
//! per partition and group, written by the consumer runtime with the original fields `c`, `s`,
//! `e` plus `id`, `group`, `reason`, `deliveries`).
//!
//! Retry runs the group's own projection on the entries for `history` and `readmodel`
//! (`rill_history::project`, `rill_readmodel::project`); entries of other groups (push) are
//! appended to their partition log again, which every group then sees once more — harmless,
//! since projections are idempotent and clients de-duplicate pushes by seq. A retried entry
//! leaves the dead-letter stream only when it succeeded.

use clap::Subcommand;
use redis::Value;
use redis::streams::{StreamId, StreamRangeReply};
use rill_log::{Envelope, Log, LogEntry};
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum DeadLettersCommand {
    /// Lists dead letters, oldest first.
    List {
        /// Only this group (default: every group of streams.yaml).
        #[arg(long)]
        group: Option<String>,
        /// Only this partition.
        #[arg(long)]
        partition: Option<u32>,
        /// At most this many per partition and group.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Retries a group's dead letters and removes the ones that now succeed.
    Retry {
        #[arg(long)]
        group: String,
        /// Only this partition.
        #[arg(long)]
        partition: Option<u32>,
        /// Only these dead-letter entry ids (as listed); all by default.
        #[arg(long = "id")]
        ids: Vec<String>,
    },
}

/// One dead letter.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub partition: u32,
    pub group: String,
    /// Id in the dead-letter stream.
    pub dead_id: String,
    /// Id the entry had in the partition log.
    pub original_id: String,
    pub conversation_id: String,
    pub seq: i64,
    pub reason: String,
    pub deliveries: u64,
    /// The original partition-log fields (`c`, `s`, `e`).
    #[serde(skip)]
    pub fields: Vec<(String, Vec<u8>)>,
}

fn text(map: &std::collections::HashMap<String, Value>, k: &str) -> String {
    match map.get(k) {
        Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(Value::SimpleString(s)) => s.clone(),
        Some(Value::Int(n)) => n.to_string(),
        _ => String::new(),
    }
}

const META: [&str; 4] = ["id", "group", "reason", "deliveries"];

fn to_dead_letter(partition: u32, group: &str, e: StreamId) -> DeadLetter {
    let fields = e
        .map
        .iter()
        .filter(|(k, _)| !META.contains(&k.as_str()))
        .filter_map(|(k, v)| match v {
            Value::BulkString(b) => Some((k.clone(), b.clone())),
            _ => None,
        })
        .collect();
    DeadLetter {
        partition,
        group: group.to_string(),
        original_id: text(&e.map, "id"),
        conversation_id: text(&e.map, "c"),
        seq: text(&e.map, "s").parse().unwrap_or(0),
        reason: text(&e.map, "reason"),
        deliveries: text(&e.map, "deliveries").parse().unwrap_or(0),
        dead_id: e.id,
        fields,
    }
}

fn groups_of(log: &Log, group: Option<&str>) -> Vec<String> {
    match group {
        Some(g) => vec![g.to_string()],
        None => log.topology().groups.keys().cloned().collect(),
    }
}

fn partitions_of(log: &Log, partition: Option<u32>) -> anyhow::Result<Vec<u32>> {
    match partition {
        Some(p) if p >= log.topology().partitions => anyhow::bail!("partition {p} does not exist"),
        Some(p) => Ok(vec![p]),
        None => Ok((0..log.topology().partitions).collect()),
    }
}

/// Dead letters of `group` (all when `None`) on `partition` (all when `None`), at most `limit`
/// per partition and group, oldest first.
pub async fn list(
    log: &Log,
    group: Option<&str>,
    partition: Option<u32>,
    limit: usize,
) -> anyhow::Result<Vec<DeadLetter>> {
    let mut conn = log.conn();
    let mut out = Vec::new();
    for g in groups_of(log, group) {
        for p in partitions_of(log, partition)? {
            let reply: StreamRangeReply = redis::cmd("XRANGE")
                .arg(log.keys().dead_letters(p, &g))
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(limit.max(1))
                .query_async(&mut conn)
                .await?;
            out.extend(reply.ids.into_iter().map(|e| to_dead_letter(p, &g, e)));
        }
    }
    Ok(out)
}

/// What a retry did.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Retried {
    /// Handled (projected, or appended again) and removed from the dead letters.
    pub retried: usize,
    /// Still failing: (dead-letter id, reason); they stay.
    pub failed: Vec<(String, String)>,
}

fn log_entry(d: &DeadLetter) -> Result<LogEntry, String> {
    let e = d
        .fields
        .iter()
        .find(|(k, _)| k == "e")
        .ok_or_else(|| "field e missing".to_string())?;
    let mut envelope = Envelope::decode(&e.1).map_err(|e| e.to_string())?;
    envelope.set_seq(d.seq);
    Ok(LogEntry {
        partition: d.partition,
        id: d.original_id.clone(),
        conversation_id: d.conversation_id.clone(),
        seq: d.seq,
        envelope,
        deliveries: d.deliveries,
    })
}

/// Retries `group`'s dead letters (only `ids` when not empty); what `rill dead-letters retry`
/// runs.
pub async fn retry(
    log: &Log,
    db: &mongodb::Database,
    group: &str,
    partition: Option<u32>,
    ids: &[String],
) -> anyhow::Result<Retried> {
    let mut letters = list(log, Some(group), partition, usize::MAX / 2).await?;
    if !ids.is_empty() {
        letters.retain(|d| ids.contains(&d.dead_id));
    }
    let mut out = Retried::default();
    let mut done: Vec<&DeadLetter> = Vec::new();
    match group {
        rill_history::GROUP | rill_readmodel::GROUP => {
            let mut entries = Vec::new();
            let mut origin = Vec::new();
            for d in &letters {
                match log_entry(d) {
                    Ok(e) => {
                        entries.push(e);
                        origin.push(d);
                    }
                    Err(why) => out.failed.push((d.dead_id.clone(), why)),
                }
            }
            for (chunk, from) in entries.chunks(256).zip(origin.chunks(256)) {
                let failed: Vec<(usize, String)> = if group == rill_history::GROUP {
                    rill_history::project(db, chunk).await?.failed
                } else {
                    rill_readmodel::project(db, chunk).await?;
                    Vec::new()
                };
                for (i, d) in from.iter().enumerate() {
                    match failed.iter().find(|(f, _)| *f == i) {
                        Some((_, why)) => out.failed.push((d.dead_id.clone(), why.clone())),
                        None => done.push(d),
                    }
                }
            }
        }
        _ => {
            let mut pipe = redis::pipe();
            for d in &letters {
                let cmd = pipe
                    .cmd("XADD")
                    .arg(log.partition_log(d.partition))
                    .arg("*");
                for (k, v) in &d.fields {
                    cmd.arg(k).arg(v.as_slice());
                }
                cmd.ignore();
                done.push(d);
            }
            if !done.is_empty() {
                let () = pipe.query_async(&mut log.conn()).await?;
            }
        }
    }
    let mut pipe = redis::pipe();
    for d in &done {
        pipe.cmd("XDEL")
            .arg(log.keys().dead_letters(d.partition, group))
            .arg(&d.dead_id)
            .ignore();
    }
    if !done.is_empty() {
        let () = pipe.query_async(&mut log.conn()).await?;
    }
    out.retried = done.len();
    Ok(out)
}

pub async fn run(cmd: DeadLettersCommand, log: &Log, db: &mongodb::Database) -> anyhow::Result<()> {
    match cmd {
        DeadLettersCommand::List {
            group,
            partition,
            limit,
            json,
        } => {
            let letters = list(log, group.as_deref(), partition, limit).await?;
            if json {
                return super::print_json(&letters);
            }
            println!(
                "{:>4}  {:<10} {:<22} {:<22} {:<24} {:>6} {:>4}  reason",
                "part", "group", "dead id", "original id", "conversation", "seq", "dlv"
            );
            for d in &letters {
                println!(
                    "{:>4}  {:<10} {:<22} {:<22} {:<24} {:>6} {:>4}  {}",
                    d.partition,
                    d.group,
                    d.dead_id,
                    d.original_id,
                    d.conversation_id,
                    d.seq,
                    d.deliveries,
                    d.reason
                );
            }
            println!("{} dead letter(s)", letters.len());
            Ok(())
        }
        DeadLettersCommand::Retry {
            group,
            partition,
            ids,
        } => {
            let r = retry(log, db, &group, partition, &ids).await?;
            println!(
                "{group}: {} retried and removed, {} still failing",
                r.retried,
                r.failed.len()
            );
            for (id, why) in &r.failed {
                println!("  {id}: {why}");
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testenv::TestEnv;

    /// Moves the first `n` entries of every partition to the group's dead letters, as the
    /// consumer runtime does.
    async fn kill_entries(env: &TestEnv, group: &str) -> anyhow::Result<usize> {
        let mut conn = env.log.conn();
        let mut moved = 0;
        for p in 0..2 {
            let all: StreamRangeReply = redis::cmd("XRANGE")
                .arg(env.log.partition_log(p))
                .arg("-")
                .arg("+")
                .query_async(&mut conn)
                .await?;
            for e in all.ids.iter().take(2) {
                let mut cmd = redis::cmd("XADD");
                cmd.arg(env.log.keys().dead_letters(p, group)).arg("*");
                for (k, v) in &e.map {
                    if let Value::BulkString(b) = v {
                        cmd.arg(k).arg(b.as_slice());
                    }
                }
                cmd.arg("id")
                    .arg(&e.id)
                    .arg("group")
                    .arg(group)
                    .arg("reason")
                    .arg("mongo said no")
                    .arg("deliveries")
                    .arg(3);
                let _: String = cmd.query_async(&mut conn).await?;
                moved += 1;
            }
        }
        Ok(moved)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dead_history_entries_are_listed_and_retried_into_mongo() -> anyhow::Result<()> {
        let env = TestEnv::start().await?;
        env.burst(4, 3).await?;
        let moved = kill_entries(&env, "history").await?;
        let letters = list(&env.log, Some("history"), None, 100).await?;
        assert_eq!(letters.len(), moved);
        assert!(
            letters
                .iter()
                .all(|d| d.reason == "mongo said no" && d.deliveries == 3 && d.seq >= 1)
        );
        assert!(
            list(&env.log, Some("readmodel"), None, 100)
                .await?
                .is_empty()
        );
        assert_eq!(list(&env.log, None, None, 100).await?.len(), moved);

        let first = letters[0].dead_id.clone();
        let one = retry(
            &env.log,
            &env.db,
            "history",
            Some(letters[0].partition),
            std::slice::from_ref(&first),
        )
        .await?;
        assert_eq!((one.retried, one.failed.len()), (1, 0));
        assert_eq!(env.stored().await?, 1);
        let rest = retry(&env.log, &env.db, "history", None, &[]).await?;
        assert_eq!(rest.retried, moved - 1);
        assert_eq!(env.stored().await?, moved as u64);
        assert!(list(&env.log, Some("history"), None, 100).await?.is_empty());
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn other_groups_get_their_entries_appended_again() -> anyhow::Result<()> {
        let env = TestEnv::start().await?;
        env.burst(2, 2).await?;
        let moved = kill_entries(&env, "push").await?;
        let before: u64 = crate::ops::streams::status(&env.log)
            .await?
            .iter()
            .filter(|r| r.group == "history")
            .map(|r| r.length)
            .sum();
        let r = retry(&env.log, &env.db, "push", None, &[]).await?;
        assert_eq!(r.retried, moved);
        let after: u64 = crate::ops::streams::status(&env.log)
            .await?
            .iter()
            .filter(|r| r.group == "history")
            .map(|r| r.length)
            .sum();
        assert_eq!(after, before + moved as u64);
        Ok(())
    }
}
