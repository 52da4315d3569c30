//! Starts any subset of Rill's services in this process, sharing one `App`, and stops them with
//! one cancellation token and a deadline. `rill serve` and the end-to-end tests both use this.

use anyhow::Context as _;
use rill_app::{App, AppConfig};
use rill_log::{Log, Topology};
use rill_store::Store;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The services one process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Service {
    Api,
    Gateway,
    History,
    Push,
    Readmodel,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Service::Api,
        Service::Gateway,
        Service::History,
        Service::Push,
        Service::Readmodel,
    ];
}

/// What to start. Defaults bind loopback on free ports, which is what tests want.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub redis_url: String,
    pub mongo_uri: String,
    pub mongo_db: String,
    pub topology: Topology,
    pub app: AppConfig,
    pub api: rill_api::Config,
    pub gateway: rill_gateway::Config,
    pub api_addr: SocketAddr,
    pub ws_addr: SocketAddr,
    pub services: Vec<Service>,
    /// Consumer name of this process in every group (unique per process).
    pub consumer: String,
}

impl ServeOptions {
    /// Loopback, free ports, every service, the repo's `streams.yaml` topology.
    pub fn new(
        redis_url: impl Into<String>,
        mongo_uri: impl Into<String>,
        mongo_db: impl Into<String>,
        topology: Topology,
    ) -> Self {
        Self {
            redis_url: redis_url.into(),
            mongo_uri: mongo_uri.into(),
            mongo_db: mongo_db.into(),
            topology,
            app: AppConfig::default(),
            api: rill_api::Config::default(),
            gateway: rill_gateway::Config::default(),
            api_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            ws_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            services: Service::ALL.to_vec(),
            consumer: format!("rill-{}", uuid::Uuid::new_v4().simple()),
        }
    }
}

/// A running set of services.
pub struct Running {
    /// Where the REST API listens (when started).
    pub api_addr: Option<SocketAddr>,
    /// Where the WebSocket gateway listens (when started).
    pub ws_addr: Option<SocketAddr>,
    pub app: App,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl Running {
    /// The token that stops every service.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Cancels every service and waits up to `deadline` for them to finish.
    pub async fn stop_within(self, deadline: Duration) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.tracker.close();
        tokio::time::timeout(deadline, self.tracker.wait())
            .await
            .context("services did not stop within the deadline")
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop_within(Duration::from_secs(10)).await
    }

    /// Resolves when any service task ended on its own (an error) or shutdown was requested.
    pub async fn wait(&self) {
        self.shutdown.cancelled().await;
    }
}

/// Connects to Redis and Mongo, builds the shared `App`, binds listeners and spawns the
/// requested services. Returns once everything is listening.
pub async fn start(opts: ServeOptions) -> anyhow::Result<Running> {
    let client = rill_log::redis_client(&opts.redis_url).context("redis url")?;
    let log = Log::connect(client, opts.topology.clone())
        .await
        .context("connecting the log (redis)")?;
    let store = Store::connect(&opts.mongo_uri, &opts.mongo_db)
        .await
        .context("mongodb options")?;
    let app = App::new(opts.app.clone(), log, store);

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut running = Running {
        api_addr: None,
        ws_addr: None,
        app: app.clone(),
        shutdown: shutdown.clone(),
        tracker: tracker.clone(),
    };

    // Indexes (and with them the collections) are created before any service touches Mongo:
    // concurrent implicit collection creation livelocks the Python Mongo-wire test server, and
    // a real mongod is happier too. The front doors must start while Mongo is down, so after a
    // bounded wait this goes on in the background (cancellable by shutdown).
    let indexed = tokio::time::timeout(INDEX_WAIT, app.store().ensure_indexes()).await;
    if !matches!(indexed, Ok(Ok(()))) {
        tracing::warn!("MongoDB indexes not created yet; retrying in the background");
        let store = app.store().clone();
        let token = shutdown.clone();
        tracker.spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                result = store.ensure_indexes() => {
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "creating MongoDB indexes failed; projections will retry on use");
                    }
                }
            }
        });
    }

    // Durability check (DESIGN.md §2): if Redis lost an AOF tail, a conversation stream may be
    // behind what history already holds; move it forward so no seq is ever handed out twice.
    // Run by the processes that own history, in the background (Mongo may be down at start).
    if opts.services.contains(&Service::History) {
        let app = app.clone();
        let token = shutdown.clone();
        tracker.spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = ensure_seq_floors(&app) => {}
            }
        });
    }

    for service in &opts.services {
        let app = app.clone();
        let token = shutdown.clone();
        let consumer = opts.consumer.clone();
        // A service that fails cancels the whole process: a half-running server is worse.
        let on_exit = shutdown.clone();
        match service {
            Service::Api => {
                let listener = TcpListener::bind(opts.api_addr)
                    .await
                    .context("binding the API")?;
                running.api_addr = Some(listener.local_addr()?);
                let config = opts.api.clone();
                tracker.spawn(async move {
                    report(
                        "api",
                        rill_api::run(app, config, listener, token).await,
                        &on_exit,
                    );
                });
            }
            Service::Gateway => {
                let listener = TcpListener::bind(opts.ws_addr)
                    .await
                    .context("binding the gateway")?;
                running.ws_addr = Some(listener.local_addr()?);
                let config = opts.gateway.clone();
                tracker.spawn(async move {
                    report(
                        "gateway",
                        rill_gateway::run(app, config, listener, token).await,
                        &on_exit,
                    );
                });
            }
            Service::History => {
                tracker.spawn(async move {
                    report(
                        "history",
                        rill_history::run(app, consumer, token).await,
                        &on_exit,
                    );
                });
            }
            Service::Push => {
                tracker.spawn(async move {
                    report("push", rill_push::run(app, consumer, token).await, &on_exit);
                });
            }
            Service::Readmodel => {
                tracker.spawn(async move {
                    report(
                        "readmodel",
                        rill_readmodel::run(app, consumer, token).await,
                        &on_exit,
                    );
                });
            }
        }
    }
    Ok(running)
}

async fn ensure_seq_floors(app: &App) {
    let floors = match rill_store::messages::max_seqs_all(app.store().database()).await {
        Ok(floors) => floors,
        Err(e) => {
            tracing::warn!(error = %e, "seq floor check skipped: history unreadable");
            return;
        }
    };
    let mut moved = 0usize;
    for (conversation_id, floor) in &floors {
        match app.log().ensure_seq_floor(conversation_id, *floor).await {
            Ok((_, true)) => moved += 1,
            Ok(_) => {}
            Err(e) => tracing::warn!(conversation_id, error = %e, "seq floor check failed"),
        }
    }
    if moved > 0 {
        tracing::warn!(
            moved,
            "conversation streams were behind history and were moved forward"
        );
    }
    tracing::info!(conversations = floors.len(), moved, "seq floor check done");
}

/// How long start-up waits for MongoDB indexes before going on without them.
const INDEX_WAIT: Duration = Duration::from_secs(10);

fn report<E: std::fmt::Display>(name: &str, result: Result<(), E>, shutdown: &CancellationToken) {
    match result {
        Ok(()) => tracing::info!(service = name, "stopped"),
        Err(e) => {
            tracing::error!(service = name, error = %e, "service failed; stopping the process");
            shutdown.cancel();
        }
    }
}
