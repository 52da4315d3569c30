//! Dev-only: real `redis-server` and MongoDB-wire servers on free loopback ports, so tests run
//! against the real thing and never against the machine's Redis on 6379.
//!
//! Every server runs under a tiny `sh` watchdog (see [`process`]) that kills it when the test
//! process goes away, even when no destructor runs (statics, SIGKILL, nextest timeouts).

mod mongo_install;
mod mongo_server;
mod names;
mod ports;
mod process;
mod redis_server;
mod workspace;

pub use mongo_server::{MongoEngine, MongoServer};
pub use names::unique_name;
pub use redis_server::RedisServer;
pub use workspace::workspace_root;
