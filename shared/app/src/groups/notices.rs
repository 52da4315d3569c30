//! What the group commands share around their notifications (OpenIM's
//! `internal/rpc/group/notification.go`): the operator as a member, the group-member version
//! the tips carry, sending without failing the command, and the conversation seqs of members
//! who join or leave.

use super::state::GroupState;
use crate::notify::{Notice, Target};
use crate::{App, AppError};
use rill_core::types::{app_manager_level, role};
use rill_wire::pb::sdkws;
use serde::Serialize;

/// Group notification content types (protocol.md §4.6).
pub mod kind {
    pub const GROUP_CREATED: i32 = 1501;
    pub const GROUP_INFO_SET: i32 = 1502;
    pub const JOIN_GROUP_APPLICATION: i32 = 1503;
    pub const MEMBER_QUIT: i32 = 1504;
    pub const GROUP_APPLICATION_ACCEPTED: i32 = 1505;
    pub const GROUP_APPLICATION_REJECTED: i32 = 1506;
    pub const GROUP_OWNER_TRANSFERRED: i32 = 1507;
    pub const MEMBER_KICKED: i32 = 1508;
    pub const MEMBER_INVITED: i32 = 1509;
    pub const MEMBER_ENTER: i32 = 1510;
    pub const GROUP_DISMISSED: i32 = 1511;
    pub const GROUP_MEMBER_MUTED: i32 = 1512;
    pub const GROUP_MEMBER_CANCEL_MUTED: i32 = 1513;
    pub const GROUP_MUTED: i32 = 1514;
    pub const GROUP_CANCEL_MUTED: i32 = 1515;
    pub const GROUP_MEMBER_INFO_SET: i32 = 1516;
    pub const GROUP_MEMBER_SET_TO_ADMIN: i32 = 1517;
    pub const GROUP_MEMBER_SET_TO_ORDINARY: i32 = 1518;
    pub const GROUP_INFO_SET_ANNOUNCEMENT: i32 = 1519;
    pub const GROUP_INFO_SET_NAME: i32 = 1520;
}

/// `receiverAs` of the application-handled tips: the applicant, or one of the group's
/// managers.
pub const RECEIVER_APPLICANT: i32 = 0;
pub const RECEIVER_ADMIN: i32 = 1;

/// OpenIM logs a failed notification and still answers the command with success (the change
/// is made); so do we.
pub fn logged<T>(what: &str, r: Result<T, AppError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(error = %e, "group notification {what} not sent");
            None
        }
    }
}

impl App {
    /// `groupMemberVersion`/`groupMemberVersionID` for tips: the group-member log's head right
    /// after the change (OpenIM takes the version its own write produced). A change committed
    /// in between only makes the SDK see a gap and re-sync incrementally.
    pub(crate) async fn member_version(&self, group_id: &str) -> (u64, String) {
        let log = rill_store::versions::VersionLog::new(
            self.store().database(),
            rill_store::versions::GROUP_MEMBERS,
        );
        match log.head(group_id).await {
            Ok(h) => (h.version, h.id),
            Err(e) => {
                tracing::warn!(error = %e, group_id, "group member version unavailable");
                (0, String::new())
            }
        }
    }

    /// OpenIM's `fillUserByUserID`: an app admin appears as a group admin with
    /// appMangerLevel 2; a member as its row; anyone else as a bare member; empty nickname
    /// and faceURL come from the user's profile. 1004 when the user does not exist.
    pub(crate) async fn member_as_user(
        &self,
        state: &GroupState,
        user_id: &str,
        current: Option<sdkws::GroupMemberFullInfo>,
    ) -> Result<sdkws::GroupMemberFullInfo, AppError> {
        let group_id = &state.group.group_id;
        let found = if self.config().is_admin(user_id) {
            Some(sdkws::GroupMemberFullInfo {
                group_id: group_id.clone(),
                user_id: user_id.to_string(),
                role_level: role::ADMIN,
                app_manger_level: app_manager_level::APP_ADMIN,
                ..Default::default()
            })
        } else {
            state.member(user_id).map(super::convert::member_info)
        };
        let user = self
            .user_brief(user_id)
            .await?
            .ok_or_else(|| super::state::not_found(format!("user {user_id} not found")))?;
        Ok(match found.or(current) {
            None => sdkws::GroupMemberFullInfo {
                group_id: group_id.clone(),
                user_id: user_id.to_string(),
                nickname: user.nickname,
                face_url: user.face_url,
                operator_user_id: user_id.to_string(),
                ..Default::default()
            },
            Some(mut m) => {
                if m.nickname.is_empty() {
                    m.nickname = user.nickname;
                }
                if m.face_url.is_empty() {
                    m.face_url = user.face_url;
                }
                m
            }
        })
    }

    /// Members of the state as OpenIM's `getGroupMembers` lists them (populated), keyed by id.
    pub(crate) async fn populated(
        &self,
        state: &GroupState,
        user_ids: &[&str],
    ) -> Result<Vec<sdkws::GroupMemberFullInfo>, AppError> {
        let rows: Vec<_> = state
            .members
            .iter()
            .filter(|m| user_ids.contains(&m.user_id.as_str()))
            .cloned()
            .collect();
        self.member_infos(&rows).await
    }

    /// Sends a group notification to every member (plus `extra`); logs a failure. Returns the
    /// stored chat copy's seq.
    pub(crate) async fn group_notice<T: Serialize>(
        &self,
        content_type: i32,
        send_id: &str,
        group_id: &str,
        tips: &T,
        extra: &[String],
        send_message: Option<bool>,
    ) -> Option<i64> {
        let r = self
            .notify(Notice {
                content_type,
                send_id,
                target: Target::Group(group_id),
                tips,
                extra_recipients: extra,
                send_message,
            })
            .await;
        logged(&content_type.to_string(), r).flatten()
    }

    /// Sends a notification from `send_id` to one user (OpenIM's per-user group notices:
    /// applications and their answers); logs a failure.
    pub(crate) async fn user_notice<T: Serialize>(
        &self,
        content_type: i32,
        send_id: &str,
        recv_id: &str,
        tips: &T,
    ) {
        let r = self
            .notify(Notice {
                content_type,
                send_id,
                target: Target::User(recv_id),
                tips,
                extra_recipients: &[],
                send_message: None,
            })
            .await;
        logged(&content_type.to_string(), r);
    }

    /// New members get the group conversation, and any max-seq cap left from an earlier
    /// membership is removed (OpenIM's `setMemberJoinSeq` sets it to 0). OpenIM's default
    /// `enableHistoryForNewMembers: true` leaves their min seq alone, so a new member sees
    /// the group's history.
    pub(crate) async fn members_entered(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), AppError> {
        self.create_group_conversations(group_id, user_ids).await?;
        let conv = rill_core::conversation::group(group_id);
        self.set_conversation_max_seq(&conv, user_ids, 0).await
    }

    /// Members who left see the group conversation up to `seq` (their own leave notice) and
    /// nothing later: OpenIM's `deleteMemberAndSetConversationSeq`, which caps them at the
    /// conversation's max seq right after sending the notice.
    pub(crate) async fn members_left(
        &self,
        group_id: &str,
        user_ids: &[String],
        seq: Option<i64>,
    ) -> Result<(), AppError> {
        if user_ids.is_empty() {
            return Ok(());
        }
        let conv = rill_core::conversation::group(group_id);
        let cap = match seq {
            Some(s) => s,
            None => self.log().max_seq(&conv).await?,
        };
        self.set_conversation_max_seq(&conv, user_ids, cap).await
    }
}
