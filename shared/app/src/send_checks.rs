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
//! A read that began before a local invalidation is not stored ([`Ticket`]), so a slow read can
//! never put back what a write just dropped.

use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(2);
const CAPACITY: usize = 100_000;

/// What is cached about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    /// A recvMsgOpt (`None`: the default, receive).
    RecvOpt(Option<i32>),
    /// (the other user is on the owner's blacklist, the other user is the owner's friend).
    Relation { blocked: bool, friend: bool },
}

/// Which fact: the global option of a user, the option of an owner's conversation, or the
/// relation of an owner to another user (with or without the friend list looked up).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    GlobalOpt(String),
    ConversationOpt {
        owner: String,
        conversation_id: String,
    },
    Relation {
        owner: String,
        other: String,
        with_friends: bool,
    },
}

/// Taken before a read; the read's answer is stored only if nothing was forgotten meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

pub struct Cache {
    entries: Mutex<LruCache<Key, (Fact, Instant)>>,
    /// Bumped by every forget.
    epoch: AtomicU64,
}

impl Default for Cache {
    fn default() -> Self {
        Self::new()
    }
}

impl Cache {
    pub fn new() -> Self {
        Self {
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN),
            )),
            epoch: AtomicU64::new(0),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, LruCache<Key, (Fact, Instant)>> {
        // A panic while holding the lock cannot leave the map half-updated in a way that matters.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &Key) -> Option<Fact> {
        match self.entries().get(key) {
            Some((fact, at)) if at.elapsed() < TTL => Some(*fact),
            _ => None,
        }
    }

    pub fn ticket(&self) -> Ticket {
        Ticket(self.epoch.load(Ordering::Acquire))
    }

    /// Stores `fact` read under `ticket`, unless a forget happened since.
    pub fn put(&self, key: Key, fact: Fact, ticket: Ticket) {
        let mut entries = self.entries();
        // Checked under the lock that forget also takes, so no forget slips in between.
        if self.epoch.load(Ordering::Acquire) == ticket.0 {
            entries.put(key, (fact, Instant::now()));
        }
    }

    pub fn forget(&self, keys: impl IntoIterator<Item = Key>) {
        let mut entries = self.entries();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for key in keys {
            entries.pop(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(id: &str) -> Key {
        Key::GlobalOpt(id.into())
    }

    #[test]
    fn a_stored_fact_is_read_back_until_forgotten() {
        let cache = Cache::new();
        assert_eq!(cache.get(&global("u1")), None);
        cache.put(global("u1"), Fact::RecvOpt(Some(2)), cache.ticket());
        assert_eq!(cache.get(&global("u1")), Some(Fact::RecvOpt(Some(2))));
        assert_eq!(cache.get(&global("u2")), None);
        cache.forget([global("u1")]);
        assert_eq!(cache.get(&global("u1")), None);
    }

    #[test]
    fn a_read_that_began_before_a_forget_is_not_stored() {
        let cache = Cache::new();
        let before = cache.ticket();
        // A write to another key still invalidates reads in flight: the cache cannot tell
        // which keys a read depends on.
        cache.forget([global("other")]);
        cache.put(global("u1"), Fact::RecvOpt(None), before);
        assert_eq!(cache.get(&global("u1")), None);
        cache.put(global("u1"), Fact::RecvOpt(None), cache.ticket());
        assert_eq!(cache.get(&global("u1")), Some(Fact::RecvOpt(None)));
    }

    #[test]
    fn relations_are_keyed_by_pair_and_lookup() {
        let cache = Cache::new();
        let key = |with_friends| Key::Relation {
            owner: "a".into(),
            other: "b".into(),
            with_friends,
        };
        let fact = Fact::Relation {
            blocked: true,
            friend: false,
        };
        cache.put(key(false), fact, cache.ticket());
        assert_eq!(cache.get(&key(false)), Some(fact));
        assert_eq!(cache.get(&key(true)), None);
    }
}
