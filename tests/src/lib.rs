//! End-to-end test support (the tests live in tests/tests): the REST bootstrap a deployment does
//! before clients log in, the drivers of the official OpenIM clients (tests/sdk), and an
//! in-process Rill on private Redis/Mongo.

pub mod clients;
pub mod driver;
pub mod events;
pub mod rest;
pub mod scenario;
pub mod server;

pub use clients::{Clients, require};
pub use driver::{Driver, Kind, Spec};
pub use rest::Rest;
pub use server::Rill;
