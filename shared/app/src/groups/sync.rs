//! Version-based sync of groups (OpenIM's `internal/rpc/group/sync.go` over
//! `incrversion.Option`): the joined-group list per user (`join_group_versions`) and the
//! member list per group (`group_member_versions`).
//!
//! An incremental answer carries the log's head (`versionID`, `version`) and the elements
//! changed since the client's version: deleted ids, inserted and updated rows. `full` (lists
//! empty) tells the client to start over from `get_full_*_ids`; it is answered for an
//! unknown or foreign `versionID`, a version of 0 or from the future, or more than
//! [`SYNC_LIMIT`] changes (see `VersionLog::since`).

use super::queries::{check_admin_or_in_group, distinct, group_infos, infos_of, owner};
use crate::conversations::id_hash;
use crate::groups::status;
use crate::{App, AppError, Caller};
use rill_core::ErrCode;
use rill_core::entity::Group;
use rill_store::groups as store;
use rill_store::versions::{self, GROUP_INFO_ELEMENT, SYNC_LIMIT, VersionLog};
use rill_wire::pb::group as pb;
use std::collections::{BTreeMap, HashMap, HashSet};

/// OpenIM's `VersionSortChangeID`: recorded (by the entity apply) next to a member whose role
/// changed, so that the client re-reads the member order (`sortVersion` > 0).
pub use rill_store::versions::SORT_ELEMENT;

/// OpenIM's `versionSyncLimit`: a batch stops adding groups once this many changes are in it.
const BATCH_CHANGE_LIMIT: usize = 500;

/// The member sync of `group`, whose members the caller may read.
async fn members_since(
    app: &App,
    group: &Group,
    version_id: &str,
    version: u64,
) -> Result<pb::GetIncrementalGroupMemberResp, AppError> {
    if group.status == status::DISMISSED {
        return Err(AppError::coded(
            ErrCode::DismissedAlready,
            format!("group {} is dismissed", group.group_id),
        ));
    }
    let db = app.store().database();
    let changes = VersionLog::new(db, versions::GROUP_MEMBERS)
        .since(&group.group_id, version_id, version, SYNC_LIMIT)
        .await?;
    // The group's own element and the sort marker are not members: they set `group` and
    // `sortVersion` instead (OpenIM's GetIncrementalGroupMember).
    let mut group_changed = false;
    let mut sort_version = 0;
    let mut members_only = |ids: Vec<String>| -> Vec<String> {
        ids.into_iter()
            .filter(|id| match id.as_str() {
                GROUP_INFO_ELEMENT => {
                    group_changed = true;
                    false
                }
                SORT_ELEMENT => {
                    sort_version = changes.head.version;
                    false
                }
                _ => true,
            })
            .collect()
    };
    let insert = members_only(changes.insert);
    let update = members_only(changes.update);
    let delete = members_only(changes.delete);
    // Any member change changes the member count, so OpenIM sends the group along.
    if !(insert.is_empty() && update.is_empty() && delete.is_empty()) {
        group_changed = true;
    }
    let infos = |ids: Vec<String>| async move {
        if ids.is_empty() {
            return Ok::<_, AppError>(Vec::new());
        }
        let members = store::members_by_ids(db, &group.group_id, &ids).await?;
        app.member_infos(&members).await
    };
    let insert = infos(insert).await?;
    let update = infos(update).await?;
    let group_info = if changes.full || group_changed {
        infos_of(app, std::slice::from_ref(group)).await?.pop()
    } else {
        None
    };
    Ok(pb::GetIncrementalGroupMemberResp {
        version: changes.head.version,
        version_id: changes.head.id,
        full: changes.full,
        delete,
        insert,
        update,
        group: group_info,
        sort_version,
    })
}

impl App {
    /// `/group/get_incremental_join_groups` (O): the user's joined groups changed since the
    /// client's version; inserted and updated groups as `GroupInfo`, left ones as ids.
    pub async fn get_incremental_join_groups(
        &self,
        caller: &Caller,
        req: pb::GetIncrementalJoinGroupReq,
    ) -> Result<pb::GetIncrementalJoinGroupResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        let changes = VersionLog::new(self.store().database(), versions::JOINED_GROUPS)
            .since(&req.user_id, &req.version_id, req.version, SYNC_LIMIT)
            .await?;
        Ok(pb::GetIncrementalJoinGroupResp {
            version: changes.head.version,
            version_id: changes.head.id,
            full: changes.full,
            insert: group_infos(self, &changes.insert).await?,
            update: group_infos(self, &changes.update).await?,
            delete: changes.delete,
            // OpenIM never sets it for joined groups.
            sort_version: 0,
        })
    }

    /// `/group/get_incremental_group_members` (members and app admins): the group's members
    /// changed since the client's version, and the group's info when it or its member count
    /// changed (or the answer is `full`). Unknown group: 1004; dismissed: 1204.
    pub async fn get_incremental_group_members(
        &self,
        caller: &Caller,
        req: pb::GetIncrementalGroupMemberReq,
    ) -> Result<pb::GetIncrementalGroupMemberResp, AppError> {
        check_admin_or_in_group(self, caller, &req.group_id).await?;
        let group = store::groups(self.store().database(), std::slice::from_ref(&req.group_id))
            .await?
            .pop()
            .ok_or_else(|| {
                AppError::coded(
                    ErrCode::RecordNotFound,
                    format!("group {} not found", req.group_id),
                )
            })?;
        members_since(self, &group, &req.version_id, req.version).await
    }

    /// `/group/get_incremental_group_members_batch`: [`get_incremental_group_members`] for
    /// each group asked about once, keyed by group id; stops adding groups once
    /// [`BATCH_CHANGE_LIMIT`] changes are in (the SDK asks again for the rest).
    ///
    /// Dismissed groups are left out, as in OpenIM. Deviation: groups the caller is not in
    /// (or that do not exist) are left out too, where OpenIM fails the whole batch with 1002;
    /// the SDK treats a group missing from the answer as done, so one stale group no longer
    /// stops the member sync of all the others.
    ///
    /// [`get_incremental_group_members`]: App::get_incremental_group_members
    pub async fn get_incremental_group_members_batch(
        &self,
        caller: &Caller,
        req: pb::BatchGetIncrementalGroupMemberReq,
    ) -> Result<pb::BatchGetIncrementalGroupMemberResp, AppError> {
        if !req.user_id.is_empty() {
            caller.check_self_or_admin(&req.user_id)?;
        }
        let mut seen = HashSet::new();
        let reqs: Vec<&pb::GetIncrementalGroupMemberReq> = req
            .req_list
            .iter()
            .filter(|r| seen.insert(r.group_id.as_str()))
            .collect();
        let ids: Vec<String> = reqs.iter().map(|r| r.group_id.clone()).collect();
        let db = self.store().database();
        let readable: Option<HashSet<String>> = if caller.is_admin {
            None
        } else {
            Some(
                store::memberships(db, &caller.user_id, &ids)
                    .await?
                    .into_iter()
                    .map(|m| m.group_id)
                    .collect(),
            )
        };
        let groups: HashMap<String, Group> = store::groups(db, &distinct(&ids))
            .await?
            .into_iter()
            .map(|g| (g.group_id.clone(), g))
            .collect();
        let mut out = BTreeMap::new();
        let mut changes = 0usize;
        for r in reqs {
            if readable
                .as_ref()
                .is_some_and(|ok| !ok.contains(&r.group_id))
            {
                continue;
            }
            let Some(group) = groups.get(&r.group_id) else {
                continue;
            };
            let resp = match members_since(self, group, &r.version_id, r.version).await {
                Ok(resp) => resp,
                Err(e) if e.code() == ErrCode::DismissedAlready => continue,
                Err(e) => return Err(e),
            };
            changes += resp.insert.len() + resp.update.len() + resp.delete.len();
            out.insert(r.group_id.clone(), resp);
            if changes >= BATCH_CHANGE_LIMIT {
                break;
            }
        }
        Ok(pb::BatchGetIncrementalGroupMemberResp { resp_list: out })
    }

    /// `/group/get_full_group_member_user_ids` (members and app admins): the log's head and
    /// every member id by role then join time; with `equal` and no ids when the client's
    /// `idHash` already matches them.
    pub async fn get_full_group_member_user_ids(
        &self,
        caller: &Caller,
        req: pb::GetFullGroupMemberUserIDsReq,
    ) -> Result<pb::GetFullGroupMemberUserIDsResp, AppError> {
        if req.group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        check_admin_or_in_group(self, caller, &req.group_id).await?;
        let db = self.store().database();
        // The head first: ids read after it are at least as new, so an incremental sync
        // from this head cannot miss a change (it may replay one, which is harmless).
        let head = VersionLog::new(db, versions::GROUP_MEMBERS)
            .head(&req.group_id)
            .await?;
        let ids = store::member_user_ids(db, &req.group_id).await?;
        let equal = req.id_hash == id_hash(&ids);
        Ok(pb::GetFullGroupMemberUserIDsResp {
            version: head.version,
            version_id: head.id,
            equal,
            user_i_ds: if equal { Vec::new() } else { ids },
        })
    }

    /// `/group/get_full_join_group_ids` (O): the log's head and the ids of every group the
    /// user has joined, in joined-group order; `equal` and no ids when `idHash` matches.
    pub async fn get_full_join_group_ids(
        &self,
        caller: &Caller,
        req: pb::GetFullJoinGroupIDsReq,
    ) -> Result<pb::GetFullJoinGroupIDsResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        let db = self.store().database();
        let head = VersionLog::new(db, versions::JOINED_GROUPS)
            .head(&req.user_id)
            .await?;
        let ids = store::joined_group_ids(db, &req.user_id).await?;
        let equal = req.id_hash == id_hash(&ids);
        Ok(pb::GetFullJoinGroupIDsResp {
            version: head.version,
            version_id: head.id,
            equal,
            group_i_ds: if equal { Vec::new() } else { ids },
        })
    }
}
