use std::path::{Path, PathBuf};

/// The Rill workspace root: the nearest ancestor of this crate holding a `Cargo.toml` with a
/// `[workspace]` table. `.tools/` and `scripts/` live there.
pub fn workspace_root() -> anyhow::Result<PathBuf> {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in start.ancestors() {
        let manifest = dir.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest)
            && text.lines().any(|l| l.trim() == "[workspace]")
        {
            return Ok(dir.to_path_buf());
        }
    }
    anyhow::bail!("no workspace Cargo.toml above {}", start.display())
}

/// Finds an executable on PATH.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_workspace() -> anyhow::Result<()> {
        let root = super::workspace_root()?;
        assert!(root.join("shared/testkit/Cargo.toml").is_file());
        Ok(())
    }
}
