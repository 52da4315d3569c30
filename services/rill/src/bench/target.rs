//! What the tool measures: a running server named by its addresses, or (`--self-contained`) a
//! private redis-server + Mongo-wire server and the whole Rill server, in this process or as a
//! child `rill serve` process (whose RSS is then the server's alone).

use super::conn::GatewayAddr;
use super::cpu::Watched;
use anyhow::{Context as _, bail};
use rill_log::Topology;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServerMode {
    /// `rill::serve::start` in the tool's own process (its RSS includes the tool's).
    InProcess,
    /// `rill serve` as a child process of the tool (own RSS, own file-descriptor limit).
    Child,
}

/// The private Mongo-wire server of a self-contained run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MongoChoice {
    /// `mongod` from PATH, else `secantusd-py` (what the tests use).
    Auto,
    /// `secantusd-rs` (built into .tools/bin on first use): the store is then not the bottleneck.
    SecantusdRs,
}

impl From<MongoChoice> for rill_testkit::MongoEngine {
    fn from(c: MongoChoice) -> Self {
        match c {
            MongoChoice::Auto => rill_testkit::MongoEngine::Auto,
            MongoChoice::SecantusdRs => rill_testkit::MongoEngine::SecantusRs,
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct TargetArgs {
    /// Start a private redis-server, Mongo-wire server and Rill server instead of using --api,
    /// --ws and --redis.
    #[arg(long)]
    pub self_contained: bool,
    /// With --self-contained: run the server in this process or as a child process.
    #[arg(long, value_enum, default_value = "in-process")]
    pub server: ServerMode,
    /// With --self-contained: Redis with AOF `appendfsync always` (the production setting).
    #[arg(long)]
    pub aof: bool,
    /// With --self-contained: which Mongo-wire server to start (ignored when MONGODB_URI is set).
    #[arg(long, value_enum, default_value = "auto")]
    pub mongo: MongoChoice,
    /// With --self-contained: run only these services (default all), e.g. to take the Mongo
    /// projections out of a measurement. Projections not run never drain.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub services: Vec<crate::serve::Service>,
    /// REST API of a running server.
    #[arg(long, default_value = "http://127.0.0.1:10002")]
    pub api: String,
    /// WebSocket gateway of a running server.
    #[arg(long, default_value = "ws://127.0.0.1:10001")]
    pub ws: String,
    /// The running server's Redis (for the ceiling and for waiting on projections).
    #[arg(long)]
    pub redis: Option<String>,
    /// The running server's process id (for RSS per connection).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Stream topology of the server (key prefix, partitions, consumer groups).
    #[arg(long, default_value = "streams.yaml")]
    pub streams: PathBuf,
    /// share.yml secret of the server.
    #[arg(long, default_value = "openIM123")]
    pub secret: String,
    /// An admin user id of the server.
    #[arg(long, default_value = "imAdmin")]
    pub admin_user: String,
}

/// The resolved target. Holds the servers it started; [`Target::shutdown`] stops them.
pub struct Target {
    pub api: String,
    pub gw: GatewayAddr,
    pub redis_url: Option<String>,
    pub topology: Topology,
    /// Consumer groups some running worker consumes (what "projected" waits for).
    pub groups: Vec<String>,
    /// Process whose RSS is "the server's".
    pub server_pid: Option<u32>,
    /// True when that process is also the tool (RSS includes the client side).
    pub server_is_tool: bool,
    pub secret: String,
    pub admin_user: String,
    /// What ran where, for the report header.
    pub description: String,
    running: Option<crate::serve::Running>,
    child: Option<tokio::process::Child>,
    // Dropped last: the servers die with their handles.
    redis: Option<rill_testkit::RedisServer>,
    /// The self-contained run's private Mongo-wire server, kept alive with the target.
    mongo: Option<rill_testkit::MongoServer>,
}

impl Target {
    pub async fn resolve(args: &TargetArgs) -> anyhow::Result<Target> {
        let topology = load_topology(&args.streams)?;
        if args.self_contained {
            return Self::self_contained(args, topology).await;
        }
        Ok(Target {
            api: args.api.clone(),
            gw: GatewayAddr::parse(&args.ws)?,
            redis_url: args.redis.clone(),
            groups: topology.groups.keys().cloned().collect(),
            topology,
            server_pid: args.server_pid,
            server_is_tool: false,
            secret: args.secret.clone(),
            admin_user: args.admin_user.clone(),
            description: format!("running server api={} ws={}", args.api, args.ws),
            running: None,
            child: None,
            redis: None,
            mongo: None,
        })
    }

    /// A server the caller started in this process (tests).
    pub fn in_process(
        running: crate::serve::Running,
        redis_url: String,
        topology: Topology,
    ) -> anyhow::Result<Target> {
        let api = running.api_addr.context("the API is not running")?;
        let ws = running.ws_addr.context("the gateway is not running")?;
        let defaults = rill_app::AppConfig::default();
        Ok(Target {
            api: format!("http://{api}"),
            gw: GatewayAddr::parse(&format!("ws://{ws}"))?,
            redis_url: Some(redis_url),
            groups: topology.groups.keys().cloned().collect(),
            topology,
            server_pid: Some(std::process::id()),
            server_is_tool: true,
            secret: running.app.config().secret.clone(),
            admin_user: running
                .app
                .config()
                .admin_user_ids
                .first()
                .cloned()
                .or_else(|| defaults.admin_user_ids.first().cloned())
                .unwrap_or_default(),
            description: "in-process server".into(),
            running: Some(running),
            child: None,
            redis: None,
            mongo: None,
        })
    }

    async fn self_contained(args: &TargetArgs, topology: Topology) -> anyhow::Result<Target> {
        let redis = if args.aof {
            rill_testkit::RedisServer::start_aof().await?
        } else {
            rill_testkit::RedisServer::start().await?
        };
        // A private, disk-backed Mongo-wire server: the in-memory one's 256 MB cache fills up
        // (WT_CACHE_FULL) after a few tens of thousands of stored messages. MONGODB_URI, when
        // set, is used as is.
        let external = std::env::var("MONGODB_URI").is_ok_and(|u| !u.trim().is_empty());
        let private = if external {
            None
        } else {
            Some(rill_testkit::MongoServer::start_private_on(args.mongo.into()).await?)
        };
        let shared = if external {
            Some(rill_testkit::MongoServer::shared().await?)
        } else {
            None
        };
        let mongo = match (&private, shared) {
            (Some(p), _) => p,
            (None, Some(s)) => s,
            (None, None) => anyhow::bail!("no Mongo-wire server"),
        };
        let db = rill_testkit::unique_name("bench");
        let persistence = if args.aof {
            "AOF appendfsync always"
        } else {
            "no persistence"
        };
        let mut target = match args.server {
            ServerMode::InProcess => {
                let opts =
                    crate::serve::ServeOptions::new(redis.url(), mongo.uri(), db, topology.clone());
                let running = crate::serve::start(opts)
                    .await
                    .context("starting the server in-process")?;
                Self::in_process(running, redis.url(), topology)?
            }
            ServerMode::Child => {
                let (child, api, ws) = spawn_child(
                    &args.streams,
                    &args.services,
                    &redis.url(),
                    &mongo.uri(),
                    &db,
                )
                .await?;
                let defaults = rill_app::AppConfig::default();
                Target {
                    api: format!("http://{api}"),
                    gw: GatewayAddr::parse(&format!("ws://{ws}"))?,
                    redis_url: Some(redis.url()),
                    groups: topology.groups.keys().cloned().collect(),
                    topology,
                    server_pid: child.id(),
                    server_is_tool: false,
                    secret: defaults.secret.clone(),
                    admin_user: defaults.admin_user_ids.first().cloned().unwrap_or_default(),
                    description: "child `rill serve`".into(),
                    running: None,
                    child: Some(child),
                    redis: None,
                    mongo: None,
                }
            }
        };
        if !args.services.is_empty() {
            use crate::serve::Service;
            let runs = |name: &str| match name {
                "history" => args.services.contains(&Service::History),
                "push" => args.services.contains(&Service::Push),
                "readmodel" => args.services.contains(&Service::Readmodel),
                _ => true,
            };
            target.groups.retain(|g| runs(g));
        }
        let services = if args.services.is_empty() {
            String::new()
        } else {
            format!(" (only {:?})", args.services)
        };
        let mongo_name = if external {
            "MONGODB_URI"
        } else {
            match args.mongo {
                MongoChoice::Auto => "Mongo-wire server (mongod or secantusd-py)",
                MongoChoice::SecantusdRs => "secantusd-rs",
            }
        };
        target.description = format!(
            "self-contained: {}{services}, private redis-server ({persistence}), {mongo_name}",
            target.description
        );
        target.redis = Some(redis);
        target.mongo = private;
        Ok(target)
    }

    /// The processes whose CPU time a run reports: the server (with the tool when it runs in
    /// the tool's process), the private Redis and Mongo-wire servers, the tool.
    pub fn watched(&self) -> Vec<Watched> {
        let tool = std::process::id();
        let server = self.server_pid.map(|pid| Watched {
            role: if pid == tool { "server+tool" } else { "server" },
            pid,
        });
        let redis = self
            .redis
            .as_ref()
            .and_then(|r| r.pid())
            .map(|pid| Watched { role: "redis", pid });
        let mongo = self
            .mongo
            .as_ref()
            .and_then(|m| m.pid())
            .map(|pid| Watched { role: "mongo", pid });
        let tool = (self.server_pid != Some(tool)).then_some(Watched {
            role: "tool",
            pid: tool,
        });
        [server, redis, mongo, tool].into_iter().flatten().collect()
    }

    /// The server process's resident set, in KiB.
    pub fn server_rss_kib(&self) -> Option<u64> {
        self.server_pid.and_then(rss_kib)
    }

    /// Stops whatever this target started.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(running) = self.running.take() {
            running.stop().await?;
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
        Ok(())
    }
}

/// `--streams`, or the workspace's streams.yaml when run from elsewhere, or the defaults.
fn load_topology(path: &Path) -> anyhow::Result<Topology> {
    if path.is_file() {
        return Topology::load(path).with_context(|| format!("loading {}", path.display()));
    }
    if path.is_relative()
        && let Ok(root) = rill_testkit::workspace_root()
        && root.join(path).is_file()
    {
        return Topology::load(&root.join(path))
            .with_context(|| format!("loading {}", path.display()));
    }
    Ok(Topology::default())
}

/// `VmRSS` of `/proc/<pid>/status`, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The soft limit on open files of this process.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn free_addr() -> anyhow::Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

/// Runs this executable's `serve` with the private servers, waiting until both listeners answer.
async fn spawn_child(
    streams: &Path,
    services: &[crate::serve::Service],
    redis_url: &str,
    mongo_uri: &str,
    db: &str,
) -> anyhow::Result<(tokio::process::Child, SocketAddr, SocketAddr)> {
    let exe = std::env::current_exe().context("locating the rill executable")?;
    if exe.file_stem().and_then(|s| s.to_str()) != Some("rill") {
        bail!(
            "--server child needs the `rill` binary (this is {})",
            exe.display()
        );
    }
    let streams = if streams.is_file() {
        streams.to_path_buf()
    } else {
        rill_testkit::workspace_root()?.join(streams)
    };
    let api = free_addr()?;
    let ws = free_addr()?;
    let log_path =
        std::env::temp_dir().join(format!("rill-bench-server-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let names = services
        .iter()
        .filter_map(clap::ValueEnum::to_possible_value)
        .map(|v| v.get_name().to_string());
    let mut child = tokio::process::Command::new(exe)
        .arg("serve")
        .args(names)
        .env("RILL_REDIS_URL", redis_url)
        .env("RILL_MONGODB_URI", mongo_uri)
        .env("RILL_MONGODB_DATABASE", db)
        .env("RILL_STREAMS", &streams)
        .env("RILL_API_LISTEN", api.to_string())
        .env("RILL_WS_LISTEN", ws.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("spawning `rill serve`")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    for addr in [api, ws] {
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "`rill serve` exited with {status}; see {}",
                    log_path.display()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "`rill serve` did not listen on {addr} within 60 s; see {}",
                    log_path.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok((child, api, ws))
}
