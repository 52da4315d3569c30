//! Settings of a `rill` process: built-in defaults (OpenIM 3.8's), then an optional YAML file,
//! then `RILL_*` environment variables (`RILL_REDIS_URL`, `RILL_APP__SECRET`, ...).

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub redis_url: String,
    pub mongodb_uri: String,
    pub mongodb_database: String,
    /// Path of the stream topology file.
    pub streams: PathBuf,
    /// REST API listen address (OpenIM default :10002).
    pub api_listen: SocketAddr,
    /// WebSocket gateway listen address (OpenIM default :10001).
    pub ws_listen: SocketAddr,
    pub log_format: LogFormat,
    /// OTLP endpoint; tracing export is on only when set.
    pub otlp_endpoint: Option<String>,
    /// Seconds `serve` waits for tasks to finish after a shutdown signal.
    pub shutdown_deadline_secs: u64,
    #[serde(skip_serializing)]
    pub app: rill_app::AppConfig,
    #[serde(skip_serializing)]
    pub api: rill_api::Config,
    #[serde(skip_serializing)]
    pub gateway: rill_gateway::Config,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            redis_url: "redis://127.0.0.1:6380/".into(),
            mongodb_uri: "mongodb://127.0.0.1:27018/?directConnection=true".into(),
            mongodb_database: "rill".into(),
            streams: PathBuf::from("streams.yaml"),
            api_listen: SocketAddr::from(([0, 0, 0, 0], 10002)),
            ws_listen: SocketAddr::from(([0, 0, 0, 0], 10001)),
            log_format: LogFormat::Pretty,
            otlp_endpoint: None,
            shutdown_deadline_secs: 10,
            app: rill_app::AppConfig::default(),
            api: rill_api::Config::default(),
            gateway: rill_gateway::Config::default(),
        }
    }
}

impl Settings {
    /// Defaults, then `file` (if given), then `RILL_*` env (`__` separates nested keys).
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(f) = file {
            fig = fig.merge(serde_saphyr::figment::Yaml::file(f));
        }
        fig.merge(Env::prefixed("RILL_").split("__"))
            .extract()
            .map_err(Box::new)
    }
}
