//! The friend notifications (1201–1210) as OpenIM's `relation/notification.go` sends them:
//! each is a single-chat notification from one user to another (the sender's own devices get
//! it too), and a failure to send is logged, never reported to the caller.
//!
//! Quirks kept: the version fields of the tips (`friendVersion`, `friendVersionID`, …) stay
//! zero (OpenIM looks the remark's version up under the wrong user id and never fills the
//! others); import sends 1201 "approved" from each new friend to the owner, not 1204; 1206
//! goes from the owner to the friend and 1210 from the owner to themselves.

use crate::notify::{Notice, Target};
use crate::{App, AppError};
use rill_wire::pb::sdkws;
use serde::Serialize;

pub(super) const APPROVED: i32 = 1201;
pub(super) const REJECTED: i32 = 1202;
pub(super) const APPLICATION: i32 = 1203;
pub(super) const DELETED: i32 = 1205;
pub(super) const REMARK_SET: i32 = 1206;
pub(super) const BLACK_ADDED: i32 = 1207;
pub(super) const BLACK_DELETED: i32 = 1208;
pub(super) const INFO_UPDATED: i32 = 1209;
pub(super) const FRIENDS_INFO_UPDATE: i32 = 1210;

pub(super) fn from_to(from: &str, to: &str) -> Option<sdkws::FromToUserId> {
    Some(sdkws::FromToUserId {
        from_user_id: from.to_string(),
        to_user_id: to.to_string(),
    })
}

impl App {
    /// Sends friend notification `content_type` from `send_id` to `recv_id`.
    pub(super) async fn friend_notice<T: Serialize>(
        &self,
        content_type: i32,
        send_id: &str,
        recv_id: &str,
        tips: &T,
    ) {
        let sent: Result<Option<i64>, AppError> = self
            .notify(Notice {
                content_type,
                send_id,
                target: Target::User(recv_id),
                tips,
                extra_recipients: &[],
                send_message: None,
            })
            .await;
        if let Err(e) = sent {
            tracing::warn!(content_type, send_id, recv_id, error = %e, "friend notification not sent");
        }
    }
}
