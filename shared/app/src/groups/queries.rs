//! Group and member reads (OpenIM's `GetGroupsInfo`, `GetJoinedGroupList`,
//! `GetGroupMembersInfo`, `GetGroupMemberList`, `GetGroupMemberUserIDs`,
//! `GetGroupAbstractInfo`, `GetGroups`). Join requests are read in
//! [`super::requests_query`], the version-based sync in [`super::sync`].
//!
//! Argument checks are the requests' `Check()`; permissions follow OpenIM HEAD: a user reads
//! the members of a group only as a member ("checkAdminOrInGroup"), app admins read anything,
//! and user-scoped lists are the "self or admin" rule.

use super::convert;
use crate::users::page_window;
use crate::{App, AppError, Caller};
use rill_core::ErrCode;
use rill_core::entity::Group;
use rill_store::groups::{self as store, Page};
use rill_wire::pb::{group as pb, sdkws};
use std::collections::{HashMap, HashSet};

/// OpenIM's "O" rule with the argument check in front of it.
pub(crate) fn owner(caller: &Caller, user_id: &str, what: &str) -> Result<(), AppError> {
    if user_id.is_empty() {
        return Err(AppError::args(format!("{what} is empty")));
    }
    caller.check_self_or_admin(user_id)
}

/// The page a request's pagination asks for (1001 when it is missing or invalid).
pub(crate) fn page_of(p: Option<&sdkws::RequestPagination>) -> Result<Page, AppError> {
    let (skip, limit) = page_window(p)?;
    Ok(Page { skip, limit })
}

/// `ids` without repeats, first occurrence kept.
pub(crate) fn distinct(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.iter()
        .filter(|id| seen.insert(id.as_str()))
        .cloned()
        .collect()
}

/// OpenIM's `checkAdminOrInGroup`: app admins pass; anyone else must be a member (1002).
pub(crate) async fn check_admin_or_in_group(
    app: &App,
    caller: &Caller,
    group_id: &str,
) -> Result<(), AppError> {
    if caller.is_admin {
        return Ok(());
    }
    match store::member(app.store().database(), group_id, &caller.user_id).await? {
        Some(_) => Ok(()),
        None => Err(AppError::no_permission(format!(
            "{} is not in group {group_id}",
            caller.user_id
        ))),
    }
}

/// OpenIM's `CheckGroupAdmin`: app admins pass; a non-member is 1004 (its `TakeGroupMember`
/// finds no record); a member must be the owner or an admin (1002).
pub(crate) async fn check_group_admin(
    app: &App,
    caller: &Caller,
    group_id: &str,
) -> Result<(), AppError> {
    if caller.is_admin {
        return Ok(());
    }
    let member = store::member(app.store().database(), group_id, &caller.user_id)
        .await?
        .ok_or_else(|| {
            AppError::coded(
                ErrCode::RecordNotFound,
                format!("{} is not in group {group_id}", caller.user_id),
            )
        })?;
    if member.role_level == rill_core::types::role::OWNER
        || member.role_level == rill_core::types::role::ADMIN
    {
        Ok(())
    } else {
        Err(AppError::no_permission("no group owner or admin"))
    }
}

/// `GroupInfo` of each of `groups` (owner: the role-100 member; member count: counted).
pub(crate) async fn infos_of(
    app: &App,
    groups: &[Group],
) -> Result<Vec<sdkws::GroupInfo>, AppError> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let db = app.store().database();
    let ids: Vec<String> = groups.iter().map(|g| g.group_id.clone()).collect();
    let owners = store::owners(db, &ids).await?;
    let counts = store::member_counts(db, &ids).await?;
    Ok(groups
        .iter()
        .map(|g| info_with(g, &owners, &counts))
        .collect())
}

fn info_with(
    g: &Group,
    owners: &HashMap<String, rill_core::entity::Member>,
    counts: &HashMap<String, u64>,
) -> sdkws::GroupInfo {
    let owner = owners
        .get(&g.group_id)
        .map(|m| m.user_id.as_str())
        .unwrap_or("");
    let count = counts.get(&g.group_id).copied().unwrap_or(0);
    convert::group_info(g, owner, usize::try_from(count).unwrap_or(usize::MAX))
}

/// `GroupInfo` of the live groups among `group_ids`, in the order asked; unknown ids are left
/// out (OpenIM's `getGroupsInfo`). Dismissed groups are included.
pub(crate) async fn group_infos(
    app: &App,
    group_ids: &[String],
) -> Result<Vec<sdkws::GroupInfo>, AppError> {
    let groups = store::groups(app.store().database(), &distinct(group_ids)).await?;
    infos_of(app, &groups).await
}

/// OpenIM's group-member hash (`GetGroupAbstractInfo`'s `groupMemberListHash`): the first 8
/// bytes, big-endian, of the MD5 of the JSON array of the members' `GroupMemberFullInfo`
/// (profile-populated, appMangerLevel 0) in user-id order, as Go's `encoding/json` writes it.
pub fn member_list_hash(members: &[sdkws::GroupMemberFullInfo]) -> u64 {
    use md5::{Digest, Md5};
    let mut sorted: Vec<&sdkws::GroupMemberFullInfo> = members.iter().collect();
    sorted.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    let json = go_json(&serde_json::to_string(&sorted).unwrap_or_default());
    let sum = Md5::digest(json.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&sum[..8]);
    u64::from_be_bytes(first)
}

/// Go's `encoding/json` escapes HTML characters and the JavaScript line separators, which
/// serde_json writes verbatim; the hash is over Go's bytes.
fn go_json(s: &str) -> String {
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

impl App {
    /// `/group/get_groups_info` (any user): an empty id list is 1001; unknown ids are left
    /// out; dismissed groups are answered (status 2), as OpenIM does.
    pub async fn get_groups_info(
        &self,
        req: pb::GetGroupsInfoReq,
    ) -> Result<pb::GetGroupsInfoResp, AppError> {
        if req.group_i_ds.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        Ok(pb::GetGroupsInfoResp {
            group_infos: group_infos(self, &req.group_i_ds).await?,
        })
    }

    /// `/group/get_joined_group_list` (O): the user's groups in OpenIM's joined-group order
    /// (name, then creation time), dismissed groups left out; `total` counts them all.
    pub async fn get_joined_group_list(
        &self,
        caller: &Caller,
        req: pb::GetJoinedGroupListReq,
    ) -> Result<pb::GetJoinedGroupListResp, AppError> {
        let page = page_of(req.pagination.as_ref())?;
        owner(caller, &req.from_user_id, "fromUserID")?;
        let db = self.store().database();
        let ids = store::joined_group_ids(db, &req.from_user_id).await?;
        let total = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        let wanted = page.slice(ids);
        Ok(pb::GetJoinedGroupListResp {
            total,
            groups: group_infos(self, &wanted).await?,
        })
    }

    /// `/group/get_group_members_info` (members and app admins): the members among
    /// `userIDs`, profile-populated; ids that are not members are left out.
    pub async fn get_group_members_info(
        &self,
        caller: &Caller,
        req: pb::GetGroupMembersInfoReq,
    ) -> Result<pb::GetGroupMembersInfoResp, AppError> {
        if req.user_i_ds.is_empty() {
            return Err(AppError::args("userIDs empty"));
        }
        if req.group_id.is_empty() {
            return Err(AppError::args("groupID empty"));
        }
        check_admin_or_in_group(self, caller, &req.group_id).await?;
        let members = store::members_by_ids(
            self.store().database(),
            &req.group_id,
            &distinct(&req.user_i_ds),
        )
        .await?;
        Ok(pb::GetGroupMembersInfoResp {
            members: self.member_infos(&members).await?,
        })
    }

    /// `/group/get_group_member_list` (members and app admins): a page of the members by role
    /// then join time; a `keyword` matches group nicknames (OpenIM's `SearchMember`).
    pub async fn get_group_member_list(
        &self,
        caller: &Caller,
        req: pb::GetGroupMemberListReq,
    ) -> Result<pb::GetGroupMemberListResp, AppError> {
        if req.group_id.is_empty() {
            return Err(AppError::args("groupID is empty"));
        }
        let page = page_of(req.pagination.as_ref())?;
        if !(0..=5).contains(&req.filter) {
            return Err(AppError::args("filter is invalid"));
        }
        check_admin_or_in_group(self, caller, &req.group_id).await?;
        let (total, members) =
            store::members_page(self.store().database(), &req.group_id, &req.keyword, page).await?;
        Ok(pb::GetGroupMemberListResp {
            total: u32::try_from(total).unwrap_or(u32::MAX),
            members: self.member_infos(&members).await?,
        })
    }

    /// `/group/get_group_member_user_id` (members and app admins): every member's user id,
    /// by role then join time.
    pub async fn get_group_member_user_id(
        &self,
        caller: &Caller,
        req: pb::GetGroupMemberUserIDsReq,
    ) -> Result<pb::GetGroupMemberUserIDsResp, AppError> {
        if req.group_id.is_empty() {
            return Err(AppError::args("GroupID is empty"));
        }
        let ids = store::member_user_ids(self.store().database(), &req.group_id).await?;
        if !caller.is_admin && !ids.contains(&caller.user_id) {
            return Err(AppError::no_permission("opUser no permission"));
        }
        Ok(pb::GetGroupMemberUserIDsResp { user_i_ds: ids })
    }

    /// `/group/get_group_abstract_info` (members and app admins): per group its member count
    /// and member-list hash. Empty or repeated ids are 1001; an unknown group is 1201.
    pub async fn get_group_abstract_info(
        &self,
        caller: &Caller,
        req: pb::GetGroupAbstractInfoReq,
    ) -> Result<pb::GetGroupAbstractInfoResp, AppError> {
        if req.group_i_ds.is_empty() {
            return Err(AppError::args("groupIDs empty"));
        }
        if distinct(&req.group_i_ds).len() != req.group_i_ds.len() {
            return Err(AppError::args("groupIDs duplicate"));
        }
        for group_id in &req.group_i_ds {
            check_admin_or_in_group(self, caller, group_id).await?;
        }
        let db = self.store().database();
        let groups = store::groups(db, &req.group_i_ds).await?;
        if groups.len() != req.group_i_ds.len() {
            let found: HashSet<&str> = groups.iter().map(|g| g.group_id.as_str()).collect();
            let missing: Vec<&str> = req
                .group_i_ds
                .iter()
                .map(String::as_str)
                .filter(|id| !found.contains(id))
                .collect();
            return Err(AppError::coded(
                ErrCode::GroupIdNotFound,
                format!("not found group {}", missing.join(",")),
            ));
        }
        let mut out = Vec::with_capacity(groups.len());
        for g in &groups {
            let members = self.load_members(&g.group_id).await?;
            let infos = self.member_infos(&members).await?;
            out.push(pb::GroupAbstractInfo {
                group_id: g.group_id.clone(),
                group_member_number: u32::try_from(infos.len()).unwrap_or(u32::MAX),
                group_member_list_hash: member_list_hash(&infos),
            });
        }
        Ok(pb::GetGroupAbstractInfoResp {
            group_abstract_infos: out,
        })
    }

    /// `/group/get_groups` (OpenIM's CMS search; any token, as in OpenIM): one group by id
    /// (dismissed included), or a page of the groups whose name contains `groupName`, newest
    /// first, dismissed left out. The owner's name is the owner's *group* nickname as stored.
    pub async fn get_groups(
        &self,
        _caller: &Caller,
        req: pb::GetGroupsReq,
    ) -> Result<pb::GetGroupsResp, AppError> {
        let page = page_of(req.pagination.as_ref())?;
        let db = self.store().database();
        let (total, groups) = if req.group_id.is_empty() {
            store::search_groups(db, &req.group_name, page).await?
        } else {
            let groups = store::groups(db, std::slice::from_ref(&req.group_id)).await?;
            (groups.len() as u64, groups)
        };
        let ids: Vec<String> = groups.iter().map(|g| g.group_id.clone()).collect();
        let owners = store::owners(db, &ids).await?;
        let counts = store::member_counts(db, &ids).await?;
        Ok(pb::GetGroupsResp {
            total: u32::try_from(total).unwrap_or(u32::MAX),
            groups: groups
                .iter()
                .map(|g| {
                    let owner = owners.get(&g.group_id);
                    pb::CmsGroup {
                        group_info: Some(info_with(g, &owners, &counts)),
                        group_owner_user_name: owner
                            .map(|m| m.nickname.clone())
                            .unwrap_or_default(),
                        group_owner_user_id: owner.map(|m| m.user_id.clone()).unwrap_or_default(),
                    }
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_member_list_hashes_go_empty_array() {
        // md5("[]") = d751713988987e9331980363e24189ce
        assert_eq!(member_list_hash(&[]), 0xd751713988987e93);
    }

    /// The expected value is the MD5 of the bytes Go's `encoding/json` writes for these two
    /// members (user-id order, HTML escaped), computed outside Rust.
    #[test]
    fn member_list_hash_is_over_go_json_in_user_id_order() {
        let b = sdkws::GroupMemberFullInfo {
            group_id: "g1".into(),
            user_id: "b".into(),
            role_level: 20,
            join_time: 1_700_000_000_001,
            nickname: "b".into(),
            face_url: "f".into(),
            app_manger_level: 0,
            join_source: 2,
            operator_user_id: "a".into(),
            ex: "x".into(),
            mute_end_time: 5,
            inviter_user_id: "a".into(),
        };
        let a = sdkws::GroupMemberFullInfo {
            group_id: "g1".into(),
            user_id: "a".into(),
            role_level: 100,
            join_time: 1_700_000_000_000,
            nickname: "A <boss>".into(),
            join_source: 2,
            operator_user_id: "a".into(),
            ..Default::default()
        };
        assert_eq!(member_list_hash(&[b, a]), 0xbc0c668e04c3e948);
    }

    #[test]
    fn go_escapes_html() {
        assert_eq!(go_json(r#"{"a":"<&>"}"#), r#"{"a":"\u003c\u0026\u003e"}"#);
    }
}
