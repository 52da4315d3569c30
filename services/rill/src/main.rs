//! `rill`: runs Rill's services and operates its streams. Thin: parse, set up telemetry, call
//! the library.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use rill::serve::{ServeOptions, Service};
use rill::settings::Settings;
use std::path::PathBuf;
use std::time::Duration;

/// mimalloc: the closed-loop send path is malloc-heavy (glibc malloc/free were ~8% of the
/// server's samples); `rill bench send` without projections, A/B in one session: 6,755 and
/// 6,861 msg/s with glibc, 7,878 and 7,469 with mimalloc. It costs ~15 MB more RSS at start.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "rill",
    version,
    about = "OpenIM-compatible IM server on Redis Streams"
)]
struct Cli {
    /// YAML settings file (defaults, then this file, then RILL_* env).
    #[arg(long, global = true, env = "RILL_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run services in the foreground (all of them when none is named).
    Serve {
        #[arg(value_enum)]
        services: Vec<Service>,
    },
    /// Load generator: send, fanout, connections, ceiling, suite.
    Bench(rill::bench::BenchArgs),
    #[command(flatten)]
    Ops(rill::ops::OpsCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref()).context("loading settings")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        // Telemetry is set up inside the runtime: the OTLP exporter's channel needs it.
        let _telemetry = init_telemetry(&settings)?;
        match cli.command {
            Command::Serve { services } => serve(settings, services).await,
            Command::Bench(args) => rill::bench::run(args).await,
            Command::Ops(cmd) => rill::ops::run(cmd, &settings).await,
        }
    })
}

fn init_telemetry(settings: &Settings) -> anyhow::Result<rill_telemetry::TelemetryGuard> {
    let format = match settings.log_format {
        rill::settings::LogFormat::Pretty => rill_telemetry::Format::Pretty,
        rill::settings::LogFormat::Json => rill_telemetry::Format::Json,
    };
    let mut config = rill_telemetry::TelemetryConfig::new("rill", format);
    // The binary is the one place that reads the process environment for telemetry.
    config.filter = std::env::var("RUST_LOG").ok();
    config.otlp_endpoint = settings
        .otlp_endpoint
        .clone()
        .or_else(|| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok());
    rill_telemetry::init(config).context("setting up telemetry")
}

async fn serve(settings: Settings, services: Vec<Service>) -> anyhow::Result<()> {
    let topology = rill_log::Topology::load(&settings.streams)
        .with_context(|| format!("loading {}", settings.streams.display()))?;
    let mut opts = ServeOptions::new(
        settings.redis_url.clone(),
        settings.mongodb_uri.clone(),
        settings.mongodb_database.clone(),
        topology,
    );
    opts.app = settings.app.clone();
    opts.api = settings.api.clone();
    opts.gateway = settings.gateway.clone();
    opts.api_addr = settings.api_listen;
    opts.ws_addr = settings.ws_listen;
    if !services.is_empty() {
        opts.services = services;
    }
    let running = rill::start(opts).await?;
    tracing::info!(api = ?running.api_addr, ws = ?running.ws_addr, "rill is serving");
    let token = running.shutdown_token();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("shutdown requested"),
        _ = token.cancelled() => tracing::warn!("a service stopped; shutting down"),
    }
    running
        .stop_within(Duration::from_secs(settings.shutdown_deadline_secs))
        .await
}
