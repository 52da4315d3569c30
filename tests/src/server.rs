//! A whole Rill (api, gateway, history, push, readmodel) in this process, on its own
//! redis-server and its own Mongo database, with an admin REST client ready.

use crate::rest::Rest;
use anyhow::Context as _;
use rill_testkit::{MongoServer, RedisServer, unique_name, workspace_root};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// One test's server and where its logs go.
pub struct Rill {
    pub rest: Rest,
    /// `http://127.0.0.1:PORT`
    pub api: String,
    /// `ws://127.0.0.1:PORT`
    pub ws: String,
    /// `target/e2e-logs/<test>/`: server.log, one log per client, the clients' data dirs.
    pub log_dir: PathBuf,
    running: Option<rill::Running>,
    _redis: RedisServer,
}

impl Rill {
    /// Starts Redis, picks a fresh database on the shared Mongo-wire server, starts every
    /// service on free loopback ports, and fetches the admin token.
    pub async fn start(test: &str) -> anyhow::Result<Rill> {
        let root = workspace_root()?;
        let log_dir = root.join("target/e2e-logs").join(unique_name(test));
        std::fs::create_dir_all(&log_dir)
            .with_context(|| format!("creating {}", log_dir.display()))?;
        init_tracing(&log_dir);
        let redis = RedisServer::start()
            .await
            .context("starting redis-server")?;
        let mongo = MongoServer::shared()
            .await
            .context("starting the Mongo-wire server")?;
        let topology =
            rill_log::Topology::load(&root.join("streams.yaml")).context("loading streams.yaml")?;
        let opts = rill::ServeOptions::new(redis.url(), mongo.uri(), unique_name(test), topology);
        let running = rill::start(opts).await.context("starting Rill")?;
        let api = format!(
            "http://{}",
            running.api_addr.context("the API did not start")?
        );
        let ws = format!(
            "ws://{}",
            running.ws_addr.context("the gateway did not start")?
        );
        let rest = Rest::connect(&api).await?;
        Ok(Rill {
            rest,
            api,
            ws,
            log_dir,
            running: Some(running),
            _redis: redis,
        })
    }

    /// Stops every service (bounded). Tests call it last, after every check passed, so the
    /// logs are then removed unless `RILL_E2E_KEEP_LOGS` is set; a failed test keeps them.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(r) = self.running.take() {
            r.stop().await?;
        }
        if std::env::var_os("RILL_E2E_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.log_dir);
        }
        Ok(())
    }
}

/// Server logs of this test process go to `<log_dir>/server.log` (RUST_LOG, default
/// `info,rill=debug`). Nextest runs each test in its own process, so the first caller wins.
fn init_tracing(log_dir: &std::path::Path) {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let Ok(file) = std::fs::File::create(log_dir.join("server.log")) else {
            return;
        };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rill=debug"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(Mutex::new(file))
            .try_init();
    });
}
