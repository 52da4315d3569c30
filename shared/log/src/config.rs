//! `streams.yaml`: the stream topology, loaded with figment + serde-saphyr and validated.
//!
//! Every error names the field it is about (`groups.push.block: ...`), because an operator reads
//! it in a start-up log, not in a debugger.

use crate::error::LogError;
use figment::Figment;
use figment::providers::Format;
use serde_saphyr::figment::Yaml;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Settings of one consumer group.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// At most this many entries per handler call; also the XREADGROUP COUNT (which Redis
    /// applies per partition).
    pub batch_size: usize,
    /// XREADGROUP BLOCK time; also bounds how long a graceful shutdown waits for a read.
    #[serde(with = "humantime_serde")]
    pub block: Duration,
    /// A pending entry idle longer than this is taken over by another consumer (XAUTOCLAIM).
    #[serde(with = "humantime_serde")]
    pub claim_idle: Duration,
    /// After this many failed deliveries an entry moves to the group's dead-letter stream.
    pub max_deliveries: u64,
    /// After a read that did not fill a batch, the next read waits until this long after the
    /// last one began, so entries arriving meanwhile are handled together: a projection whose
    /// cost is per conversation (the read model) or per round trip (history) then does less
    /// work per entry. 0 (the default) reads again at once, as a latency-bound group must.
    #[serde(with = "humantime_serde", default)]
    pub linger: Duration,
}

/// The whole topology.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    pub partitions: u32,
    pub key_prefix: String,
    /// Entries kept per conversation stream (the pull cache; older seqs come from Mongo).
    pub hot_window: u64,
    #[serde(with = "humantime_serde")]
    pub log_retention: Duration,
    #[serde(with = "humantime_serde")]
    pub dedup_window: Duration,
    pub groups: BTreeMap<String, GroupConfig>,
}

/// The group names the services use.
pub const GROUP_HISTORY: &str = "history";
pub const GROUP_PUSH: &str = "push";
pub const GROUP_READMODEL: &str = "readmodel";

/// Redis Cluster has 16384 slots; more partitions than slots buys nothing.
const MAX_PARTITIONS: u32 = 16384;

impl Default for Topology {
    /// The same values as the shipped `streams.yaml` (a unit test keeps them equal), for tests
    /// and tools that run without a file.
    fn default() -> Self {
        let group = |batch_size, linger_ms| GroupConfig {
            batch_size,
            block: Duration::from_millis(200),
            claim_idle: Duration::from_secs(30),
            max_deliveries: 5,
            linger: Duration::from_millis(linger_ms),
        };
        let groups = [
            (GROUP_HISTORY, 256, 20),
            (GROUP_PUSH, 512, 0),
            (GROUP_READMODEL, 256, 100),
        ]
        .into_iter()
        .map(|(name, batch, linger)| (name.to_string(), group(batch, linger)))
        .collect();
        Self {
            partitions: 16,
            key_prefix: "rill".to_string(),
            hot_window: 5000,
            log_retention: Duration::from_secs(7 * 24 * 3600),
            dedup_window: Duration::from_secs(24 * 3600),
            groups,
        }
    }
}

impl Topology {
    pub fn load(path: &Path) -> Result<Self, LogError> {
        if !path.is_file() {
            return Err(LogError::Config(format!(
                "{}: no such file",
                path.display()
            )));
        }
        Self::extract(Figment::from(Yaml::file_exact(path)))
            .map_err(|e| LogError::Config(format!("{}: {e}", path.display())))
    }

    pub fn from_yaml_str(yaml: &str) -> Result<Self, LogError> {
        Self::extract(Figment::from(Yaml::string(yaml))).map_err(LogError::Config)
    }

    pub fn group(&self, name: &str) -> Option<&GroupConfig> {
        self.groups.get(name)
    }

    /// The same topology under another key prefix (tests give each case its own prefix).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    fn extract(figment: Figment) -> Result<Self, String> {
        let topology: Topology = figment.extract().map_err(describe)?;
        topology.validate()?;
        Ok(topology)
    }

    /// Checks what serde cannot: ranges and the characters a key prefix may hold.
    pub fn validate(&self) -> Result<(), String> {
        if self.partitions == 0 || self.partitions > MAX_PARTITIONS {
            return Err(format!(
                "partitions: must be between 1 and {MAX_PARTITIONS}, got {}",
                self.partitions
            ));
        }
        if self.key_prefix.is_empty() {
            return Err("key_prefix: must not be empty".into());
        }
        // Braces would create a second hash tag and split a partition across cluster slots.
        if let Some(c) = self
            .key_prefix
            .chars()
            .find(|c| matches!(c, '{' | '}') || c.is_whitespace())
        {
            return Err(format!("key_prefix: must not contain {c:?}"));
        }
        if self.hot_window == 0 {
            return Err("hot_window: must be at least 1".into());
        }
        if self.log_retention.is_zero() {
            return Err("log_retention: must be greater than zero".into());
        }
        if self.dedup_window < Duration::from_millis(1) {
            return Err("dedup_window: must be at least 1ms".into());
        }
        if self.groups.is_empty() {
            return Err("groups: at least one consumer group is required".into());
        }
        for (name, g) in &self.groups {
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(format!("groups: invalid group name {name:?}"));
            }
            let field = |f: &str| format!("groups.{name}.{f}");
            if g.batch_size == 0 {
                return Err(format!("{}: must be at least 1", field("batch_size")));
            }
            // BLOCK 0 means "block forever" to Redis: a worker could then never shut down.
            if g.block < Duration::from_millis(1) {
                return Err(format!("{}: must be at least 1ms", field("block")));
            }
            if g.claim_idle < Duration::from_millis(1) {
                return Err(format!("{}: must be at least 1ms", field("claim_idle")));
            }
            if g.max_deliveries == 0 {
                return Err(format!("{}: must be at least 1", field("max_deliveries")));
            }
            // Longer than claim_idle, a lingering consumer's entries would look abandoned.
            if g.linger >= g.claim_idle {
                return Err(format!(
                    "{}: must be shorter than claim_idle",
                    field("linger")
                ));
            }
        }
        Ok(())
    }
}

/// Renders figment's errors as `path.to.field: what went wrong`, one per line.
fn describe(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| {
            let kind = e.kind.to_string();
            if e.path.is_empty() {
                kind
            } else {
                format!("{}: {kind}", e.path.join("."))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const GOOD: &str = "
partitions: 4
key_prefix: t
hot_window: 100
log_retention: 1h
dedup_window: 10m
groups:
  history: { batch_size: 10, block: 100ms, claim_idle: 5s, max_deliveries: 3 }
";

    fn err(yaml: &str) -> String {
        match Topology::from_yaml_str(yaml) {
            Ok(t) => panic!("accepted: {t:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_good_file() {
        let t = Topology::from_yaml_str(GOOD).unwrap();
        assert_eq!(t.partitions, 4);
        assert_eq!(t.log_retention, Duration::from_secs(3600));
        let g = t.group("history").unwrap();
        assert_eq!(g.block, Duration::from_millis(100));
        assert_eq!(g.max_deliveries, 3);
        assert_eq!(g.linger, Duration::ZERO, "linger defaults to none");
        assert!(t.group("push").is_none());
        let t = Topology::from_yaml_str(
            &GOOD.replace("max_deliveries: 3", "max_deliveries: 3, linger: 50ms"),
        )
        .unwrap();
        assert_eq!(
            t.group("history").unwrap().linger,
            Duration::from_millis(50)
        );
    }

    #[test]
    fn shipped_streams_yaml_matches_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../streams.yaml");
        let t = Topology::load(&path).unwrap();
        assert_eq!(t, Topology::default());
    }

    #[test]
    fn missing_field_is_named() {
        let e = err(&GOOD.replace("partitions: 4\n", ""));
        assert!(e.contains("missing field `partitions`"), "{e}");
        let e = err(&GOOD.replace("block: 100ms, ", ""));
        assert!(e.contains("groups.history") && e.contains("`block`"), "{e}");
    }

    #[test]
    fn zero_partitions_refused() {
        let e = err(&GOOD.replace("partitions: 4", "partitions: 0"));
        assert!(e.starts_with("streams.yaml: partitions:"), "{e}");
    }

    #[test]
    fn bad_duration_is_named() {
        let e = err(&GOOD.replace("log_retention: 1h", "log_retention: 7 fortnights"));
        assert!(e.contains("log_retention"), "{e}");
        let e = err(&GOOD.replace("claim_idle: 5s", "claim_idle: soon"));
        assert!(e.contains("groups.history.claim_idle"), "{e}");
    }

    #[test]
    fn range_checks_name_the_field() {
        assert!(
            err(&GOOD.replace("batch_size: 10", "batch_size: 0"))
                .contains("groups.history.batch_size")
        );
        assert!(err(&GOOD.replace("block: 100ms", "block: 0s")).contains("groups.history.block"));
        assert!(
            err(&GOOD.replace("max_deliveries: 3", "max_deliveries: 0")).contains("max_deliveries")
        );
        assert!(err(&GOOD.replace("hot_window: 100", "hot_window: 0")).contains("hot_window"));
        assert!(
            err(&GOOD.replace("max_deliveries: 3", "max_deliveries: 3, linger: 5s"))
                .contains("groups.history.linger")
        );
        assert!(err(&GOOD.replace("key_prefix: t", "key_prefix: 'a{b}'")).contains("key_prefix"));
        assert!(err(&GOOD.replace("partitions: 4", "partitions: -3")).contains("partitions"));
    }

    #[test]
    fn unknown_field_refused() {
        let e = err(&format!("{GOOD}partitons: 3\n"));
        assert!(e.contains("partitons"), "{e}");
    }

    #[test]
    fn missing_file_is_clear() {
        let e = Topology::load(Path::new("/nonexistent/streams.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/streams.yaml"), "{e}");
    }
}
