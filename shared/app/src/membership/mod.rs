//! Group membership on the hot send path: the group's status and type, and each member's role
//! and mute end ([`GroupSnapshot`]). Read through a cache, process → Redis → Mongo (DESIGN.md
//! §4), that every applied group change invalidates ([`App::groups_changed`]).
//!
//! Redis holds, per group, a hash `<prefix>:grp:<groupID>` with
//! - `gen`: the group's generation, a random token replaced after every applied change (a
//!   random token rather than a counter, so a key lost to eviction or a Redis restart can never
//!   come back with a generation some process still holds);
//! - `tab`: `<gen>\n<snapshot JSON>`, the snapshot built from Mongo *at* that generation.
//!
//! A read fetches `gen` (one HGET; several groups in one pipeline) and uses the process copy
//! when it was built at that generation. Otherwise it takes `tab` when its embedded generation
//! is the current one, else loads Mongo and stores `tab` only if `gen` has not moved since the
//! read began (a script compares and sets). A writer applies to Mongo first and replaces `gen`
//! after, so a copy stored under the old generation is never used again, and one stored under
//! the new generation was read from Mongo after the change. With `tab` in Redis, group sends
//! keep working while Mongo is down.

mod cache;
pub mod rules;
mod snapshot;

pub use cache::Cache;
pub use snapshot::{GroupFacts, GroupSnapshot, MemberFacts};

use crate::{App, AppError};
use std::sync::{Arc, LazyLock};

/// Lifetime of a group's Redis entry since its last change or reload: idle groups leave Redis
/// and are reloaded from Mongo when next used.
const KEY_TTL_SECS: i64 = 7 * 24 * 3600;

/// Stores `tab` if the generation is still ARGV[1]. KEYS[1] the group's hash; ARGV: the
/// generation, the tab value, the TTL.
static STORE_TAB: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('HGET', KEYS[1], 'gen') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'tab', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
",
    )
});

fn key(app: &App, group_id: &str) -> String {
    app.log().keys().global(&format!("grp:{group_id}"))
}

fn new_generation() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The snapshot in a `tab` value if it was built at `generation`.
fn tab_at(group_id: &str, generation: &str, tab: &[u8]) -> Option<GroupSnapshot> {
    let split = tab.iter().position(|b| *b == b'\n')?;
    let (tag, body) = tab.split_at(split);
    if tag != generation.as_bytes() {
        return None;
    }
    GroupSnapshot::decode(group_id, body.get(1..)?)
}

fn counted(tier: &'static str) {
    metrics::counter!("rill_group_cache_reads_total", "tier" => tier).increment(1);
}

impl App {
    fn membership_cache(&self) -> &Cache {
        &self.inner.membership
    }

    /// The current snapshot of a group (`group()` is `None` when it does not exist).
    pub async fn group_snapshot(&self, group_id: &str) -> Result<Arc<GroupSnapshot>, AppError> {
        let mut found = self.group_snapshots(&[group_id]).await?;
        found.pop().ok_or_else(|| {
            AppError::coded(rill_core::ErrCode::ServerInternal, "no snapshot returned")
        })
    }

    /// Snapshots of several groups, in the order asked, with one Redis round trip when the
    /// process copies are current.
    pub async fn group_snapshots(
        &self,
        group_ids: &[&str],
    ) -> Result<Vec<Arc<GroupSnapshot>>, AppError> {
        if group_ids.is_empty() {
            return Ok(Vec::new());
        }
        let generations = self.group_generations(group_ids).await?;
        let mut out = Vec::with_capacity(group_ids.len());
        for (group_id, generation) in group_ids.iter().zip(generations) {
            match self.membership_cache().get(group_id, &generation) {
                Some(snap) => {
                    counted("process");
                    out.push(snap);
                }
                None => out.push(self.reload_group(group_id, &generation).await?),
            }
        }
        Ok(out)
    }

    /// The user ids of a group's members, sorted (empty for an unknown group).
    pub async fn group_member_ids(&self, group_id: &str) -> Result<Vec<String>, AppError> {
        Ok(self.group_snapshot(group_id).await?.member_ids())
    }

    /// True when `user_id` is a member of `group_id` now.
    pub async fn is_group_member(&self, group_id: &str, user_id: &str) -> Result<bool, AppError> {
        Ok(self.group_snapshot(group_id).await?.is_member(user_id))
    }

    /// Called after any change to these groups or their members was applied to Mongo (by
    /// [`App::commit`] and by the readmodel worker's re-apply): every process's copy of them
    /// is stale from now on.
    pub async fn groups_changed(&self, group_ids: &[&str]) -> Result<(), AppError> {
        if group_ids.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for group_id in group_ids {
            let k = key(self, group_id);
            pipe.hset(&k, "gen", new_generation()).ignore();
            pipe.hdel(&k, "tab").ignore();
            pipe.expire(&k, KEY_TTL_SECS).ignore();
        }
        let () = pipe.query_async(&mut self.redis()).await?;
        for group_id in group_ids {
            self.membership_cache().forget(group_id);
        }
        Ok(())
    }

    /// The current generation of each group; a group without one (new, or its key expired)
    /// gets a fresh one.
    async fn group_generations(&self, group_ids: &[&str]) -> Result<Vec<String>, AppError> {
        let mut conn = self.redis();
        let mut pipe = redis::pipe();
        for group_id in group_ids {
            pipe.hget(key(self, group_id), "gen");
        }
        let mut found: Vec<Option<String>> = pipe.query_async(&mut conn).await?;
        let missing: Vec<usize> = (0..found.len()).filter(|i| found[*i].is_none()).collect();
        if missing.is_empty() {
            return Ok(found.into_iter().flatten().collect());
        }
        let mut pipe = redis::pipe();
        for &i in &missing {
            let k = key(self, group_ids[i]);
            pipe.hset_nx(&k, "gen", new_generation()).ignore();
            pipe.expire(&k, KEY_TTL_SECS).ignore();
            pipe.hget(&k, "gen");
        }
        let fresh: Vec<Option<String>> = pipe.query_async(&mut conn).await?;
        for (i, generation) in missing.into_iter().zip(fresh) {
            found[i] = generation;
        }
        found
            .into_iter()
            .map(|g| {
                g.ok_or_else(|| {
                    AppError::coded(rill_core::ErrCode::ServerInternal, "group generation lost")
                })
            })
            .collect()
    }

    /// Reloads one group whose process copy is missing or stale: from Redis when it holds the
    /// current generation's copy, else from Mongo. One reload per group at a time per process.
    async fn reload_group(
        &self,
        group_id: &str,
        generation: &str,
    ) -> Result<Arc<GroupSnapshot>, AppError> {
        let flight = self.membership_cache().flight(group_id);
        let result = {
            let _turn = flight.lock().await;
            self.reload_in_turn(group_id, generation).await
        };
        self.membership_cache().land(group_id, flight);
        result
    }

    async fn reload_in_turn(
        &self,
        group_id: &str,
        generation: &str,
    ) -> Result<Arc<GroupSnapshot>, AppError> {
        // Another task may have reloaded it while this one waited.
        if let Some(snap) = self.membership_cache().get(group_id, generation) {
            counted("process");
            return Ok(snap);
        }
        let k = key(self, group_id);
        let mut conn = self.redis();
        let (current, tab): (Option<String>, Option<Vec<u8>>) = redis::cmd("HMGET")
            .arg(&k)
            .arg("gen")
            .arg("tab")
            .query_async(&mut conn)
            .await?;
        let current = current.unwrap_or_else(|| generation.to_string());
        if let Some(snap) = tab.and_then(|t| tab_at(group_id, &current, &t)) {
            counted("redis");
            let snap = Arc::new(snap);
            self.membership_cache().put(current, snap.clone());
            return Ok(snap);
        }
        counted("mongo");
        let db = self.store().database();
        let (group, members) = tokio::try_join!(
            rill_store::entities::group(db, group_id),
            rill_store::entities::members(db, group_id)
        )?;
        let snap = Arc::new(GroupSnapshot::from_rows(group_id, group.as_ref(), &members));
        let body = snap.encode().map_err(|e| {
            AppError::coded(
                rill_core::ErrCode::ServerInternal,
                format!("encoding group snapshot: {e}"),
            )
        })?;
        let mut value = Vec::with_capacity(current.len() + 1 + body.len());
        value.extend_from_slice(current.as_bytes());
        value.push(b'\n');
        value.extend_from_slice(&body);
        let stored: i64 = STORE_TAB
            .key(&k)
            .arg(&current)
            .arg(value)
            .arg(KEY_TTL_SECS)
            .invoke_async(&mut conn)
            .await?;
        // Not stored: the group changed while loading. The snapshot still answers this read
        // (it was current when the read began) but is not kept.
        if stored == 1 {
            self.membership_cache().put(current, snap.clone());
        }
        Ok(snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_carry_their_generation() {
        let s = GroupSnapshot::new("g", None, Vec::new());
        let mut tab = b"abc\n".to_vec();
        tab.extend(s.encode().unwrap());
        assert_eq!(tab_at("g", "abc", &tab), Some(s));
        assert_eq!(tab_at("g", "abd", &tab), None);
        assert_eq!(tab_at("g", "abc", b"abc"), None);
    }
}
