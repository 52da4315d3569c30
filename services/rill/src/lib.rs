//! The `rill` binary as a library: settings, the in-process starter used by `rill serve` and by
//! the end-to-end tests, the operator CLI and the load tool.

pub mod bench;
pub mod ops;
pub mod serve;
pub mod settings;

pub use serve::{Running, ServeOptions, Service, start};
pub use settings::Settings;
