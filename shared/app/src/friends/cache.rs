//! The relation facts a single-chat send checks (OpenIM's `messageVerification`): is the
//! sender on the receiver's blacklist (1302), and, with `friend_verify`, in the receiver's
//! friend list (1303). Sends must not read Mongo, so both lists are cached in Redis per owner:
//!
//! - `<prefix>:rel:{<owner>}:b` / `:f`: a set of the blocked / friend user ids plus the empty
//!   string, which marks the set as loaded (an empty Redis set does not exist);
//! - `<prefix>:rel:{<owner>}:g`: the owner's generation, a random token replaced by every
//!   applied friend or black change ([`App::relations_changed`]).
//!
//! A miss loads the list from Mongo and stores it only if the generation is still the one read
//! before loading (a script compares and sets), so a list read before a change can never be
//! stored after it: writers apply to Mongo first, then replace the generation and delete the
//! sets in one transaction. A random token rather than a counter, so a generation lost with an
//! evicted key can never come back and validate a stale load. The owner's id is the hash tag,
//! so the keys share a Cluster slot.

use crate::{App, AppError};
use rill_core::ErrCode;
use std::sync::LazyLock;

/// Lifetime of a loaded list: idle owners leave Redis.
const SET_TTL_SECS: i64 = 3600;
/// Lifetime of a generation (longer than the lists it guards).
const GEN_TTL_SECS: i64 = 24 * 3600;
/// Ids per SADD inside the store script (Lua's unpack has a stack limit).
const CHUNK: usize = 500;

/// The marker member of a loaded set (user ids are never empty).
const LOADED: &str = "";

/// Stores a loaded list if the owner's generation is still ARGV[1] ("" = none).
/// KEYS[1] generation, KEYS[2] the set; ARGV[2] TTL; ARGV[3..] the ids.
static STORE_SET: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local g = redis.call('GET', KEYS[1]) or ''
if g ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('SADD', KEYS[2], '')
local chunk = tonumber(ARGV[3])
local i = 4
while i <= #ARGV do
  local last = math.min(i + chunk - 1, #ARGV)
  redis.call('SADD', KEYS[2], unpack(ARGV, i, last))
  i = last + 1
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
",
    )
});

/// Which list of an owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    Blacks,
    Friends,
}

impl List {
    fn suffix(self) -> &'static str {
        match self {
            List::Blacks => "b",
            List::Friends => "f",
        }
    }
}

fn key(app: &App, owner: &str, suffix: &str) -> String {
    app.log()
        .keys()
        .global(&format!("rel:{{{owner}}}:{suffix}"))
}

impl App {
    /// OpenIM's single-chat relation rules, checked after the admin and notification
    /// exemptions: 1302 when the receiver has blocked the sender; with `friend_verify`, 1303
    /// when the sender is not in the receiver's friend list.
    pub async fn check_single_chat_relation(
        &self,
        send_id: &str,
        recv_id: &str,
    ) -> Result<(), AppError> {
        let verify = self.config().friend_verify;
        let read = self
            .send_checks()
            .relations
            .read_through(
                (recv_id.to_string(), send_id.to_string(), verify),
                self.relation_facts(recv_id, send_id, verify),
                |_| true,
            )
            .await;
        let (blocked, friend) = match read {
            Ok(facts) => facts,
            // Sends need only Redis: with the blacklist not cached and Mongo unreachable, a
            // send is let through (as an unreadable receive option is), unless friendship is
            // required, which cannot be assumed.
            Err(AppError::Store(e)) if !verify => {
                tracing::warn!(send_id, recv_id, error = %e, "blacklist unreadable; send allowed");
                (false, false)
            }
            Err(e) => return Err(e),
        };
        if blocked {
            return Err(AppError::coded(
                ErrCode::BlockedByPeer,
                format!("{recv_id} has blocked {send_id}"),
            ));
        }
        if verify && !friend {
            return Err(AppError::coded(
                ErrCode::NotPeersFriend,
                format!("{send_id} is not a friend of {recv_id}"),
            ));
        }
        Ok(())
    }

    /// (`other` is on `owner`'s blacklist, `other` is in `owner`'s friend list); the second
    /// is only looked up when `with_friends`, else false.
    pub async fn relation_facts(
        &self,
        owner: &str,
        other: &str,
        with_friends: bool,
    ) -> Result<(bool, bool), AppError> {
        let lists: &[List] = if with_friends {
            &[List::Blacks, List::Friends]
        } else {
            &[List::Blacks]
        };
        let mut pipe = redis::pipe();
        for list in lists {
            let k = key(self, owner, list.suffix());
            pipe.sismember(&k, LOADED).sismember(&k, other);
        }
        let mut conn = self.redis();
        let flags: Vec<bool> = pipe.query_async(&mut conn).await?;
        let mut answers = [false; 2];
        for (i, list) in lists.iter().enumerate() {
            let loaded = flags.get(2 * i).copied().unwrap_or(false);
            let member = flags.get(2 * i + 1).copied().unwrap_or(false);
            answers[i] = if loaded {
                metrics::counter!("rill_relation_cache_reads_total", "tier" => "redis")
                    .increment(1);
                member
            } else {
                metrics::counter!("rill_relation_cache_reads_total", "tier" => "mongo")
                    .increment(1);
                self.load_list(owner, *list)
                    .await?
                    .iter()
                    .any(|id| id == other)
            };
        }
        Ok((answers[0], with_friends && answers[1]))
    }

    /// Reads one list from Mongo and caches it unless the owner changed meanwhile.
    async fn load_list(&self, owner: &str, list: List) -> Result<Vec<String>, AppError> {
        let generation = self.relation_generation(owner).await?;
        let db = self.store().database();
        let ids = match list {
            List::Blacks => rill_store::friends::black_ids(db, owner).await?,
            List::Friends => rill_store::friends::friend_ids(db, owner).await?,
        };
        // Not stored: the owner changed while loading; the list still answers this read (it
        // was current when the read began) but is not kept.
        self.store_relation_list(owner, list == List::Blacks, generation.as_deref(), &ids)
            .await?;
        Ok(ids)
    }

    /// The owner's relation generation (`None`: none recorded). Public for the cache tests.
    #[doc(hidden)]
    pub async fn relation_generation(&self, owner: &str) -> Result<Option<String>, AppError> {
        let mut conn = self.redis();
        Ok(redis::cmd("GET")
            .arg(key(self, owner, "g"))
            .query_async(&mut conn)
            .await?)
    }

    /// Caches `ids` as the owner's black (or friend) list if the generation is still
    /// `generation`; returns whether it did. Public for the cache tests.
    #[doc(hidden)]
    pub async fn store_relation_list(
        &self,
        owner: &str,
        blacks: bool,
        generation: Option<&str>,
        ids: &[String],
    ) -> Result<bool, AppError> {
        let list = if blacks { List::Blacks } else { List::Friends };
        let mut invocation = STORE_SET.key(key(self, owner, "g"));
        invocation
            .key(key(self, owner, list.suffix()))
            .arg(generation.unwrap_or_default())
            .arg(SET_TTL_SECS)
            .arg(CHUNK);
        for id in ids {
            invocation.arg(id);
        }
        let mut conn = self.redis();
        let stored: i64 = invocation.invoke_async(&mut conn).await?;
        Ok(stored == 1)
    }

    /// Called after any friend or black row of these (owner, other) pairs was applied (cache
    /// invalidation hook of `App::commit`): each owner gets a new generation and loses its
    /// cached lists.
    pub async fn relations_changed(&self, pairs: &[(&str, &str)]) -> Result<(), AppError> {
        let mut owners: Vec<&str> = pairs.iter().map(|(owner, _)| *owner).collect();
        owners.sort_unstable();
        owners.dedup();
        let mut conn = self.redis();
        for owner in owners {
            let generation = uuid::Uuid::new_v4().simple().to_string();
            let () = redis::pipe()
                .atomic()
                .set_ex(key(self, owner, "g"), generation, GEN_TTL_SECS as u64)
                .ignore()
                .del(key(self, owner, List::Blacks.suffix()))
                .ignore()
                .del(key(self, owner, List::Friends.suffix()))
                .ignore()
                .query_async(&mut conn)
                .await?;
        }
        // After Redis dropped the lists: a send of this process that reads them from now on
        // sees the change, and one that read them before is not stored (see crate::send_checks).
        self.send_checks()
            .relations
            .forget(pairs.iter().flat_map(|(owner, other)| {
                [false, true]
                    .map(|with_friends| (owner.to_string(), other.to_string(), with_friends))
            }));
        Ok(())
    }
}
