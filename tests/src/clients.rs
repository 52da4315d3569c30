//! Where the official clients are on this machine, and whether a test may skip without them.
//!
//! `scripts/sdk-fetch.sh` puts both under `target/openim-clients/`. If they are missing the first
//! test that asks runs that script once (it needs npm and the npm registry). A test skips only
//! when a client is still unavailable AND `CI` is unset; under CI a missing client is a failure.

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Paths of the two clients and the interpreters that run their drivers.
#[derive(Debug, Clone)]
pub struct Clients {
    /// `libopenimsdk.so` (the Go SDK core), when present.
    pub core_lib: Option<PathBuf>,
    /// The folder whose `node_modules` holds `@openim/client-sdk`, when present.
    pub js_dir: Option<PathBuf>,
    pub python: Option<PathBuf>,
    pub node: Option<PathBuf>,
    /// Folder of the driver scripts (`tests/sdk`).
    pub drivers: PathBuf,
    /// Why something is missing (for the skip message).
    pub problems: Vec<String>,
}

impl Clients {
    /// Locates everything, fetching the clients once per process when absent.
    pub fn get() -> &'static Clients {
        static CLIENTS: OnceLock<Clients> = OnceLock::new();
        CLIENTS.get_or_init(Clients::locate)
    }

    fn locate() -> Clients {
        let root = rill_testkit::workspace_root().unwrap_or_else(|_| PathBuf::from("."));
        let dir = std::env::var_os("RILL_OPENIM_CLIENTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/openim-clients"));
        let lib = dir.join("package/assets/linux_x64/libopenimsdk.so");
        let js = dir.join("js");
        let js_pkg = js.join("node_modules/@openim/client-sdk/package.json");
        let mut problems = Vec::new();
        if (!lib.is_file() || !js_pkg.is_file())
            && let Err(e) = fetch(&root, &dir)
        {
            problems.push(format!("scripts/sdk-fetch.sh failed: {e:#}"));
        }
        let core_lib = lib.is_file().then_some(lib.clone());
        if core_lib.is_none() {
            problems.push(format!("no SDK core library at {}", lib.display()));
        }
        let js_dir = js_pkg.is_file().then_some(js);
        if js_dir.is_none() {
            problems.push(format!("no @openim/client-sdk at {}", js_pkg.display()));
        }
        let python = which("python3");
        if python.is_none() {
            problems.push("no python3 on PATH".into());
        }
        let node = which("node");
        if node.is_none() {
            problems.push("no node on PATH".into());
        }
        Clients {
            core_lib,
            js_dir,
            python,
            node,
            drivers: root.join("tests/sdk"),
            problems,
        }
    }

    /// True when the SDK core can be driven.
    pub fn has_core(&self) -> bool {
        self.core_lib.is_some() && self.python.is_some()
    }

    /// True when the pure-JS SDK can be driven.
    pub fn has_js(&self) -> bool {
        self.js_dir.is_some() && self.node.is_some()
    }
}

/// Decides for a test that needs the listed clients: `Ok(true)` run, `Ok(false)` skip (message
/// printed), `Err` when a client is missing under CI.
pub fn require(test: &str, core: bool, js: bool) -> anyhow::Result<bool> {
    let c = Clients::get();
    if (!core || c.has_core()) && (!js || c.has_js()) {
        return Ok(true);
    }
    let why = c.problems.join("; ");
    let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
    if ci {
        bail!("{test}: official OpenIM client unavailable under CI: {why}");
    }
    println!("SKIP {test}: official OpenIM client unavailable (run scripts/sdk-fetch.sh): {why}");
    Ok(false)
}

fn fetch(root: &Path, dir: &Path) -> anyhow::Result<()> {
    let script = root.join("scripts/sdk-fetch.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(dir)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
