//! The process tier of the membership cache: an LRU of snapshots keyed by group id, each
//! remembered with the Redis generation it was valid for, bounded by the members it holds (a
//! 5,000-member group weighs 5,000 one-member groups). Also the per-group single flight, so a
//! burst of sends after a change reloads the group once, not once per send.

use super::snapshot::GroupSnapshot;
use lru::LruCache;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Members held over all cached groups (a few hundred bytes each at most).
const WEIGHT_BUDGET: usize = 1_000_000;

struct Entries {
    map: LruCache<String, (String, Arc<GroupSnapshot>)>,
    weight: usize,
}

/// One App's process cache.
pub struct Cache {
    entries: Mutex<Entries>,
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Default for Cache {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the map half-updated in a way that matters.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Cache {
    pub fn new() -> Self {
        Self {
            entries: Mutex::new(Entries {
                map: LruCache::unbounded(),
                weight: 0,
            }),
            flights: Mutex::new(HashMap::new()),
        }
    }

    /// The snapshot cached for `group_id` if it is still the one of generation `generation`.
    pub fn get(&self, group_id: &str, generation: &str) -> Option<Arc<GroupSnapshot>> {
        let mut e = lock(&self.entries);
        match e.map.get(group_id) {
            Some((g, snap)) if g == generation => Some(snap.clone()),
            _ => None,
        }
    }

    pub fn put(&self, generation: String, snap: Arc<GroupSnapshot>) {
        let mut e = lock(&self.entries);
        e.weight += snap.weight();
        if let Some((_, old)) = e.map.put(snap.group_id().to_string(), (generation, snap)) {
            e.weight = e.weight.saturating_sub(old.weight());
        }
        while e.weight > WEIGHT_BUDGET && e.map.len() > 1 {
            match e.map.pop_lru() {
                Some((_, (_, old))) => e.weight = e.weight.saturating_sub(old.weight()),
                None => break,
            }
        }
    }

    pub fn forget(&self, group_id: &str) {
        let mut e = lock(&self.entries);
        if let Some((_, old)) = e.map.pop(group_id) {
            e.weight = e.weight.saturating_sub(old.weight());
        }
    }

    /// The lock that serialises reloads of one group in this process.
    pub fn flight(&self, group_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.flights)
            .entry(group_id.to_string())
            .or_default()
            .clone()
    }

    /// Drops the flight lock of `group_id` once nobody else waits on it. A task that cloned it
    /// just before keeps a private lock; the worst case is one duplicate reload.
    pub fn land(&self, group_id: &str, flight: Arc<tokio::sync::Mutex<()>>) {
        let mut f = lock(&self.flights);
        // Ours and the map's.
        if Arc::strong_count(&flight) <= 2 {
            f.remove(group_id);
        }
    }

    #[cfg(test)]
    fn weight(&self) -> usize {
        lock(&self.entries).weight
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::membership::snapshot::MemberFacts;

    fn snap(id: &str, members: usize) -> Arc<GroupSnapshot> {
        let m = (0..members)
            .map(|i| MemberFacts {
                user_id: format!("u{i}"),
                role_level: 20,
                mute_end_time: 0,
            })
            .collect();
        Arc::new(GroupSnapshot::new(id, None, m))
    }

    #[test]
    fn generations_and_weight() {
        let c = Cache::new();
        c.put("g1".into(), snap("a", 3));
        assert!(c.get("a", "g1").is_some());
        assert!(c.get("a", "g2").is_none());
        c.put("g2".into(), snap("a", 5));
        assert_eq!(c.weight(), 6);
        c.put("g1".into(), snap("big", WEIGHT_BUDGET));
        // The older, smaller group was evicted to make room.
        assert!(c.get("a", "g2").is_none());
        assert!(c.get("big", "g1").is_some());
        c.forget("big");
        assert_eq!(c.weight(), 0);
    }

    #[test]
    fn flights_are_dropped_when_idle() {
        let c = Cache::new();
        let f = c.flight("a");
        let g = c.flight("a");
        assert!(Arc::ptr_eq(&f, &g));
        c.land("a", g);
        assert_eq!(lock(&c.flights).len(), 1);
        c.land("a", f);
        assert!(lock(&c.flights).is_empty());
    }
}
