//! One official-client process (tests/sdk/sdk_core.py or tests/sdk/js_sdk.mjs) per user.
//!
//! The driver prints one JSON object per stdout line: `{"kind":"event",...}`,
//! `{"kind":"result","op":...}`, `{"kind":"deadline"|"exit"|"uncaught"}`. We send it commands as
//! JSON lines on stdin. The client's own log (SDK log level 5: every request and error) goes to
//! `<log dir>/<name>.log`, its stdout lines to `<name>.jsonl`; the tail of both is part of every
//! failure message.

use crate::clients::Clients;
use anyhow::{Context as _, anyhow, bail};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Which official client a driver runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The Go SDK core (`libopenimsdk.so`): gob+gzip frames.
    Core,
    /// The pure-JS SDK: JSON frames, `/jssdk/*`.
    Js,
}

/// What a driver needs to start.
#[derive(Debug, Clone)]
pub struct Spec {
    pub kind: Kind,
    /// Log/process name, unique in the test (e.g. `u1`, `u1-second`).
    pub name: String,
    pub user: String,
    pub token: String,
    pub platform: i32,
    pub api: String,
    pub ws: String,
    /// The process ends itself after this long, whatever happens.
    pub deadline: Duration,
}

/// A running client process.
pub struct Driver {
    pub name: String,
    pub user: String,
    pub kind: Kind,
    // Held for kill_on_drop.
    _child: Child,
    stdin: Option<ChildStdin>,
    rx: mpsc::UnboundedReceiver<Value>,
    /// Every line seen so far, in order.
    pub lines: Vec<Value>,
    log_path: PathBuf,
    ended: bool,
    passed: bool,
}

/// Default bound for one command's result.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

impl Driver {
    /// Starts the process and waits for its `init` result.
    pub async fn spawn(spec: Spec, log_dir: &Path) -> anyhow::Result<Driver> {
        let clients = Clients::get();
        let log_path = log_dir.join(format!("{}.log", spec.name));
        let mut cmd = match spec.kind {
            Kind::Core => {
                let (Some(python), Some(lib)) = (&clients.python, &clients.core_lib) else {
                    bail!("SDK core unavailable: {}", clients.problems.join("; "));
                };
                let data_dir = log_dir.join(format!("{}-data", spec.name));
                // A fresh local database per run: the SDK would otherwise resume old state.
                let _ = std::fs::remove_dir_all(&data_dir);
                let config = json!({
                    "lib": lib, "api": spec.api, "ws": spec.ws, "data_dir": data_dir,
                    "user": spec.user, "token": spec.token, "platform": spec.platform,
                    "deadline_s": spec.deadline.as_secs_f64(), "log_level": 5,
                });
                let mut c = Command::new(python);
                c.arg(clients.drivers.join("sdk_core.py"))
                    .arg(config.to_string());
                c
            }
            Kind::Js => {
                let (Some(node), Some(js_dir)) = (&clients.node, &clients.js_dir) else {
                    bail!("JS SDK unavailable: {}", clients.problems.join("; "));
                };
                let config = json!({
                    "js_dir": js_dir, "api": spec.api, "ws": spec.ws, "user": spec.user,
                    "token": spec.token, "platform": spec.platform,
                    "deadline_s": spec.deadline.as_secs_f64(),
                });
                let mut c = Command::new(node);
                c.arg("--experimental-websocket")
                    .arg("--no-warnings")
                    .arg(clients.drivers.join("js_sdk.mjs"))
                    .arg(config.to_string());
                c
            }
        };
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the {:?} driver for {}", spec.kind, spec.name))?;
        let stdout = child.stdout.take().context("driver stdout")?;
        let stdin = child.stdin.take();
        let (tx, rx) = mpsc::unbounded_channel();
        // Every driver line is also kept in `<name>.jsonl` for reading after a run.
        let transcript_path = log_dir.join(format!("{}.jsonl", spec.name));
        let mut transcript = tokio::fs::File::create(&transcript_path)
            .await
            .with_context(|| format!("creating {}", transcript_path.display()))?;
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = transcript.write_all(format!("{line}\n").as_bytes()).await;
                let value = serde_json::from_str::<Value>(&line)
                    .unwrap_or_else(|_| json!({"kind": "raw", "line": line}));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let mut driver = Driver {
            name: spec.name,
            user: spec.user,
            kind: spec.kind,
            _child: child,
            stdin,
            rx,
            lines: Vec::new(),
            log_path,
            ended: false,
            passed: false,
        };
        let init = driver
            .wait_for("the driver's init result", Duration::from_secs(20), |v| {
                is_result(v, "init")
            })
            .await?;
        if init["code"] != 0 {
            return Err(driver.fail(&format!("init_sdk failed: {init}")));
        }
        Ok(driver)
    }

    /// Marks the test as passed for this driver: its log is not dumped on drop.
    pub fn pass(&mut self) {
        self.passed = true;
    }

    /// Sends one command and returns its result lines (`send`: one per text), without judging
    /// their codes.
    pub async fn run(&mut self, cmd: Value, timeout: Duration) -> anyhow::Result<Vec<Value>> {
        let op = cmd["op"].as_str().unwrap_or_default().to_string();
        let want = if op == "send" {
            cmd["texts"].as_array().map_or(1, Vec::len)
        } else {
            1
        };
        let start = self.lines.len();
        let stdin = self.stdin.as_mut().context("driver stdin closed")?;
        let mut line = cmd.to_string();
        line.push('\n');
        stdin
            .write_all(line.as_bytes())
            .await
            .with_context(|| format!("{}: writing command {cmd}", self.name))?;
        stdin.flush().await?;
        let deadline = Instant::now() + timeout;
        loop {
            let got: Vec<Value> = self.lines[start..]
                .iter()
                .filter(|v| is_result(v, &op))
                .cloned()
                .collect();
            if got.len() >= want {
                return Ok(got);
            }
            if let Err(e) = self.next_line(deadline).await {
                return Err(self.fail(&format!("command {cmd}: {e:#}")));
            }
        }
    }

    /// Runs a command and insists on errCode 0 for every result; returns the last result's data.
    pub async fn call(&mut self, cmd: Value) -> anyhow::Result<Value> {
        let results = self.run(cmd.clone(), COMMAND_TIMEOUT).await?;
        if let Some(bad) = results.iter().find(|r| r["code"] != 0) {
            return Err(self.fail(&format!("command {cmd} failed: {bad}")));
        }
        Ok(results
            .last()
            .map(|r| r["data"].clone())
            .unwrap_or(Value::Null))
    }

    /// Waits until some line (already seen or new) satisfies `pred`; returns it.
    pub async fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        self.wait_for_from(0, what, timeout, pred).await
    }

    /// Like `wait_for`, but only lines from index `start` on count (e.g. the events that follow
    /// a command, when an earlier identical event must not).
    pub async fn wait_for_from(
        &mut self,
        start: usize,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + timeout;
        let mut checked = start.min(self.lines.len());
        loop {
            if let Some(v) = self.lines[checked..].iter().find(|v| pred(v)) {
                return Ok(v.clone());
            }
            checked = self.lines.len();
            if let Err(e) = self.next_line(deadline).await {
                return Err(self.fail(&format!("waiting for {what}: {e:#}")));
            }
        }
    }

    /// Waits for an SDK event (core: number, JS: CbEvents name).
    pub async fn wait_event(&mut self, event: Value, timeout: Duration) -> anyhow::Result<Value> {
        let what = format!("event {event}");
        self.wait_for(&what, timeout, |v| {
            v["kind"] == "event" && v["event"] == event
        })
        .await
    }

    /// Logs in and waits until the first sync with the server finished.
    pub async fn login(&mut self) -> anyhow::Result<()> {
        self.login_with(None).await
    }

    /// Logs in (again, in the same process and local database, after a `logout`), optionally
    /// with a fresh token, and waits for the sync that follows this login.
    pub async fn login_with(&mut self, token: Option<&str>) -> anyhow::Result<()> {
        let start = self.lines.len();
        let mut cmd = json!({"op": "login"});
        if let Some(t) = token {
            cmd["token"] = json!(t);
        }
        self.call(cmd).await?;
        let finished = self.sync_finished_event();
        let failed = match self.kind {
            Kind::Core => json!(28),
            Kind::Js => json!("OnSyncServerFailed"),
        };
        let v = self
            .wait_for_from(
                start,
                "the sync after login to finish",
                COMMAND_TIMEOUT,
                |v| v["kind"] == "event" && (v["event"] == finished || v["event"] == failed),
            )
            .await?;
        if v["event"] == failed {
            return Err(self.fail("the SDK reported SYNC_SERVER_FAILED"));
        }
        Ok(())
    }

    fn sync_finished_event(&self) -> Value {
        match self.kind {
            Kind::Core => json!(26),
            Kind::Js => json!("OnSyncServerFinish"),
        }
    }

    /// The event that says this connection was kicked.
    pub fn kicked_event(&self) -> Value {
        match self.kind {
            Kind::Core => json!(3),
            Kind::Js => json!("OnKickedOffline"),
        }
    }

    /// Sends texts to `to`; returns each send's result data (the message as the server
    /// acknowledged it).
    pub async fn send_texts(
        &mut self,
        to: &str,
        texts: &[String],
        delay_ms: u64,
    ) -> anyhow::Result<Vec<Value>> {
        let cmd = json!({"op": "send", "to": to, "texts": texts, "delay_ms": delay_ms});
        let results = self.run(cmd.clone(), COMMAND_TIMEOUT).await?;
        if let Some(bad) = results.iter().find(|r| r["code"] != 0) {
            return Err(self.fail(&format!("send to {to} failed: {bad}")));
        }
        Ok(results.into_iter().map(|r| r["data"].clone()).collect())
    }

    /// Calls an SDK core function `fn(baseCb, opID, args...)` (tests/sdk/sdk_core.py `FUNCS`)
    /// and returns the whole result line (`code`, `msg`, `data`) without judging the code.
    pub async fn sdk_result(&mut self, func: &str, args: Value) -> anyhow::Result<Value> {
        let cmd = json!({"op": "call", "fn": func, "args": args});
        let mut results = self.run(cmd, COMMAND_TIMEOUT).await?;
        results
            .pop()
            .ok_or_else(|| self.fail(&format!("no result for {func}")))
    }

    /// Calls an SDK core function and insists on errCode 0; returns the callback's data.
    pub async fn sdk(&mut self, func: &str, args: Value) -> anyhow::Result<Value> {
        let r = self.sdk_result(func, args.clone()).await?;
        if r["code"] != 0 {
            return Err(self.fail(&format!("{func}({args}) failed: {r}")));
        }
        Ok(r["data"].clone())
    }

    /// Sends one text to a user (`to`) or a group (`group`) and returns the result line without
    /// judging it (for sends the server must refuse).
    pub async fn try_send(&mut self, to: &str, group: &str, text: &str) -> anyhow::Result<Value> {
        let cmd = json!({"op": "send", "to": to, "group": group, "texts": [text]});
        let mut results = self.run(cmd, COMMAND_TIMEOUT).await?;
        results
            .pop()
            .ok_or_else(|| self.fail(&format!("no result for the send of {text}")))
    }

    /// Sends texts to a group; returns each send's result data. Every send must succeed.
    pub async fn send_group_texts(
        &mut self,
        group: &str,
        texts: &[String],
        delay_ms: u64,
    ) -> anyhow::Result<Vec<Value>> {
        let cmd = json!({"op": "send", "group": group, "texts": texts, "delay_ms": delay_ms});
        let results = self.run(cmd, COMMAND_TIMEOUT).await?;
        if let Some(bad) = results.iter().find(|r| r["code"] != 0) {
            return Err(self.fail(&format!("send to group {group} failed: {bad}")));
        }
        Ok(results.into_iter().map(|r| r["data"].clone()).collect())
    }

    /// Every message object delivered by a message event so far that satisfies `pred`,
    /// distinct by clientMsgID, in arrival order.
    pub fn received_where(&self, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for line in &self.lines {
            if line["kind"] != "event" || !is_message_event(&line["event"]) {
                continue;
            }
            let batch = match &line["data"] {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            for m in batch {
                let id = m["clientMsgID"].as_str().unwrap_or_default().to_string();
                if pred(&m) && seen.insert(id) {
                    out.push(m);
                }
            }
        }
        out
    }

    /// Messages received in group `group` (any content type), in arrival order.
    pub fn received_in_group(&self, group: &str) -> Vec<Value> {
        self.received_where(|m| m["groupID"] == group)
    }

    /// Waits until `count` distinct received messages satisfy `pred`; returns them.
    pub async fn wait_received(
        &mut self,
        what: &str,
        count: usize,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Vec<Value>> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received_where(&pred);
            if got.len() >= count {
                return Ok(got);
            }
            if let Err(e) = self.next_line(deadline).await {
                let texts: Vec<String> = got.iter().map(summary).collect();
                return Err(self.fail(&format!(
                    "waiting for {count} messages ({what}), got {}: {texts:?}: {e:#}",
                    got.len()
                )));
            }
        }
    }

    /// Reads driver lines for `period` (events keep arriving in `lines`); for checks that
    /// something does NOT happen within a bounded time.
    pub async fn idle(&mut self, period: Duration) {
        let deadline = Instant::now() + period;
        while !self.ended && self.next_line(deadline).await.is_ok() {}
    }

    /// The data of every event number `event` seen so far.
    pub fn events(&self, event: i64) -> Vec<Value> {
        self.lines
            .iter()
            .filter(|l| l["kind"] == "event" && l["event"] == event)
            .map(|l| l["data"].clone())
            .collect()
    }

    /// Messages received from `from` so far (every message event), distinct by clientMsgID, in
    /// arrival order.
    pub fn received_from(&self, from: &str) -> Vec<Value> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for line in &self.lines {
            if line["kind"] != "event" || !is_message_event(&line["event"]) {
                continue;
            }
            let batch = match &line["data"] {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            for m in batch {
                let id = m["clientMsgID"].as_str().unwrap_or_default().to_string();
                if m["sendID"] == from && seen.insert(id) {
                    out.push(m);
                }
            }
        }
        out
    }

    /// Waits until `count` distinct messages from `from` arrived; returns them.
    pub async fn wait_messages(
        &mut self,
        from: &str,
        count: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<Value>> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received_from(from);
            if got.len() >= count {
                return Ok(got);
            }
            if let Err(e) = self.next_line(deadline).await {
                let texts: Vec<String> = got.iter().map(summary).collect();
                return Err(self.fail(&format!(
                    "waiting for {count} messages from {from}, got {}: {texts:?}: {e:#}",
                    got.len()
                )));
            }
        }
    }

    async fn next_line(&mut self, deadline: Instant) -> anyhow::Result<()> {
        if self.ended {
            bail!("the driver process already ended");
        }
        match tokio::time::timeout_at(deadline, self.rx.recv()).await {
            Err(_) => bail!("timed out"),
            Ok(None) => {
                self.ended = true;
                bail!("the driver process ended (stdout closed)")
            }
            Ok(Some(v)) => {
                if matches!(v["kind"].as_str(), Some("deadline" | "exit" | "uncaught")) {
                    self.ended = true;
                }
                self.lines.push(v);
                Ok(())
            }
        }
    }

    /// An error naming this client, with the end of what it printed and of its SDK log.
    pub fn fail(&self, msg: &str) -> anyhow::Error {
        anyhow!(
            "{} ({:?}, user {}): {msg}\n--- last driver lines ---\n{}\n--- SDK log problems ({}) ---\n{}",
            self.name,
            self.kind,
            self.user,
            self.recent_lines(12),
            self.log_path.display(),
            log_problems(&self.log_path, 40),
        )
    }

    fn recent_lines(&self, n: usize) -> String {
        let skip = self.lines.len().saturating_sub(n);
        self.lines[skip..]
            .iter()
            .map(|v| clip(&v.to_string(), 400))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.passed {
            eprintln!(
                "=== {} ({:?}, user {}) did not pass; log {} ===\n{}\n{}",
                self.name,
                self.kind,
                self.user,
                self.log_path.display(),
                self.recent_lines(20),
                log_problems(&self.log_path, 40)
            );
        }
    }
}

/// True for the message events of either client.
pub fn is_message_event(ev: &Value) -> bool {
    match ev {
        Value::Number(n) => matches!(n.as_i64(), Some(32 | 39 | 41 | 42)),
        Value::String(s) => matches!(
            s.as_str(),
            "OnRecvNewMessages"
                | "OnRecvNewMessage"
                | "onRecvOfflineNewMessages"
                | "onRecvOfflineNewMessage"
        ),
        _ => false,
    }
}

fn is_result(v: &Value, op: &str) -> bool {
    v["kind"] == "result" && v["op"] == op
}

/// `seq:text` of a message object, for failure messages.
pub fn summary(m: &Value) -> String {
    format!(
        "{}:{}",
        m["seq"],
        m["textElem"]["content"].as_str().unwrap_or("?")
    )
}

fn clip(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The last `n` lines of an SDK log that report a problem (errors, warnings, failed calls).
fn log_problems(path: &Path, n: usize) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return String::from("(no log)");
    };
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("ERROR")
                || l.contains("WARN")
                || l.contains("errCode")
                || l.contains("error")
                || l.contains("UNCAUGHT")
        })
        .collect();
    let skip = lines.len().saturating_sub(n);
    lines[skip..]
        .iter()
        .map(|l| clip(l, 600))
        .collect::<Vec<_>>()
        .join("\n")
}
