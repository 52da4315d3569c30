//! `rill rebuild history|readmodel [--conversation C]...`: rebuilds a projection from the
//! conversation streams and MongoDB with the workers' own projection code
//! (`rill_history::project`, `rill_readmodel::project`), showing progress, resumable.
//!
//! - history: every entry still in the conversation streams (the hot window) is stored again;
//!   what is already there is an ignored duplicate, so this fills holes. Older history exists
//!   only in Mongo.
//! - readmodel: every stored message (Mongo below the hot window, the stream above it) is
//!   applied again: rows and their seqs, latest messages and version-log inserts are repaired.
//!   Settings and read marks are kept (they are not derivable from messages).
//!
//! Progress is checkpointed per conversation in a Redis hash (`<prefix>:rebuild:<target>`,
//! conversation → last seq done); a rebuild that stops resumes there, and a finished one
//! removes the checkpoint.

use indicatif::{ProgressBar, ProgressStyle};
use redis::AsyncCommands;
use rill_log::{Envelope, Event, Log, LogEntry};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    History,
    Readmodel,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::History => "history",
            Target::Readmodel => "readmodel",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct RebuildArgs {
    /// What to rebuild.
    #[arg(value_enum)]
    pub target: Target,
    /// Only these conversations (repeatable); every conversation by default.
    #[arg(long = "conversation")]
    pub conversations: Vec<String>,
    /// Ignore (and drop) the checkpoint of an earlier, unfinished rebuild.
    #[arg(long)]
    pub restart: bool,
    /// Entries per projection call.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
}

/// What a rebuild did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    pub conversations: usize,
    /// Entries handed to the projection.
    pub entries: u64,
    /// Conversations that continued from a checkpoint.
    pub resumed: usize,
}

/// The checkpoint hash of a target.
pub fn checkpoint_key(log: &Log, target: Target) -> String {
    log.keys().global(&format!("rebuild:{}", target.name()))
}

/// Every conversation with a stream (SCAN over `<prefix>:{p}:c:*`).
pub async fn stream_conversations(log: &Log) -> anyhow::Result<Vec<String>> {
    let pattern = format!("{}:{{*}}:c:*", log.keys().prefix());
    let mut conn = log.conn();
    let mut cursor: u64 = 0;
    let mut out = BTreeSet::new();
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        for k in keys {
            if let Some(i) = k.find("}:c:") {
                out.insert(k[i + 4..].to_string());
            }
        }
        if next == 0 {
            return Ok(out.into_iter().collect());
        }
        cursor = next;
    }
}

fn entry(log: &Log, conversation_id: &str, seq: i64, envelope: Envelope) -> LogEntry {
    LogEntry {
        partition: log.keys().partition_of(conversation_id),
        id: format!("0-{seq}"),
        conversation_id: conversation_id.to_string(),
        seq,
        envelope,
        deliveries: 1,
    }
}

/// The messages of `conversation_id` with `from <= seq <= to`: the stream's entries, and
/// Mongo's for seqs the stream no longer has.
async fn load(
    log: &Log,
    db: &mongodb::Database,
    conversation_id: &str,
    from: i64,
    to: i64,
    with_mongo: bool,
) -> anyhow::Result<Vec<LogEntry>> {
    let mut by_seq: BTreeMap<i64, LogEntry> = BTreeMap::new();
    for e in log.range(conversation_id, from, to).await? {
        by_seq.insert(e.seq, entry(log, conversation_id, e.seq, e.envelope));
    }
    if with_mongo {
        let first_hot = by_seq.keys().next().copied().unwrap_or(to + 1);
        if first_hot > from {
            for m in rill_store::messages::range(db, conversation_id, from, first_hot - 1).await? {
                let seq = m.seq;
                by_seq.insert(
                    seq,
                    entry(log, conversation_id, seq, Envelope::new(Event::Message(m))),
                );
            }
        }
    }
    Ok(by_seq.into_values().collect())
}

/// Rebuilds `target` for `conversations` (every one when empty); what `rill rebuild` runs.
pub async fn rebuild(
    log: &Log,
    db: &mongodb::Database,
    target: Target,
    conversations: &[String],
    restart: bool,
    batch: usize,
    bar: &ProgressBar,
) -> anyhow::Result<Rebuilt> {
    let batch = batch.max(1) as i64;
    let key = checkpoint_key(log, target);
    let mut conn = log.conn();
    if restart {
        let _: i64 = conn.del(&key).await?;
    }
    let checkpoint: HashMap<String, i64> = conn.hgetall(&key).await?;

    let mut convs: Vec<String> = if conversations.is_empty() {
        let mut all: BTreeSet<String> = stream_conversations(log).await?.into_iter().collect();
        if target == Target::Readmodel {
            all.extend(rill_store::messages::conversation_ids(db).await?);
        }
        all.into_iter().collect()
    } else {
        conversations.to_vec()
    };
    convs.dedup();

    // The plan: per conversation, the seqs still to do.
    let mut plan = Vec::with_capacity(convs.len());
    let mut total: u64 = 0;
    let mut out = Rebuilt::default();
    for conv in &convs {
        let done = checkpoint.get(conv).copied().unwrap_or(0);
        if done > 0 {
            out.resumed += 1;
        }
        let stream_max = log.max_seq(conv).await?;
        let (from, to) = match target {
            Target::History => match log.hot_min_seq(conv).await? {
                Some(hot_min) => (hot_min.max(done + 1), stream_max),
                None => (1, 0),
            },
            Target::Readmodel => {
                let stored_max = rill_store::messages::max_seq(db, conv).await?;
                (done + 1, stream_max.max(stored_max))
            }
        };
        if to >= from {
            total += (to - from + 1) as u64;
        }
        plan.push((conv.clone(), from, to));
    }
    bar.set_length(total);
    bar.set_message(format!("rebuilding {}", target.name()));

    for (conv, from, to) in plan {
        let mut lo = from;
        while lo <= to {
            let hi = (lo + batch - 1).min(to);
            let entries = load(log, db, &conv, lo, hi, target == Target::Readmodel).await?;
            match target {
                Target::History => {
                    let r = rill_history::project(db, &entries).await?;
                    for (i, why) in &r.failed {
                        tracing::error!(conversation = %conv, seq = entries[*i].seq, why, "not storable");
                    }
                }
                Target::Readmodel => {
                    rill_readmodel::project(db, &entries).await?;
                }
            }
            out.entries += entries.len() as u64;
            let _: i64 = conn.hset(&key, &conv, hi).await?;
            bar.inc((hi - lo + 1) as u64);
            lo = hi + 1;
        }
        out.conversations += 1;
    }
    // Finished: the next rebuild starts from scratch.
    let _: i64 = conn.del(&key).await?;
    bar.finish_with_message(format!("{} rebuilt", target.name()));
    Ok(out)
}

pub async fn run(args: RebuildArgs, log: &Log, db: &mongodb::Database) -> anyhow::Result<()> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} seqs ({per_sec}, eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let r = rebuild(
        log,
        db,
        args.target,
        &args.conversations,
        args.restart,
        args.batch,
        &bar,
    )
    .await?;
    println!(
        "{}: {} conversation(s), {} entries projected{}",
        args.target.name(),
        r.conversations,
        r.entries,
        if r.resumed > 0 {
            format!(", {} resumed from the checkpoint", r.resumed)
        } else {
            String::new()
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testenv::TestEnv;
    use rill_store::conversations;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn history_rebuild_fills_holes_and_resumes_from_its_checkpoint() -> anyhow::Result<()> {
        let env = TestEnv::start().await?;
        let convs = env.burst(4, 30).await?;
        assert_eq!(stream_conversations(&env.log).await?, {
            let mut c = convs.clone();
            c.sort();
            c
        });
        let bar = ProgressBar::hidden();
        let r = rebuild(&env.log, &env.db, Target::History, &[], false, 7, &bar).await?;
        assert_eq!((r.conversations, r.entries, r.resumed), (4, 120, 0));
        assert_eq!(env.stored().await?, 120);
        assert_eq!(bar.position(), 120);
        // Idempotent.
        rebuild(&env.log, &env.db, Target::History, &[], false, 50, &bar).await?;
        assert_eq!(env.stored().await?, 120);

        // An interrupted rebuild: the checkpoint says seqs 1..=20 of the first conversation
        // are done, so only 21..=30 are redone (the holes below stay until --restart).
        let coll = rill_store::messages::collection(&env.db);
        coll.delete_many(mongodb::bson::doc! { "conversation_id": &convs[0] })
            .await?;
        let mut conn = env.log.conn();
        let _: i64 = conn
            .hset(checkpoint_key(&env.log, Target::History), &convs[0], 20)
            .await?;
        let r = rebuild(
            &env.log,
            &env.db,
            Target::History,
            std::slice::from_ref(&convs[0]),
            false,
            100,
            &bar,
        )
        .await?;
        assert_eq!((r.entries, r.resumed), (10, 1));
        assert_eq!(rill_store::messages::count(&env.db, &convs[0]).await?, 10);
        let r = rebuild(
            &env.log,
            &env.db,
            Target::History,
            std::slice::from_ref(&convs[0]),
            true,
            100,
            &bar,
        )
        .await?;
        assert_eq!((r.entries, r.resumed), (30, 0));
        assert_eq!(rill_store::messages::count(&env.db, &convs[0]).await?, 30);
        let left: HashMap<String, i64> = conn
            .hgetall(checkpoint_key(&env.log, Target::History))
            .await?;
        assert!(left.is_empty(), "a finished rebuild leaves no checkpoint");
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readmodel_rebuild_restores_rows_from_mongo_and_the_streams() -> anyhow::Result<()> {
        // A small hot window: the oldest seqs are only in Mongo.
        let env = TestEnv::with_hot_window(10).await?;
        let app = rill_app::App::new(
            rill_app::AppConfig::default(),
            env.log.clone(),
            rill_store::Store::from_database(env.db.clone()),
        );
        let shutdown = tokio_util::sync::CancellationToken::new();
        let history = tokio::spawn(rill_history::run(app, "h".into(), shutdown.clone()));
        // In each conversation x sends seq 1 and y everything after: x's has-read seq can
        // only come from Mongo once the stream is trimmed.
        let mut convs = Vec::new();
        for i in 0..3 {
            let (conv, x, y) = TestEnv::pair(i);
            for n in 0..250 {
                let (send, recv) = if n == 0 { (&x, &y) } else { (&y, &x) };
                let msg = rill_core::Message {
                    send_id: send.clone(),
                    recv_id: recv.clone(),
                    session_type: 1,
                    content_type: 101,
                    content: format!("{{\"content\":\"m{n}\"}}").into_bytes(),
                    send_time: 1_700_000_000_000 + n,
                    status: 2,
                    ..Default::default()
                };
                env.log
                    .append(&conv, "", &Envelope::new(Event::Message(msg)))
                    .await?;
            }
            convs.push(conv);
        }
        let bar = ProgressBar::hidden();
        crate::ops::replay::wait_caught_up(&env.log, "history", &[0, 1], &bar).await?;
        assert_eq!(env.stored().await?, 750);
        assert!(
            env.log.hot_min_seq(&convs[0]).await?.unwrap_or(1) > 1,
            "the test needs a trimmed stream"
        );

        conversations::drop_all(&env.db).await?;
        let r = rebuild(&env.log, &env.db, Target::Readmodel, &[], false, 100, &bar).await?;
        assert_eq!((r.conversations, r.entries), (3, 750));
        for (i, conv) in convs.iter().enumerate() {
            let (_, x, y) = TestEnv::pair(i);
            let rx = conversations::get(&env.db, &x, conv)
                .await?
                .expect("row of x");
            let ry = conversations::get(&env.db, &y, conv)
                .await?
                .expect("row of y");
            assert_eq!((rx.conv_max_seq, ry.conv_max_seq), (250, 250));
            assert_eq!((rx.has_read_seq, ry.has_read_seq), (1, 250));
            assert_eq!((rx.unread(), ry.unread()), (249, 0));
            assert_eq!(rx.latest.map(|l| l.seq), Some(250));
            assert!(rx.version_logged && ry.version_logged);
        }
        shutdown.cancel();
        history.await??;
        Ok(())
    }
}
