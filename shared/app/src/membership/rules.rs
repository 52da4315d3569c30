//! The group rules of the send path (OpenIM 3.8 `internal/rpc/msg/verify.go`,
//! `messageVerification`, ReadGroupChatType) and the extra recipients of the push
//! (`internal/push/push_handler.go`, `groupMessagesHandler`), as pure functions of a snapshot.

use super::snapshot::GroupSnapshot;
use crate::AppError;
use rill_core::ErrCode;
use rill_core::types::{content, role};

use crate::groups::notices::kind as notification;
use rill_core::types::group_status as status;

/// What a group send is checked against.
pub struct GroupSend<'a> {
    pub send_id: &'a str,
    pub content_type: i32,
    /// The sender is a configured IM admin.
    pub sender_is_admin: bool,
    /// Now, in ms (mutes end at a time).
    pub now_ms: i64,
}

/// OpenIM's order of checks: the group must exist (1004 — OpenIM's group lookup fails with
/// RecordNotFound, not GroupIDNotFound), must not be dismissed (1204) unless this is the
/// dismissal notification itself; IM admins and notification content types skip the rest;
/// the sender must be a member (1203); the owner is never muted; a member muted until a time
/// not yet past gets 1402 (`muteEndTime >= now`, admins too); in a muted group everyone but the
/// owner and admins gets 1403.
pub fn check_send(snap: &GroupSnapshot, s: &GroupSend<'_>) -> Result<(), AppError> {
    let Some(group) = snap.group() else {
        return Err(AppError::coded(
            ErrCode::RecordNotFound,
            format!("group {} not found", snap.group_id()),
        ));
    };
    if group.status == status::DISMISSED && s.content_type != notification::GROUP_DISMISSED {
        return Err(AppError::coded(
            ErrCode::DismissedAlready,
            format!("group {} is dismissed", snap.group_id()),
        ));
    }
    // OpenIM also lets everything through for its legacy super groups (groupType 1); Rill
    // creates only working groups (2), so that case cannot occur.
    if s.sender_is_admin || content::is_notification(s.content_type) {
        return Ok(());
    }
    let Some(member) = snap.member(s.send_id) else {
        return Err(AppError::coded(
            ErrCode::NotInGroupYet,
            format!("{} is not in group {}", s.send_id, snap.group_id()),
        ));
    };
    if member.role_level == role::OWNER {
        return Ok(());
    }
    if member.mute_end_time >= s.now_ms {
        return Err(AppError::coded(
            ErrCode::MutedInGroup,
            format!("{} is muted in group {}", s.send_id, snap.group_id()),
        ));
    }
    if group.status == status::MUTED && member.role_level != role::ADMIN {
        return Err(AppError::coded(
            ErrCode::MutedGroup,
            format!("group {} is muted", snap.group_id()),
        ));
    }
    Ok(())
}

/// OpenIM's group revoke rule (`internal/rpc/msg/revoke.go`): a member may revoke their own
/// message; the owner anyone's; an admin only an ordinary member's (or a former member's);
/// nobody else anything (OpenIM dereferences a missing revoker there and fails; Rill says
/// 1002). Returns the revoker's role level, 0 when not a member, which the revoke records.
pub fn revoke_role(snap: &GroupSnapshot, revoker: &str, sender: &str) -> Result<i32, AppError> {
    let role_of = |u: &str| snap.member(u).map(|m| m.role_level);
    let revoker_role = role_of(revoker);
    if revoker != sender {
        let allowed = match revoker_role {
            Some(role::OWNER) => true,
            Some(role::ADMIN) => role_of(sender).is_none_or(|r| r == role::MEMBER),
            _ => false,
        };
        if !allowed {
            return Err(AppError::no_permission("no permission"));
        }
    }
    Ok(revoker_role.unwrap_or(0))
}

/// Who gets a group message online: every member, the sender included (OpenIM's
/// `Push2Group` ignores `senderSync`), then the users of [`extra_recipients`].
pub fn recipients(snap: &GroupSnapshot, content_type: i32, content: &[u8]) -> Vec<String> {
    let mut out = snap.member_ids();
    for user in extra_recipients(content_type, content) {
        if !snap.is_member(&user) && !out.contains(&user) {
            out.push(user);
        }
    }
    out
}

/// The users a group notification reaches besides the members: the one who quit (1504) and
/// the kicked ones (1508), read from the tips in `{"detail": "<json>"}`, as OpenIM's push does
/// (they are no longer members when their notice is pushed). Empty for anything else or
/// content that does not parse.
pub fn extra_recipients(content_type: i32, content: &[u8]) -> Vec<String> {
    if content_type != notification::MEMBER_QUIT && content_type != notification::MEMBER_KICKED {
        return Vec::new();
    }
    let Some(tips) = tips_of(content) else {
        return Vec::new();
    };
    let user_id = |v: &serde_json::Value| {
        v.get("userID")
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if content_type == notification::MEMBER_QUIT {
        return tips.get("quitUser").and_then(user_id).into_iter().collect();
    }
    tips.get("kickedUserList")
        .and_then(serde_json::Value::as_array)
        .map(|list| list.iter().filter_map(user_id).collect())
        .unwrap_or_default()
}

fn tips_of(content: &[u8]) -> Option<serde_json::Value> {
    let elem: serde_json::Value = serde_json::from_slice(content).ok()?;
    let detail = elem.get("detail")?.as_str()?;
    serde_json::from_str(detail).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::membership::snapshot::{GroupFacts, MemberFacts};

    fn snap(status: i32) -> GroupSnapshot {
        let m = |u: &str, role_level: i32, mute_end_time: i64| MemberFacts {
            user_id: u.into(),
            role_level,
            mute_end_time,
        };
        GroupSnapshot::new(
            "g",
            Some(GroupFacts {
                status,
                group_type: 2,
            }),
            vec![
                m("owner", 100, 2_000),
                m("admin", 60, 0),
                m("member", 20, 0),
                m("muted", 20, 1_500),
                m("was_muted", 20, 999),
            ],
        )
    }

    fn code(snap: &GroupSnapshot, send_id: &str, content_type: i32) -> Option<ErrCode> {
        check_send(
            snap,
            &GroupSend {
                send_id,
                content_type,
                sender_is_admin: send_id == "imAdmin",
                now_ms: 1_000,
            },
        )
        .err()
        .map(|e| e.code())
    }

    #[test]
    fn openim_order_of_checks() {
        let ok = snap(status::OK);
        assert_eq!(code(&ok, "member", 101), None);
        assert_eq!(code(&ok, "stranger", 101), Some(ErrCode::NotInGroupYet));
        assert_eq!(code(&ok, "imAdmin", 101), None);
        assert_eq!(code(&ok, "stranger", 1501), None);
        assert_eq!(code(&ok, "muted", 101), Some(ErrCode::MutedInGroup));
        assert_eq!(code(&ok, "was_muted", 101), None);
        // The owner's own mute end is ignored.
        assert_eq!(code(&ok, "owner", 101), None);
        let muted = snap(status::MUTED);
        assert_eq!(code(&muted, "member", 101), Some(ErrCode::MutedGroup));
        assert_eq!(code(&muted, "admin", 101), None);
        assert_eq!(code(&muted, "owner", 101), None);
        assert_eq!(code(&muted, "muted", 101), Some(ErrCode::MutedInGroup));
        let dismissed = snap(status::DISMISSED);
        assert_eq!(
            code(&dismissed, "owner", 101),
            Some(ErrCode::DismissedAlready)
        );
        assert_eq!(
            code(&dismissed, "imAdmin", 101),
            Some(ErrCode::DismissedAlready)
        );
        assert_eq!(code(&dismissed, "owner", 1511), None);
        let unknown = GroupSnapshot::new("x", None, Vec::new());
        assert_eq!(code(&unknown, "member", 101), Some(ErrCode::RecordNotFound));
    }

    #[test]
    fn revokes_follow_roles() {
        let s = snap(status::OK);
        let r =
            |revoker: &str, sender: &str| revoke_role(&s, revoker, sender).map_err(|e| e.code());
        assert_eq!(r("member", "member"), Ok(20));
        assert_eq!(r("member", "admin"), Err(ErrCode::NoPermission));
        assert_eq!(r("admin", "member"), Ok(60));
        assert_eq!(r("admin", "gone"), Ok(60));
        assert_eq!(r("admin", "owner"), Err(ErrCode::NoPermission));
        assert_eq!(r("admin", "admin"), Ok(60));
        assert_eq!(r("owner", "admin"), Ok(100));
        assert_eq!(r("gone", "gone"), Ok(0));
        assert_eq!(r("gone", "member"), Err(ErrCode::NoPermission));
    }

    fn detail(tips: serde_json::Value) -> Vec<u8> {
        serde_json::json!({ "detail": tips.to_string() })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn quitters_and_kicked_users_get_their_notice() {
        let quit = detail(serde_json::json!({"quitUser": {"userID": "u3"}}));
        assert_eq!(extra_recipients(1504, &quit), vec!["u3"]);
        let kicked = detail(serde_json::json!({
            "kickedUserList": [{"userID": "u4"}, {"userID": "u5"}],
            "opUser": {"userID": "u1"},
        }));
        assert_eq!(extra_recipients(1508, &kicked), vec!["u4", "u5"]);
        assert!(extra_recipients(1501, &kicked).is_empty());
        assert!(extra_recipients(1508, b"not json").is_empty());
    }
}
