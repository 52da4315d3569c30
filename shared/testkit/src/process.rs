//! A server process supervised by a small `sh` watchdog.
//!
//! Why a watchdog: the workspace forbids `unsafe`, so there is no `prctl(PR_SET_PDEATHSIG)`, and
//! destructors do not run for statics (the shared Mongo server) or when a test process is killed.
//! The watchdog holds the read end of a pipe whose write end only this process holds; when this
//! process exits for any reason the kernel closes it, the watchdog sees EOF and stops the server.
//! The server is started as a plain command (no subshell), so the pid the watchdog reports is the
//! server's own and can be SIGKILLed directly.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;

/// `$1` log file, `$2` directory to remove after the server exits (or empty), rest: the command.
const WATCHDOG: &str = r#"
log=$1; cleanup=$2; shift 2
exec 3<&0
"$@" </dev/null >>"$log" 2>&1 3<&- &
pid=$!
echo "$pid"
exec 1>/dev/null
(
  cat <&3 >/dev/null
  kill -TERM "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -ge 150 ]; then kill -KILL "$pid" 2>/dev/null; break; fi
    sleep 0.1
  done
) </dev/null &
exec 3<&-
wait "$pid"
rc=$?
if [ -n "$cleanup" ]; then rm -rf "$cleanup"; fi
exit "$rc"
"#;

/// How long a graceful stop may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) struct Supervised {
    watchdog: Child,
    /// Dropping it closes the pipe: the watchdog then stops the server.
    stdin: Option<ChildStdin>,
    pid: u32,
    log: PathBuf,
}

impl Supervised {
    /// Starts `program args…` in `cwd`, appending its output to `log`. `cleanup` is removed by the
    /// watchdog once the server has exited (for data dirs that no destructor will remove).
    pub(crate) fn spawn(
        program: &Path,
        args: &[String],
        cwd: &Path,
        log: &Path,
        cleanup: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let stderr = OpenOptions::new().create(true).append(true).open(log)?;
        let cleanup = cleanup.map(|p| p.display().to_string()).unwrap_or_default();
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("rill-testkit-watchdog")
            .arg(log)
            .arg(cleanup)
            .arg(program)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("spawning {}", program.display()))?;
        let stdin = watchdog.stdin.take();
        let stdout = watchdog.stdout.take().context("watchdog stdout missing")?;
        // The watchdog prints the pid right after forking, so this read does not wait.
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let pid: u32 = line
            .trim()
            .parse()
            .with_context(|| format!("watchdog printed {line:?} instead of a pid"))?;
        Ok(Self {
            watchdog,
            stdin,
            pid,
            log: log.to_path_buf(),
        })
    }

    /// The server's process id (not the watchdog's).
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// The server's exit code once it has exited (`Some(-1)` for death by signal).
    pub(crate) fn exited(&mut self) -> Option<i32> {
        match self.watchdog.try_wait() {
            Ok(Some(status)) => Some(status.code().unwrap_or(-1)),
            Ok(None) => None,
            Err(_) => Some(-1),
        }
    }

    /// The last few KB of the server's output, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// SIGKILL, then wait until the server is gone.
    pub(crate) async fn kill9(&mut self) -> anyhow::Result<()> {
        if self.exited().is_none() {
            send_kill9(self.pid)?;
        }
        self.wait_exit(STOP_TIMEOUT).await?;
        self.stdin = None;
        Ok(())
    }

    /// SIGTERM (through the watchdog) and wait; SIGKILL if it takes too long.
    pub(crate) async fn stop(&mut self) -> anyhow::Result<()> {
        self.stdin = None;
        if self.wait_exit(STOP_TIMEOUT).await.is_err() {
            send_kill9(self.pid)?;
            self.wait_exit(STOP_TIMEOUT).await?;
        }
        Ok(())
    }

    async fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.exited().is_none() {
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("server pid {} did not exit within {timeout:?}", self.pid);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if self.exited().is_none() {
            // Best effort: a destructor cannot report errors, and the watchdog stops the
            // server anyway once its stdin closes below.
            let _ = send_kill9(self.pid);
        }
        self.stdin = None;
        // Reap the watchdog so long test processes do not collect zombies; bounded so a
        // destructor never hangs.
        for _ in 0..100 {
            if self.exited().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn send_kill9(pid: u32) -> anyhow::Result<()> {
    // `kill` is a plain program here: the workspace forbids the unsafe libc call.
    Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running kill -9")?;
    Ok(())
}

pub(crate) fn log_tail(path: &Path) -> String {
    const TAIL: u64 = 4096;
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(TAIL)));
    let mut buf = Vec::new();
    let _ = file.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}
