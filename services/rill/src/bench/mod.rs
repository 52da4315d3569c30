//! `rill bench …`: a load generator that speaks the real protocol (gob+gzip like the Go SDK
//! core, or JSON like the JS SDK), registers its users over REST, and reports throughput and
//! latency percentiles. Scenarios: `send`, `fanout`, `connections`, `ceiling`, and `suite` (all
//! of them against one server, printed as one table with ratios to the ceiling).
//!
//! Loops are bounded in count and time; targets are loopback only.

pub mod ceiling;
pub mod client;
pub mod conn;
pub mod connections;
pub mod cpu;
pub mod fanout;
pub mod frame;
pub mod gob;
pub mod lag;
pub mod msgs;
pub mod progress;
pub mod report;
pub mod rest;
pub mod send;
pub mod setup;
pub mod stats;
pub mod suite;
pub mod target;

pub use target::{Target, TargetArgs};

/// Boxed fields keep `rill`'s command enum small (clippy::large_enum_variant).
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub target: Box<TargetArgs>,
    #[command(subcommand)]
    pub scenario: Box<Scenario>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Scenario {
    /// One-to-one messages: N connected users, M senders, closed loop or at a target rate.
    Send(send::SendArgs),
    /// One group, all members online: send→last-member-delivered latency, deliveries/s.
    Fanout(fanout::FanoutArgs),
    /// C idle, heartbeated connections on one gateway: server RSS per connection.
    Connections(connections::ConnectionsArgs),
    /// The log's physical limit on this Redis: Log::append and raw XADD.
    Ceiling(ceiling::CeilingArgs),
    /// Everything above against one server, one table.
    Suite(suite::SuiteArgs),
}

/// Entry point of `rill bench`.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    // Latency stamps count from here.
    stats::epoch();
    let target = Target::resolve(&args.target).await?;
    let result = run_on(&target, &args.scenario).await;
    let stopped = target.shutdown().await;
    result?;
    stopped
}

/// Runs one scenario (or the suite) against `target`, printing its details and the table.
pub async fn run_on(target: &Target, scenario: &Scenario) -> anyhow::Result<()> {
    let rows = match scenario {
        Scenario::Send(a) => {
            let r = send::run(target, a).await?;
            println!("{r}");
            r.rows(None)
        }
        Scenario::Fanout(a) => {
            let r = fanout::run(target, a).await?;
            println!("{r}");
            r.rows(None)
        }
        Scenario::Connections(a) => {
            let r = connections::run(target, a).await?;
            println!("{r}");
            r.rows()
        }
        Scenario::Ceiling(a) => {
            let r = ceiling::run(target, a).await?;
            println!("{r}");
            r.rows()
        }
        Scenario::Suite(a) => suite::run(target, a).await?,
    };
    println!("{}", suite::header(target));
    print!("{}", report::table(&rows));
    Ok(())
}
