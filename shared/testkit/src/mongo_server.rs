use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use mongodb::bson::doc;
use tempfile::TempDir;
use tokio::sync::OnceCell;

use crate::mongo_install::{secantusd, secantusd_rs};
use crate::ports::{accepts, free_port};
use crate::process::Supervised;
use crate::workspace::which;

/// Generous: the Python server imports numpy and friends, which is slow while cargo builds.
const START_TIMEOUT: Duration = Duration::from_secs(120);
const PORT_ATTEMPTS: usize = 8;

static SHARED: OnceCell<MongoServer> = OnceCell::const_new();

/// A MongoDB-wire server: `MONGODB_URI` if set, else `mongod` from PATH, else SecantusDB
/// (`secantusd-py`, installed on demand into `<workspace>/.tools/mongo-venv`).
pub struct MongoServer {
    inner: Inner,
}

enum Inner {
    External(String),
    Local(Local),
}

struct Local {
    // Declared before `dir` so the process dies before its directory is removed.
    process: Option<Supervised>,
    engine: Engine,
    port: u16,
    /// Holds data and log of a private server; `None` for the shared one, whose watchdog
    /// removes its directory (statics are never dropped).
    _dir: Option<TempDir>,
    /// Where the data and the log live.
    base: PathBuf,
    persistent: bool,
}

#[derive(Clone, Debug)]
enum Engine {
    Mongod(PathBuf),
    Secantus(PathBuf),
    /// `secantusd-rs`: same server, Rust build, about ten times faster; benchmarks use it.
    SecantusRs(PathBuf),
}

/// Which Mongo-wire server a private server runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MongoEngine {
    /// `mongod` from PATH, else `secantusd-py` (what the tests use).
    #[default]
    Auto,
    /// `secantusd-rs`, built into `<workspace>/.tools/bin` by `scripts/lib/deps.sh secantus-rs`
    /// when missing (minutes on a cold machine).
    SecantusRs,
}

impl MongoServer {
    /// One server per test process (with nextest: per test), shared by its tests; each test
    /// should use its own database ([`crate::unique_name`]). Killed when the process exits.
    pub async fn shared() -> anyhow::Result<&'static MongoServer> {
        SHARED
            .get_or_try_init(|| async {
                if let Ok(uri) = std::env::var("MONGODB_URI")
                    && !uri.trim().is_empty()
                {
                    return Ok(MongoServer {
                        inner: Inner::External(uri),
                    });
                }
                let base = tempfile::Builder::new()
                    .prefix("rill-mongo-shared-")
                    .tempdir()?
                    .keep();
                let local = Local::start(engine().await?, base, None, false).await?;
                Ok(MongoServer {
                    inner: Inner::Local(local),
                })
            })
            .await
    }

    /// Its own process with a persistent data dir, so `stop` + `start_again` keep the data.
    /// Ignores `MONGODB_URI`.
    pub async fn start_private() -> anyhow::Result<MongoServer> {
        Self::start_private_on(MongoEngine::Auto).await
    }

    /// [`Self::start_private`] on a chosen server.
    pub async fn start_private_on(choice: MongoEngine) -> anyhow::Result<MongoServer> {
        let engine = match choice {
            MongoEngine::Auto => engine().await?,
            MongoEngine::SecantusRs => Engine::SecantusRs(secantusd_rs().await?),
        };
        let dir = tempfile::Builder::new()
            .prefix("rill-mongo-private-")
            .tempdir()?;
        let base = dir.path().to_path_buf();
        let local = Local::start(engine, base, Some(dir), true).await?;
        Ok(MongoServer {
            inner: Inner::Local(local),
        })
    }

    /// `mongodb://127.0.0.1:PORT/?directConnection=true` (or `MONGODB_URI` as given).
    pub fn uri(&self) -> String {
        match &self.inner {
            Inner::External(uri) => uri.clone(),
            Inner::Local(local) => local_uri(local.port),
        }
    }

    /// The running server's process id; `None` for `MONGODB_URI` or after a stop.
    pub fn pid(&self) -> Option<u32> {
        match &self.inner {
            Inner::External(_) => None,
            Inner::Local(local) => local.process.as_ref().map(Supervised::pid),
        }
    }

    /// A driver client for [`Self::uri`] (convenience for tests).
    pub async fn client(&self) -> anyhow::Result<mongodb::Client> {
        Ok(mongodb::Client::with_uri_str(self.uri()).await?)
    }

    /// Graceful stop (SIGTERM, SIGKILL after 20 s). Not possible for `MONGODB_URI`.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let local = self.local_mut()?;
        if let Some(process) = local.process.as_mut() {
            process.stop().await?;
        }
        local.process = None;
        Ok(())
    }

    /// Starts again on the same port and data dir.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        let local = self.local_mut()?;
        if let Some(process) = local.process.as_mut() {
            process.stop().await?;
        }
        local.process = None;
        let process = launch(
            &local.engine,
            &local.base,
            local.port,
            None,
            local.persistent,
        )?;
        let process = wait_ready(process, &local.engine, local.port).await?;
        local.process = Some(process);
        Ok(())
    }

    fn local_mut(&mut self) -> anyhow::Result<&mut Local> {
        match &mut self.inner {
            Inner::Local(local) => Ok(local),
            Inner::External(_) => {
                anyhow::bail!("MONGODB_URI server is not ours to stop; use start_private()")
            }
        }
    }
}

impl Local {
    async fn start(
        engine: Engine,
        base: PathBuf,
        dir: Option<TempDir>,
        persistent: bool,
    ) -> anyhow::Result<Local> {
        // The shared server's directory is removed by its watchdog once the server exits.
        let cleanup = if dir.is_none() {
            Some(base.clone())
        } else {
            None
        };
        let mut last_err = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            let process = launch(&engine, &base, port, cleanup.as_deref(), persistent)?;
            match wait_ready(process, &engine, port).await {
                Ok(process) => {
                    return Ok(Local {
                        process: Some(process),
                        engine,
                        port,
                        _dir: dir,
                        base,
                        persistent,
                    });
                }
                Err(e) if is_port_taken(&e) => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("no free port for the Mongo server")))
    }
}

async fn engine() -> anyhow::Result<Engine> {
    if let Some(mongod) = which("mongod") {
        return Ok(Engine::Mongod(mongod));
    }
    Ok(Engine::Secantus(secantusd().await?))
}

fn local_uri(port: u16) -> String {
    format!("mongodb://127.0.0.1:{port}/?directConnection=true")
}

fn launch(
    engine: &Engine,
    base: &Path,
    port: u16,
    cleanup: Option<&Path>,
    persistent: bool,
) -> anyhow::Result<Supervised> {
    let data = base.join("data");
    std::fs::create_dir_all(&data)?;
    let port_s = port.to_string();
    let (program, args): (&Path, Vec<String>) = match engine {
        Engine::Secantus(bin) | Engine::SecantusRs(bin) => {
            let rust = matches!(engine, Engine::SecantusRs(_));
            // The Rust build has no in-memory mode: always a directory.
            let storage = if persistent || rust {
                data.display().to_string()
            } else {
                ":memory:".to_string()
            };
            let mut args = vec![
                "--host",
                "127.0.0.1",
                "--port",
                &port_s,
                "--storage-path",
                &storage,
            ];
            args.extend(if rust {
                // A 16 MB log file instead of the 128 MB preallocated default; a cache a
                // benchmark never fills.
                ["--cache-size", "1G", "--log-file-max", "16MB"]
            } else {
                ["--cache-size", "256M", "--log-level", "WARNING"]
            });
            (bin, args.iter().map(|s| s.to_string()).collect())
        }
        Engine::Mongod(bin) => {
            let dbpath = data.display().to_string();
            let args = [
                "--dbpath",
                &dbpath,
                "--port",
                &port_s,
                "--bind_ip",
                "127.0.0.1",
                "--replSet",
                "rill",
                "--quiet",
            ];
            (bin, args.iter().map(|s| s.to_string()).collect())
        }
    };
    // cwd is our own directory, so secantusd-py's ./secantusd.toml auto-discovery finds nothing.
    Supervised::spawn(program, &args, base, &base.join("server.log"), cleanup)
}

/// Worth another launch on a fresh port: the port was taken, or the server exited before it
/// was ready. The latter was seen under CI load with SecantusDB exiting 1 and an empty log
/// (most likely a bind race it does not report); a second launch starts normally.
fn is_port_taken(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}").to_ascii_lowercase();
    text.contains("address already in use") || text.contains("exited with")
}

async fn wait_ready(
    mut process: Supervised,
    engine: &Engine,
    port: u16,
) -> anyhow::Result<Supervised> {
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if let Some(code) = process.exited() {
            anyhow::bail!(
                "Mongo server on port {port} exited with {code}:\n{}",
                process.log_tail()
            );
        }
        if accepts(port).await {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "Mongo server on port {port} not listening after {START_TIMEOUT:?}:\n{}",
                process.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client =
        mongodb::Client::with_uri_str(format!("{}&serverSelectionTimeoutMS=5000", local_uri(port)))
            .await?;
    let admin = client.database("admin");
    if matches!(engine, Engine::Mongod(_)) {
        // A single-node replica set, so transactions and change streams work as in production.
        // Already initiated (a restart on the same dbpath) is fine.
        let _ = admin
            .run_command(doc! {
                "replSetInitiate": {"_id": "rill", "members": [{"_id": 0, "host": format!("127.0.0.1:{port}")}]}
            })
            .await;
    }
    loop {
        let ready = match admin.run_command(doc! {"hello": 1}).await {
            Ok(hello) => hello.get_bool("isWritablePrimary").unwrap_or(false),
            Err(_) => false,
        };
        if ready {
            return Ok(process);
        }
        if let Some(code) = process.exited() {
            anyhow::bail!(
                "Mongo server on port {port} exited with {code}:\n{}",
                process.log_tail()
            );
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(anyhow::anyhow!(
                "Mongo server on port {port} never became primary"
            ))
            .with_context(|| process.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl std::fmt::Debug for MongoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Inner::External(uri) => f.debug_tuple("MongoServer::External").field(uri).finish(),
            Inner::Local(local) => f
                .debug_struct("MongoServer")
                .field("engine", &local.engine)
                .field("port", &local.port)
                .field("base", &local.base)
                .finish(),
        }
    }
}
