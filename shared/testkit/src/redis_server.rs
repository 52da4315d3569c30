use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use tempfile::TempDir;

use crate::ports::free_port;
use crate::process::Supervised;
use crate::workspace::which;

const START_TIMEOUT: Duration = Duration::from_secs(30);
const PORT_ATTEMPTS: usize = 8;

/// A private `redis-server` from PATH on a free loopback port, killed on drop.
pub struct RedisServer {
    // Declared before `dir` so the process dies before its directory is removed.
    process: Option<Supervised>,
    dir: TempDir,
    port: u16,
    aof: bool,
    client: redis::Client,
}

impl RedisServer {
    /// No persistence: a restart starts empty.
    pub async fn start() -> anyhow::Result<RedisServer> {
        Self::start_with(false).await
    }

    /// `appendonly yes`, `appendfsync always`, in its own temp dir: a restart replays the AOF.
    pub async fn start_aof() -> anyhow::Result<RedisServer> {
        Self::start_with(true).await
    }

    /// `redis://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The running server's process id (`None` after a kill or stop), e.g. to read its CPU time.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Supervised::pid)
    }

    pub fn client(&self) -> redis::Client {
        self.client.clone()
    }

    /// A fresh multiplexed connection (convenience for tests).
    pub async fn conn(&self) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        Ok(self.client.get_multiplexed_async_connection().await?)
    }

    /// SIGKILL: no shutdown save, no AOF rewrite; what `appendfsync always` wrote survives.
    pub async fn kill9(&mut self) -> anyhow::Result<()> {
        if let Some(process) = self.process.as_mut() {
            process.kill9().await?;
        }
        self.process = None;
        Ok(())
    }

    /// Starts again on the same port and directory (the AOF, if any, is replayed). Kills a
    /// still-running server first.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill9().await?;
        let process = launch(self.dir.path().to_path_buf(), self.port, self.aof)?;
        let process = wait_ready(process, &self.client, self.port).await?;
        self.process = Some(process);
        Ok(())
    }

    async fn start_with(aof: bool) -> anyhow::Result<RedisServer> {
        let dir = tempfile::Builder::new().prefix("rill-redis-").tempdir()?;
        let mut last_err = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
            let process = launch(dir.path().to_path_buf(), port, aof)?;
            match wait_ready(process, &client, port).await {
                Ok(process) => {
                    return Ok(RedisServer {
                        process: Some(process),
                        dir,
                        port,
                        aof,
                        client,
                    });
                }
                Err(StartError::PortTaken) => {
                    last_err = Some(anyhow::anyhow!("port {port} was taken"));
                }
                Err(StartError::Failed(e)) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("no free port")))
    }
}

enum StartError {
    PortTaken,
    Failed(anyhow::Error),
}

impl From<StartError> for anyhow::Error {
    fn from(e: StartError) -> Self {
        match e {
            StartError::PortTaken => anyhow::anyhow!("redis-server: port already in use"),
            StartError::Failed(e) => e,
        }
    }
}

fn launch(dir: PathBuf, port: u16, aof: bool) -> anyhow::Result<Supervised> {
    let program = which("redis-server").context(
        "redis-server not on PATH (run scripts/test.sh once, or apt-get install redis-server)",
    )?;
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--dir",
        &dir.display().to_string(),
        "--save",
        "",
        "--daemonize",
        "no",
        "--logfile",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if aof {
        args.extend(["--appendonly", "yes", "--appendfsync", "always"].map(String::from));
    } else {
        args.extend(["--appendonly", "no"].map(String::from));
    }
    let log = dir.join("redis.log");
    Supervised::spawn(&program, &args, &dir, &log, None)
}

async fn wait_ready(
    mut process: Supervised,
    client: &redis::Client,
    port: u16,
) -> Result<Supervised, StartError> {
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if let Some(code) = process.exited() {
            let tail = process.log_tail();
            if tail.contains("Address already in use") {
                return Err(StartError::PortTaken);
            }
            return Err(StartError::Failed(anyhow::anyhow!(
                "redis-server on port {port} exited with {code}:\n{tail}"
            )));
        }
        if ping(client).await {
            return Ok(process);
        }
        if tokio::time::Instant::now() >= deadline {
            let tail = process.log_tail();
            return Err(StartError::Failed(anyhow::anyhow!(
                "redis-server on port {port} not ready after {START_TIMEOUT:?}:\n{tail}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn ping(client: &redis::Client) -> bool {
    let attempt = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok::<_, redis::RedisError>(pong == "PONG")
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), attempt).await,
        Ok(Ok(true))
    )
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .field("aof", &self.aof)
            .field("dir", &self.dir.path())
            .finish()
    }
}
