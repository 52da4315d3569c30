//! The Redis Streams log: topology from `streams.yaml`, key layout, versioned events, the atomic
//! append function, the consumer-group worker runtime, reads from the hot window, retention, and
//! the presence and delivery keys the gateway and push worker meet in.

pub mod config;
pub mod consumer;
pub mod delivery;
pub mod error;
pub mod event;
pub mod function;
pub mod keys;
pub mod log;
pub mod presence;
pub mod replay;
mod reply;
pub mod retention;
pub mod status;
mod worker;

pub use config::Topology;
pub use consumer::{
    BatchOutcome, ConsumerOptions, Handler, LogEntry, default_consumer_name, run_consumer,
    run_consumer_with,
};
pub use error::LogError;
pub use event::{Envelope, Event, TraceContext};
pub use keys::Keys;
pub use log::{Appended, Log, StoredEntry, redis_client};
pub use replay::{Position, set_group_position};
pub use retention::{TrimOptions, TrimReport, run_retention, trim_all, trim_partition};
pub use status::{GroupStatus, group_status};
pub use tokio_util::sync::CancellationToken;
