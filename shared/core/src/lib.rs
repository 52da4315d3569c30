//! Domain types and rules of Rill, with no I/O: ids and conversation-id rules, session and
//! content types, platforms, message options, OpenIM error codes and the stored message shape.
//!
//! Everything here is pure and cheap so every other crate may depend on it.

pub mod code;
pub mod conversation;
pub mod entity;
pub mod message;
pub mod options;
pub mod platform;
pub mod types;

pub use code::ErrCode;
pub use conversation::{conversation_id_for, partition_of};
pub use message::{Message, OfflinePushInfo};
pub use platform::Platform;

/// Milliseconds since the Unix epoch, the unit of every OpenIM timestamp.
pub fn now_ms() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
