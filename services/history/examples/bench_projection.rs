//! History projection throughput (messages/s from the log into Mongo) and replay throughput,
//! against the same Mongo-wire server's raw `insert_many` throughput in the same run.
//! Run through `scripts/bench-projection.sh`. Uses a private redis-server and the Mongo-wire
//! server of rill-testkit (`MONGODB_URI` if set, else mongod, else SecantusDB).
//!
//!   bench_projection [--messages N] [--conversations C] [--batch B]

use rill_core::Message;
use rill_log::{ConsumerOptions, Envelope, Event, Log, Position, Topology};
use rill_testkit::{MongoServer, RedisServer, unique_name};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

struct Args {
    messages: usize,
    conversations: usize,
    batch: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        messages: 20_000,
        conversations: 100,
        batch: 256,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?
            .parse()?;
        match flag.as_str() {
            "--messages" => a.messages = value,
            "--conversations" => a.conversations = value.max(1),
            "--batch" => a.batch = value.max(1),
            _ => anyhow::bail!("unknown flag {flag}"),
        }
    }
    Ok(a)
}

fn message(conv_index: usize, n: usize) -> (String, Message) {
    let (a, b) = (format!("ba{conv_index}"), format!("bb{conv_index}"));
    let conv = rill_core::conversation::single(&a, &b);
    let (send, recv) = if n.is_multiple_of(2) { (a, b) } else { (b, a) };
    let msg = Message {
        send_id: send,
        recv_id: recv,
        client_msg_id: format!("{conv}-{n}"),
        server_msg_id: format!("{conv}-srv-{n}"),
        session_type: 1,
        msg_from: 100,
        content_type: 101,
        // About the size of a short text message with OpenIM's JSON content.
        content: format!("{{\"content\":\"benchmark message number {n} with some text in it\"}}")
            .into_bytes(),
        send_time: 1_700_000_000_000 + n as i64,
        create_time: 1_700_000_000_000 + n as i64,
        status: 2,
        ..Default::default()
    };
    (conv, msg)
}

async fn count(db: &mongodb::Database) -> anyhow::Result<u64> {
    Ok(rill_store::messages::collection(db)
        .estimated_document_count()
        .await?)
}

async fn wait_stored(db: &mongodb::Database, n: u64) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    while count(db).await? < n {
        anyhow::ensure!(
            t0.elapsed() < Duration::from_secs(1800),
            "projection did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(t0.elapsed())
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let redis = RedisServer::start().await?;
    let mongo = MongoServer::shared().await?;
    let client = mongodb::Client::with_uri_str(mongo.uri()).await?;

    // 1. Raw insert_many of the same documents, same batch size, one writer.
    let raw_db = client.database(&unique_name("bench_raw"));
    rill_store::messages::ensure_indexes(&raw_db).await?;
    let per_conv = a.messages.div_ceil(a.conversations);
    let mut docs = Vec::with_capacity(a.messages);
    for i in 0..a.messages {
        let (conv, mut msg) = message(i % a.conversations, i / a.conversations);
        msg.seq = (i / a.conversations) as i64 + 1;
        docs.push(rill_store::messages::to_document(&conv, &msg)?);
    }
    let t0 = Instant::now();
    for chunk in docs.chunks(a.batch) {
        rill_store::messages::insert_many(&raw_db, chunk.to_vec()).await?;
    }
    let raw = t0.elapsed();
    raw_db.drop().await?;

    // 2. Fill the log first, then let one history worker project it.
    let yaml = format!(
        "partitions: 16\nkey_prefix: bench\nhot_window: {}\nlog_retention: 7d\ndedup_window: 1h\n\
         groups:\n  history: {{ batch_size: {}, block: 100ms, claim_idle: 30s, max_deliveries: 5 }}\n",
        per_conv + 10,
        a.batch
    );
    let log = Log::connect(redis.client(), Topology::from_yaml_str(&yaml)?).await?;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    let writers = 16.min(a.conversations);
    for w in 0..writers {
        let log = log.clone();
        let (messages, conversations) = (a.messages, a.conversations);
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < messages {
                let (conv, msg) = message(i % conversations, i / conversations);
                log.append(
                    &conv,
                    &msg.client_msg_id.clone(),
                    &Envelope::new(Event::Message(msg)),
                )
                .await?;
                i += writers;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let appended = t0.elapsed();

    let store = rill_store::Store::connect(&mongo.uri(), &unique_name("bench_hist")).await?;
    store.ensure_indexes().await?;
    let db = store.database().clone();
    let app = rill_app::App::new(rill_app::AppConfig::default(), log.clone(), store);
    let shutdown = CancellationToken::new();
    let t0 = Instant::now();
    let worker = tokio::spawn(rill_history::run_with(
        app,
        "bench".into(),
        shutdown.clone(),
        ConsumerOptions::default(),
    ));
    wait_stored(&db, a.messages as u64).await?;
    let projected = t0.elapsed();

    // 3. Replay: lose the collection, move the group to the start, same worker re-projects.
    rill_store::messages::collection(&db).drop().await?;
    rill_store::messages::ensure_indexes(&db).await?;
    let t0 = Instant::now();
    rill_log::set_group_position(&log, rill_history::GROUP, &[], &Position::Start).await?;
    wait_stored(&db, a.messages as u64).await?;
    let replayed = t0.elapsed();
    shutdown.cancel();
    worker.await??;
    db.drop().await?;

    let raw_rate = rate(a.messages, raw);
    println!(
        "bench-projection: {} messages in {} conversations, batch {}, {} cores, mongo {}",
        a.messages,
        a.conversations,
        a.batch,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mongo.uri()
    );
    println!("| measure | seconds | messages/s | vs raw insert_many |");
    println!("|---|---:|---:|---:|");
    for (name, d) in [
        ("raw insert_many (baseline)", raw),
        ("log append (16 writers, for reference)", appended),
        ("history projection (log → Mongo)", projected),
        ("replay from 0 (same worker)", replayed),
    ] {
        let r = rate(a.messages, d);
        println!(
            "| {name} | {:.2} | {:.0} | {:.2} |",
            d.as_secs_f64(),
            r,
            r / raw_rate
        );
    }
    Ok(())
}
