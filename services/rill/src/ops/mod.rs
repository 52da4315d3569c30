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

#[cfg(test)]
mod tests {
    use super::OpsCommand;
    use clap::{CommandFactory, Parser};

    /// How the `rill` binary embeds the operator commands.
    #[derive(Debug, Parser)]
    #[command(name = "rill")]
    struct Cli {
        #[command(subcommand)]
        command: Top,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Top {
        Serve,
        #[command(flatten)]
        Ops(OpsCommand),
    }

    fn parse(args: &str) -> Result<OpsCommand, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("rill").chain(args.split_whitespace()))?;
        match cli.command {
            Top::Ops(cmd) => Ok(cmd),
            Top::Serve => Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand)),
        }
    }

    #[test]
    fn the_cli_shapes_parse() -> Result<(), clap::Error> {
        Cli::command().debug_assert();
        assert!(matches!(
            parse("streams status --json")?,
            OpsCommand::Streams {
                command: super::streams::StreamsCommand::Status { json: true }
            }
        ));
        match parse("replay --group history --from 0 --partitions 1,3 --force")? {
            OpsCommand::Replay(a) => {
                assert_eq!(
                    (a.group.as_str(), a.from.as_str(), a.partitions, a.force),
                    ("history", "0", vec![1, 3], true)
                );
            }
            other => panic!("{other:?}"),
        }
        match parse("rebuild readmodel --conversation si_a_b --conversation sg_1")? {
            OpsCommand::Rebuild(a) => {
                assert_eq!(a.target, super::rebuild::Target::Readmodel);
                assert_eq!(a.conversations, vec!["si_a_b", "sg_1"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("dead-letters list --group push")?,
            OpsCommand::DeadLetters { .. }
        ));
        assert!(matches!(
            parse("dead-letters retry --group history --id 1-0")?,
            OpsCommand::DeadLetters { .. }
        ));
        match parse("trim --retention 36h --exact")? {
            OpsCommand::Trim(a) => {
                assert_eq!(a.retention, Some(std::time::Duration::from_secs(36 * 3600)))
            }
            other => panic!("{other:?}"),
        }
        assert!(parse("replay --from 0").is_err(), "--group is required");
        Ok(())
    }
}
