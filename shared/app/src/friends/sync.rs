//! The SDK's version-based sync of friends and blacks (OpenIM's `incrversion.Option`).
//!
//! A `full` answer carries no rows: the SDK then refetches everything itself (its FullSyncer
//! pages get_friend_list and asks get_full_friend_user_ids), exactly as with OpenIM. Otherwise
//! `insert`/`update` carry the rows of the ids changed since the client's version (each id
//! once, by its last change) and `delete` the removed ids. `sortVersion` is the version of the
//! friend log's sort element when the id order changed in that window (a pin), else 0.

use super::owner;
use crate::conversations::id_hash;
use crate::{App, AppError, Caller};
use rill_store::friends as store;
use rill_store::versions::{self, Changes, SORT_ELEMENT, SYNC_LIMIT, VersionLog};
use rill_wire::pb::relation as pb;

impl App {
    async fn changes_since(
        &self,
        log: &str,
        user_id: &str,
        version_id: &str,
        version: u64,
    ) -> Result<Changes, AppError> {
        Ok(VersionLog::new(self.store().database(), log)
            .since(user_id, version_id, version, SYNC_LIMIT)
            .await?)
    }

    /// `/friend/get_incremental_friends` (O).
    pub async fn get_incremental_friends(
        &self,
        caller: &Caller,
        req: pb::GetIncrementalFriendsReq,
    ) -> Result<pb::GetIncrementalFriendsResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        let mut changes = self
            .changes_since(
                versions::FRIENDS,
                &req.user_id,
                &req.version_id,
                req.version,
            )
            .await?;
        let mut resp = pb::GetIncrementalFriendsResp {
            version: changes.head.version,
            version_id: changes.head.id.clone(),
            full: changes.full,
            ..Default::default()
        };
        if changes.full {
            return Ok(resp);
        }
        let before = changes.update.len();
        changes.update.retain(|id| id != SORT_ELEMENT);
        changes.insert.retain(|id| id != SORT_ELEMENT);
        if changes.update.len() != before {
            resp.sort_version = VersionLog::new(self.store().database(), versions::FRIENDS)
                .elements(&req.user_id)
                .await?
                .get(SORT_ELEMENT)
                .map_or(0, |(v, _)| *v);
        }
        resp.insert = self
            .designated_friends(&req.user_id, &changes.insert)
            .await?;
        resp.update = self
            .designated_friends(&req.user_id, &changes.update)
            .await?;
        resp.delete = changes.delete;
        Ok(resp)
    }

    /// `/friend/get_incremental_blacks` (O). OpenIM 3.8 routes it but never implemented it
    /// ("temporarily unused"); answered like the friends' sync.
    pub async fn get_incremental_blacks(
        &self,
        caller: &Caller,
        req: pb::GetIncrementalBlacksReq,
    ) -> Result<pb::GetIncrementalBlacksResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        let changes = self
            .changes_since(versions::BLACKS, &req.user_id, &req.version_id, req.version)
            .await?;
        let mut resp = pb::GetIncrementalBlacksResp {
            version: changes.head.version,
            version_id: changes.head.id.clone(),
            full: changes.full,
            ..Default::default()
        };
        if changes.full {
            return Ok(resp);
        }
        let wanted: Vec<String> = changes
            .insert
            .iter()
            .chain(&changes.update)
            .cloned()
            .collect();
        let rows = store::blacks_of(self.store().database(), &req.user_id, &wanted).await?;
        let pick = |ids: &[String]| -> Vec<rill_core::entity::Black> {
            ids.iter()
                .filter_map(|id| rows.iter().find(|b| &b.block_user_id == id).cloned())
                .collect()
        };
        if !wanted.is_empty() {
            resp.insert = self.blacks_to_wire(&pick(&changes.insert)).await?;
            resp.update = self.blacks_to_wire(&pick(&changes.update)).await?;
        }
        resp.delete = changes.delete;
        Ok(resp)
    }

    /// `/friend/get_full_friend_user_ids` (O): every friend id (pinned first) with the log's
    /// head, or `equal` and no ids when the client's idHash matches. The head is read first,
    /// so a change between the two reads makes the client's next incremental sync resend it.
    pub async fn get_full_friend_user_ids(
        &self,
        caller: &Caller,
        req: pb::GetFullFriendUserIDsReq,
    ) -> Result<pb::GetFullFriendUserIDsResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        let db = self.store().database();
        let head = VersionLog::new(db, versions::FRIENDS)
            .head(&req.user_id)
            .await?;
        let ids = store::friend_ids(db, &req.user_id).await?;
        let equal = req.id_hash == id_hash(&ids);
        Ok(pb::GetFullFriendUserIDsResp {
            version: head.version,
            version_id: head.id,
            equal,
            user_i_ds: if equal { Vec::new() } else { ids },
        })
    }
}
