//! Stored group rows → OpenIM's wire shapes (`sdkws.GroupInfo`, `sdkws.GroupMemberFullInfo`),
//! as OpenIM's `pkg/common/convert` does. Shared by the group commands and queries.

use crate::{App, AppError};
use rill_core::entity::{Group, Member};
use rill_core::types::role;
use rill_wire::pb::sdkws;

/// The owner among `members` (the member with role 100), if any.
pub fn owner_of(members: &[Member]) -> Option<&Member> {
    members.iter().find(|m| m.role_level == role::OWNER)
}

/// `GroupInfo` of a group whose owner and member count are known. OpenIM does not store
/// either on the group: the owner is the member with role 100 and the count is counted.
pub fn group_info(g: &Group, owner_user_id: &str, member_count: usize) -> sdkws::GroupInfo {
    sdkws::GroupInfo {
        group_id: g.group_id.clone(),
        group_name: g.group_name.clone(),
        notification: g.notification.clone(),
        introduction: g.introduction.clone(),
        face_url: g.face_url.clone(),
        owner_user_id: owner_user_id.to_string(),
        create_time: g.create_time,
        member_count: u32::try_from(member_count).unwrap_or(u32::MAX),
        ex: g.ex.clone(),
        status: g.status,
        creator_user_id: g.creator_user_id.clone(),
        group_type: g.group_type,
        need_verification: g.need_verification,
        look_member_info: g.look_member_info,
        apply_member_friend: g.apply_member_friend,
        notification_update_time: g.notification_update_time,
        notification_user_id: g.notification_user_id.clone(),
    }
}

/// `GroupInfo` of a group with its live members (owner and count taken from them).
pub fn group_info_of(g: &Group, members: &[Member]) -> sdkws::GroupInfo {
    let owner = owner_of(members).map(|m| m.user_id.as_str()).unwrap_or("");
    group_info(g, owner, members.len())
}

/// `GroupMemberFullInfo` of a stored member, as stored (OpenIM's `Db2PbGroupMember`:
/// appMangerLevel is always 0). Empty nickname/faceURL are filled from the user's profile by
/// [`App::populate_members`], as OpenIM's group service does before answering.
pub fn member_info(m: &Member) -> sdkws::GroupMemberFullInfo {
    sdkws::GroupMemberFullInfo {
        group_id: m.group_id.clone(),
        user_id: m.user_id.clone(),
        role_level: m.role_level,
        join_time: m.join_time,
        nickname: m.nickname.clone(),
        face_url: m.face_url.clone(),
        app_manger_level: 0,
        join_source: m.join_source,
        operator_user_id: m.operator_user_id.clone(),
        ex: m.ex.clone(),
        mute_end_time: m.mute_end_time,
        inviter_user_id: m.inviter_user_id.clone(),
    }
}

impl App {
    /// Fills each member's empty nickname and faceURL from the user's profile (OpenIM's
    /// `PopulateGroupMember`: a group nickname overrides the profile only when set).
    pub async fn populate_members(
        &self,
        members: &mut [sdkws::GroupMemberFullInfo],
    ) -> Result<(), AppError> {
        let wanted: Vec<String> = members
            .iter()
            .filter(|m| m.nickname.is_empty() || m.face_url.is_empty())
            .map(|m| m.user_id.clone())
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let users = self.user_briefs(&wanted).await?;
        for m in members.iter_mut() {
            if let Some(u) = users.get(&m.user_id) {
                if m.nickname.is_empty() {
                    m.nickname = u.nickname.clone();
                }
                if m.face_url.is_empty() {
                    m.face_url = u.face_url.clone();
                }
            }
        }
        Ok(())
    }

    /// [`member_info`] of each member, populated from the users' profiles.
    pub async fn member_infos(
        &self,
        members: &[Member],
    ) -> Result<Vec<sdkws::GroupMemberFullInfo>, AppError> {
        let mut out: Vec<_> = members.iter().map(member_info).collect();
        self.populate_members(&mut out).await?;
        Ok(out)
    }
}
