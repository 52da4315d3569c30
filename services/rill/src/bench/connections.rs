//! `connections`: C idle connections on one gateway, opened from several loopback source
//! addresses (past one address's ephemeral ports), heartbeated with WS pings like the Go SDK,
//! held past the server's 30 s read deadline. Reports the server's RSS per connection.

use super::client::{Conn, Handler};
use super::frame::{Codec, Wire};
use super::gob::Resp;
use super::progress::Progress;
use super::report::{Row, thousands};
use super::setup::{self, ConnectPlan, Tally};
use super::target::{self, Target};
use anyhow::bail;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(clap::Args, Debug, Clone)]
pub struct ConnectionsArgs {
    /// Connections to open (one user each).
    #[arg(long, default_value_t = 20_000)]
    pub connections: usize,
    /// Connections per source address (127.0.0.2, 127.0.0.3, ...).
    #[arg(long, default_value_t = 5000)]
    pub per_source: usize,
    /// Handshakes in flight.
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    /// How long to hold them open once all are connected (more than the 30 s read deadline
    /// proves the heartbeat keeps them).
    #[arg(long, default_value = "35s", value_parser = humantime::parse_duration)]
    pub hold: Duration,
    /// WS ping interval per connection (the Go SDK pings every ~24 s).
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub heartbeat: Duration,
    #[arg(long, value_enum, default_value = "gob")]
    pub codec: Codec,
}

impl Default for ConnectionsArgs {
    fn default() -> Self {
        ConnectionsArgs {
            connections: 20_000,
            per_source: 5000,
            concurrency: 128,
            hold: Duration::from_secs(35),
            heartbeat: Duration::from_secs(20),
            codec: Codec::Gob,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConnectionsReport {
    pub wire: String,
    pub requested: usize,
    pub connected: usize,
    pub failed: usize,
    pub first_failure: Option<String>,
    /// Alive at the end of the hold.
    pub alive: usize,
    pub pongs: u64,
    pub source_addresses: usize,
    pub connect_time: Duration,
    pub rss_before_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    /// The measured process is the tool itself (client side included).
    pub rss_includes_client: bool,
}

impl ConnectionsReport {
    pub fn kib_per_connection(&self) -> Option<f64> {
        let (b, a) = (self.rss_before_kib?, self.rss_after_kib?);
        (self.connected > 0).then(|| a.saturating_sub(b) as f64 / self.connected as f64)
    }

    pub fn rows(&self) -> Vec<Row> {
        let rss = match self.kib_per_connection() {
            Some(k) => format!(
                "{k:.1} KiB RSS/conn{}",
                if self.rss_includes_client {
                    " (server+client: in-process)"
                } else {
                    ""
                }
            ),
            None => "RSS not measured (no --server-pid)".into(),
        };
        let met = self.kib_per_connection().map(|k| {
            !self.rss_includes_client
                && self.connected >= 20_000
                && self.alive == self.connected
                && k <= 10.0
        });
        vec![
            Row::new(
                format!(
                    "connections {} ({} requested)",
                    self.wire,
                    thousands(self.requested as f64)
                ),
                format!(
                    "{} connected, {} alive after hold, {} failed; {rss}",
                    thousands(self.connected as f64),
                    thousands(self.alive as f64),
                    self.failed
                ),
            )
            .target("20,000 idle on one gateway, ≤ 10 KiB RSS each", met),
        ]
    }
}

impl fmt::Display for ConnectionsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "connections [{}] requested={} from {} source addresses",
            self.wire, self.requested, self.source_addresses
        )?;
        writeln!(
            f,
            "  connected {} in {:.1} s, failed {}, alive after hold {}, pongs {}",
            self.connected,
            self.connect_time.as_secs_f64(),
            self.failed,
            self.alive,
            self.pongs
        )?;
        if let Some(e) = &self.first_failure {
            writeln!(f, "  first failure: {e}")?;
        }
        match (
            self.rss_before_kib,
            self.rss_after_kib,
            self.kib_per_connection(),
        ) {
            (Some(b), Some(a), Some(k)) => writeln!(
                f,
                "  server RSS {} → {} KiB: {k:.2} KiB per connection{}",
                b,
                a,
                if self.rss_includes_client {
                    " (in-process: includes the client side)"
                } else {
                    ""
                }
            ),
            _ => writeln!(
                f,
                "  server RSS not measured (pass --server-pid, or --self-contained)"
            ),
        }
    }
}

struct State {
    pongs: AtomicU64,
    tally: Tally,
}

impl Handler for State {
    fn on_resp(&self, _conn: usize, resp: Resp) {
        self.tally.common(&resp);
    }

    fn on_pong(&self, _conn: usize) {
        self.pongs.fetch_add(1, Ordering::Relaxed);
    }

    fn on_end(&self, conn: usize, why: String) {
        self.tally.end(conn, why);
    }
}

/// File descriptors besides the sockets (Redis, Mongo, HTTP pools, listeners, logs).
const FD_RESERVE: u64 = 200;

pub async fn run(target: &Target, args: &ConnectionsArgs) -> anyhow::Result<ConnectionsReport> {
    if args.connections == 0 {
        bail!("connections needs --connections ≥ 1");
    }
    // Each connection is one descriptor here, and one more in the server when it is this process.
    let per_conn = if target.server_is_tool { 2 } else { 1 };
    if let Some(limit) = target::open_files_limit() {
        let need = args.connections as u64 * per_conn + FD_RESERVE;
        if need > limit {
            bail!(
                "{} connections need about {need} open files in this process but its limit is {limit}: \
                 raise `ulimit -n`, or (with --self-contained) use `--server child`, which halves the need",
                args.connections
            );
        }
    }
    let run = setup::run_id();
    let wire = Wire::like_sdk(args.codec);
    let platform = setup::platform_for(args.codec);
    let rest = setup::rest(target).await?;
    let ids: Vec<String> = (0..args.connections)
        .map(|i| format!("b{run}c{i}"))
        .collect();
    let logins = setup::logins(&rest, ids, platform).await?;

    let state = Arc::new(State {
        pongs: AtomicU64::new(0),
        tally: Tally::default(),
    });
    // Let the allocator settle after the REST burst before the baseline.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = target.server_rss_kib();
    let plan = ConnectPlan {
        wire,
        concurrency: args.concurrency,
        per_source: Some(args.per_source),
    };
    let started = Instant::now();
    let results = setup::connect_all(target, &logins, &plan, state.clone()).await;
    let connect_time = started.elapsed();
    let mut conns: Vec<Arc<Conn>> = Vec::with_capacity(results.len());
    let mut failed = 0;
    let mut first_failure = None;
    for r in results {
        match r {
            Ok(c) => conns.push(c),
            Err(e) => {
                failed += 1;
                first_failure.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    let stop = CancellationToken::new();
    let heartbeat = super::client::heartbeat(conns.clone(), args.heartbeat, stop.clone());
    let s = state.clone();
    let connected = conns.len();
    let progress = Progress::start("hold", move || {
        format!(
            "{} open, {} lost, {} pongs",
            connected as u64 - s.tally.ended.load(Ordering::Relaxed),
            s.tally.ended.load(Ordering::Relaxed),
            s.pongs.load(Ordering::Relaxed)
        )
    });
    // RSS once the handshakes' transient buffers are gone and the first pings went through.
    let settle = Duration::from_secs(5).min(args.hold);
    tokio::time::sleep(settle).await;
    let rss_after = target.server_rss_kib();
    tokio::time::sleep(args.hold.saturating_sub(settle)).await;
    let alive = conns.iter().filter(|c| !c.is_finished()).count();
    progress.finish();
    state.tally.stopping.store(true, Ordering::Relaxed);
    stop.cancel();
    heartbeat.abort();
    drop(conns);
    Ok(ConnectionsReport {
        wire: wire.label(),
        requested: args.connections,
        connected,
        failed,
        first_failure: first_failure.or_else(|| state.tally.first_end()),
        alive,
        pongs: state.pongs.load(Ordering::Relaxed),
        source_addresses: args.connections.div_ceil(args.per_source.max(1)),
        connect_time,
        rss_before_kib: rss_before,
        rss_after_kib: rss_after,
        rss_includes_client: target.server_is_tool,
    })
}
