use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name unique across test processes and within one: `<prefix>_<pid>_<time>_<n>`, restricted
/// to `[A-Za-z0-9_]` and short enough for a MongoDB database name (< 64 bytes).
pub fn unique_name(prefix: &str) -> String {
    let clean: String = prefix
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(24)
        .collect();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{clean}_{}_{nanos:x}_{n}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differ_and_are_clean() {
        let a = unique_name("my-test.db");
        let b = unique_name("my-test.db");
        assert_ne!(a, b);
        assert!(a.starts_with("my_test_db_"));
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert!(unique_name(&"x".repeat(200)).len() < 64);
    }
}
