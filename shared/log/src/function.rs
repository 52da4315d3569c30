//! The versioned Redis Function library (`lua/rill.lua`): loading it and naming its functions.
//!
//! Redis ≥ 7.0 is required (functions, `XADD 0-*`, XAUTOCLAIM); there is no EVAL fallback.

use crate::LogError;
use redis::aio::ConnectionManager;

/// The library source. Its first line names the library (`#!lua name=rill_v1`).
pub(crate) const LIBRARY: &str = include_str!("lua/rill.lua");

/// The library name; bump it (and every function name) when the Lua changes.
pub const LIBRARY_NAME: &str = "rill_v1";

pub(crate) const FN_APPEND: &str = "rill_v1_append";
pub(crate) const FN_MAX_SEQS: &str = "rill_v1_max_seqs";
pub(crate) const FN_SEQ_FLOOR: &str = "rill_v1_seq_floor";

/// `FUNCTION LOAD REPLACE`: idempotent, so every process loads it at start (and again when a
/// Redis without persistence comes back empty).
pub(crate) async fn load(conn: &mut ConnectionManager) -> Result<(), LogError> {
    let loaded: Result<String, redis::RedisError> = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg("REPLACE")
        .arg(LIBRARY)
        .query_async(conn)
        .await;
    match loaded {
        Ok(_) => Ok(()),
        Err(e) if is_unknown_command(&e) => Err(LogError::Reply(format!(
            "Redis >= 7.0 is required (Redis Functions, XADD 0-*): {e}"
        ))),
        Err(e) => Err(e.into()),
    }
}

fn is_unknown_command(e: &redis::RedisError) -> bool {
    e.to_string()
        .to_ascii_lowercase()
        .contains("unknown command")
}

/// Redis answers FCALL of an unloaded function with "ERR Function not found".
pub(crate) fn is_function_missing(e: &redis::RedisError) -> bool {
    e.to_string().contains("Function not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_header_and_functions_carry_the_version() {
        let first = LIBRARY.lines().next().unwrap_or_default();
        assert_eq!(first, format!("#!lua name={LIBRARY_NAME}"));
        for f in [FN_APPEND, FN_MAX_SEQS, FN_SEQ_FLOOR] {
            assert!(f.starts_with(&format!("{LIBRARY_NAME}_")), "{f}");
            assert!(LIBRARY.contains(&format!("'{f}'")), "{f} not registered");
        }
    }
}
