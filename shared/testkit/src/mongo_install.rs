//! On-demand install of SecantusDB: `secantusd-py` into `<workspace>/.tools/mongo-venv` (tests),
//! `secantusd-rs` into `<workspace>/.tools/bin` (benchmarks).
//!
//! The install itself lives in `scripts/lib/deps.sh` (shared with run.sh and test.sh, so it is
//! written once); that script serialises concurrent installers from parallel test processes with
//! `flock` and writes the ready marker last.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::workspace::workspace_root;

pub(crate) async fn secantusd() -> anyhow::Result<PathBuf> {
    let root = workspace_root()?;
    let venv = root.join(".tools/mongo-venv");
    let bin = venv.join("bin/secantusd-py");
    if venv.join(".rill-ready").is_file() && bin.is_file() {
        return Ok(bin);
    }
    install(&root, "mongo-venv", &bin).await?;
    Ok(bin)
}

/// `secantusd-rs` in `<workspace>/.tools/bin`, built by `deps.sh secantus-rs` when missing.
pub(crate) async fn secantusd_rs() -> anyhow::Result<PathBuf> {
    let root = workspace_root()?;
    let bin = root.join(".tools/bin/secantusd-rs");
    if !bin.is_file() {
        install(&root, "secantus-rs", &bin).await?;
    }
    Ok(bin)
}

/// Runs `scripts/lib/deps.sh <what>` and checks that it produced `bin`.
async fn install(root: &std::path::Path, what: &str, bin: &std::path::Path) -> anyhow::Result<()> {
    let script = root.join("scripts/lib/deps.sh");
    let out = tokio::process::Command::new("bash")
        .arg(&script)
        .arg(what)
        .env("RILL_ROOT", root)
        .current_dir(root)
        .output()
        .await
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() || !bin.is_file() {
        anyhow::bail!(
            "installing SecantusDB ({what}) failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
