//! The process tier of the facts a single-chat send checks: the receiver's global recvMsgOpt,
//! its per-conversation recvMsgOpt and the relation facts (blocked, friend). Each is read from
//! Redis on a miss and kept for [`TTL`], so a busy sender's messages cost no Redis round trip
//! before the append (profiled: the three reads were ~9% of the server's CPU in the closed-loop
//! benchmark, and four of Redis's ~15 commands per message).
//!
//! Freshness: every write this process makes drops the entries it touches
//! ([`App::forget_users`](crate::App), `set_recv_opt`, `relations_changed`), so in one process
//! a change applies to the next send. A change made by another process applies within
//! [`TTL`] — OpenIM's own local caches (`local-cache.yml`) are invalidated asynchronously too.
//! A read that began before a local invalidation of its kind is not stored
//! ([`Cache::read_through`]), so a slow read can never put back what a write just dropped.

use lru::LruCache;
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(2);
const CAPACITY: usize = 100_000;

/// One App's process tier, one cache per kind of fact.
#[derive(Default)]
pub struct SendChecks {
    /// user → global recvMsgOpt (registered users only: `None` is never kept).
    pub global_opts: Cache<String, Option<i32>>,
    /// (owner, conversation) → recvMsgOpt (`None`: the default, receive).
    pub conversation_opts: Cache<(String, String), Option<i32>>,
    /// (owner, other, friend list looked up) → (other is blocked, other is a friend).
    pub relations: Cache<(String, String, bool), (bool, bool)>,
}

struct Entries<K: Hash + Eq, V> {
    map: LruCache<K, (V, Instant)>,
    /// Bumped by every forget; a read stores its answer only if it is unchanged.
    epoch: u64,
}

/// Facts of one kind, each kept [`TTL`].
pub struct Cache<K: Hash + Eq, V> {
    entries: Mutex<Entries<K, V>>,
}

impl<K: Hash + Eq, V: Copy> Default for Cache<K, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(Entries {
                map: LruCache::new(NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN)),
                epoch: 0,
            }),
        }
    }
}

impl<K: Hash + Eq, V: Copy> Cache<K, V> {
    fn entries(&self) -> MutexGuard<'_, Entries<K, V>> {
        // A panic while holding the lock cannot leave the map half-updated in a way that matters.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fact of `key`: the kept one if fresh, else `read`'s answer, kept when `keep` says so
    /// and no forget happened while it was read.
    pub async fn read_through<E>(
        &self,
        key: K,
        read: impl Future<Output = Result<V, E>>,
        keep: impl FnOnce(&V) -> bool,
    ) -> Result<V, E> {
        let epoch = {
            let mut entries = self.entries();
            if let Some((value, at)) = entries.map.get(&key)
                && at.elapsed() < TTL
            {
                return Ok(*value);
            }
            entries.epoch
        };
        let value = read.await?;
        if keep(&value) {
            let mut entries = self.entries();
            if entries.epoch == epoch {
                entries.map.put(key, (value, Instant::now()));
            }
        }
        Ok(value)
    }

    /// Drops `keys`, and makes reads in flight not keep their answers.
    pub fn forget(&self, keys: impl IntoIterator<Item = K>) {
        let mut entries = self.entries();
        entries.epoch += 1;
        for key in keys {
            entries.map.pop(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(cache: &Cache<&'static str, i32>, key: &'static str, value: i32) -> i32 {
        let answer: Result<i32, ()> = cache.read_through(key, async { Ok(value) }, |_| true).await;
        answer.unwrap_or(-1)
    }

    #[tokio::test]
    async fn a_kept_fact_is_read_back_until_forgotten() {
        let cache = Cache::default();
        assert_eq!(read(&cache, "u1", 2).await, 2);
        // Kept: the second read is not asked.
        assert_eq!(read(&cache, "u1", 3).await, 2);
        assert_eq!(read(&cache, "u2", 5).await, 5);
        cache.forget(["u1"]);
        assert_eq!(read(&cache, "u1", 3).await, 3);
    }

    #[tokio::test]
    async fn a_read_that_began_before_a_forget_is_not_kept() {
        let cache = Cache::default();
        // A write to another key still invalidates reads in flight: the cache cannot tell
        // which keys a read depends on.
        let answer: Result<i32, ()> = cache
            .read_through(
                "u1",
                async {
                    cache.forget(["other"]);
                    Ok(1)
                },
                |_| true,
            )
            .await;
        assert_eq!(answer, Ok(1));
        assert_eq!(read(&cache, "u1", 2).await, 2, "the racing read was kept");
        assert_eq!(read(&cache, "u1", 3).await, 2);
    }

    #[tokio::test]
    async fn only_what_keep_accepts_is_kept_and_errors_never() {
        let cache: Cache<&'static str, i32> = Cache::default();
        let none: Result<i32, ()> = cache.read_through("u1", async { Ok(0) }, |v| *v > 0).await;
        assert_eq!(none, Ok(0));
        assert_eq!(read(&cache, "u1", 4).await, 4);
        let failed: Result<i32, &str> = cache
            .read_through("u2", async { Err("down") }, |_| true)
            .await;
        assert_eq!(failed, Err("down"));
        assert_eq!(read(&cache, "u2", 6).await, 6);
    }
}
