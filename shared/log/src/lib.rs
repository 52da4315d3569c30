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

pub use config::Topology;
pub use consumer::{BatchOutcome, Handler, LogEntry};
pub use error::LogError;
pub use event::{Envelope, Event, TraceContext};
pub use keys::Keys;
pub use log::{Appended, Log, StoredEntry, redis_client};
