//! Session types, content types, message status and other small enums of the OpenIM protocol
//! (protocol.md §4.2–4.4). Kept as integer constants where the wire carries open-ended integers.

/// `MsgData.sessionType`.
pub mod session {
    pub const SINGLE: i32 = 1;
    /// Legacy write-diffusion group; send rejects it.
    pub const WRITE_GROUP: i32 = 2;
    /// Every group chat in OpenIM 3.x.
    pub const READ_GROUP: i32 = 3;
    /// Notification/OA chat; only with content type 1400.
    pub const NOTIFICATION: i32 = 4;
}

/// `MsgData.contentType`.
pub mod content {
    pub const TEXT: i32 = 101;
    pub const PICTURE: i32 = 102;
    pub const VOICE: i32 = 103;
    pub const VIDEO: i32 = 104;
    pub const FILE: i32 = 105;
    pub const AT_TEXT: i32 = 106;
    pub const MERGER: i32 = 107;
    pub const CARD: i32 = 108;
    pub const LOCATION: i32 = 109;
    pub const CUSTOM: i32 = 110;
    pub const REVOKE_LEGACY: i32 = 111;
    pub const TYPING: i32 = 113;
    pub const QUOTE: i32 = 114;
    pub const FACE: i32 = 115;
    pub const ADVANCED_TEXT: i32 = 117;
    pub const MARKDOWN_TEXT: i32 = 118;
    pub const OA_NOTIFICATION: i32 = 1400;
    pub const NOTIFICATION_BEGIN: i32 = 1000;
    pub const NOTIFICATION_END: i32 = 5000;
    pub const CONVERSATION_CHANGE: i32 = 1300;
    pub const CONVERSATION_PRIVATE_CHAT: i32 = 1701;
    pub const CONVERSATION_UNREAD: i32 = 1702;
    pub const CLEAR_CONVERSATION: i32 = 1703;
    pub const CONVERSATION_DELETE: i32 = 1704;
    pub const DELETE_MSGS_NOTIFICATION: i32 = 2102;
    pub const MSG_REVOKE_NOTIFICATION: i32 = 2101;
    pub const HAS_READ_RECEIPT: i32 = 2200;

    /// Notification content types skip sender checks and webhooks.
    pub fn is_notification(t: i32) -> bool {
        (NOTIFICATION_BEGIN..=NOTIFICATION_END).contains(&t)
    }
}

/// `MsgData.msgFrom`.
pub mod msg_from {
    pub const USER: i32 = 100;
    pub const SYSTEM: i32 = 200;
}

/// `MsgData.status`.
pub mod status {
    pub const SENDING: i32 = 1;
    pub const SEND_SUCCESS: i32 = 2;
    pub const SEND_FAILED: i32 = 3;
    /// Deleted, or a placeholder for a hole in a pulled range.
    pub const DELETED: i32 = 4;
    pub const FILTERED: i32 = 5;
}

/// Group member roles.
/// `Group.status` (OpenIM's GroupOk / GroupBanChat / GroupStatusDismissed / GroupStatusMuted).
pub mod group_status {
    pub const OK: i32 = 0;
    pub const BANNED: i32 = 1;
    pub const DISMISSED: i32 = 2;
    pub const MUTED: i32 = 3;
}

pub mod role {
    pub const OWNER: i32 = 100;
    pub const ADMIN: i32 = 60;
    pub const MEMBER: i32 = 20;
}

/// `recvMsgOpt`, per user or per conversation.
pub mod recv_opt {
    pub const RECEIVE: i32 = 0;
    pub const NOT_RECEIVE: i32 = 1;
    pub const RECEIVE_NOT_NOTIFY: i32 = 2;
}

/// `appMangerLevel` (sic) of a user.
pub mod app_manager_level {
    pub const USER: i32 = 0;
    pub const APP_ADMIN: i32 = 2;
    pub const NOTIFICATION_ACCOUNT: i32 = 3;
    pub const ROBOT: i32 = 4;
}
