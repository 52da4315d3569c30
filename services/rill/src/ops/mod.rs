//! The operator CLI: `rill streams status`, `rill replay`, `rill rebuild`, `rill dead-letters`,
//! `rill trim`. Each subcommand is a thin printer over a library function in its own file, so
//! tests (and other tools) run exactly what the CLI runs. Projections are never
//! re-implemented here: replay moves a group and lets the workers re-project; rebuild and
//! dead-letter retry call `rill_history::project` / `rill_readmodel::project`.

pub mod dead_letters;
pub mod rebuild;
pub mod replay;
pub mod streams;
pub mod trim;

#[cfg(test)]
pub(crate) mod testenv;

use crate::settings::Settings;
use anyhow::Context as _;
use clap::Subcommand;
use rill_log::{Log, Topology};

/// Operator subcommands (the `rill` binary flattens these into its own).
#[derive(Debug, Subcommand)]
pub enum OpsCommand {
    /// Partition logs and consumer groups.
    Streams {
        #[command(subcommand)]
        command: streams::StreamsCommand,
    },
    /// Moves a consumer group back (or forward) so its workers re-project from there.
    Replay(replay::ReplayArgs),
    /// Rebuilds a projection from the conversation streams and MongoDB (resumable).
    Rebuild(rebuild::RebuildArgs),
    /// Entries a consumer group gave up on.
    DeadLetters {
        #[command(subcommand)]
        command: dead_letters::DeadLettersCommand,
    },
    /// Trims the partition logs by age now (never past what a group still needs).
    Trim(trim::TrimArgs),
}

/// Runs one operator command against the deployment `settings` point at.
pub async fn run(cmd: OpsCommand, settings: &Settings) -> anyhow::Result<()> {
    let log = connect_log(settings).await?;
    match cmd {
        OpsCommand::Streams { command } => streams::run(command, &log).await,
        OpsCommand::Replay(args) => replay::run(args, &log).await,
        OpsCommand::Rebuild(args) => {
            let db = connect_db(settings).await?;
            rebuild::run(args, &log, &db).await
        }
        OpsCommand::DeadLetters { command } => {
            let db = connect_db(settings).await?;
            dead_letters::run(command, &log, &db).await
        }
        OpsCommand::Trim(args) => trim::run(args, &log).await,
    }
}

/// The log of the deployment (checks the recorded partition count like every process).
pub async fn connect_log(settings: &Settings) -> anyhow::Result<Log> {
    let topology = Topology::load(&settings.streams)
        .with_context(|| format!("loading {}", settings.streams.display()))?;
    let client = rill_log::redis_client(&settings.redis_url).context("redis url")?;
    Log::connect(client, topology)
        .await
        .context("connecting to redis")
}

async fn connect_db(settings: &Settings) -> anyhow::Result<mongodb::Database> {
    let store = rill_store::Store::connect(&settings.mongodb_uri, &settings.mongodb_database)
        .await
        .context("mongodb uri")?;
    store
        .ensure_indexes()
        .await
        .context("connecting to mongodb")?;
    Ok(store.database().clone())
}

/// Prints `value` as pretty JSON on stdout.
fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
