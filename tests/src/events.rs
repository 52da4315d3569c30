//! Listener event numbers of the SDK core (`open_im_sdk_callback`, as the official electron
//! wrapper `@openim/electron-client-sdk` names them in its `NativeEvent` enum).

pub const KICKED_OFFLINE: i64 = 3;
pub const JOINED_GROUP_ADDED: i64 = 5;
pub const JOINED_GROUP_DELETED: i64 = 6;
pub const GROUP_MEMBER_ADDED: i64 = 7;
pub const GROUP_MEMBER_DELETED: i64 = 8;
pub const GROUP_INFO_CHANGED: i64 = 11;
pub const GROUP_DISMISSED: i64 = 12;
pub const GROUP_MEMBER_INFO_CHANGED: i64 = 13;
pub const FRIEND_APPLICATION_ADDED: i64 = 16;
pub const FRIEND_APPLICATION_DELETED: i64 = 17;
pub const FRIEND_APPLICATION_ACCEPTED: i64 = 18;
pub const FRIEND_APPLICATION_REJECTED: i64 = 19;
pub const FRIEND_ADDED: i64 = 20;
pub const FRIEND_DELETED: i64 = 21;
pub const FRIEND_INFO_CHANGED: i64 = 22;
pub const BLACK_ADDED: i64 = 23;
pub const BLACK_DELETED: i64 = 24;
pub const SYNC_SERVER_FINISH: i64 = 26;
pub const SYNC_SERVER_FAILED: i64 = 28;
pub const NEW_CONVERSATION: i64 = 29;
pub const CONVERSATION_CHANGED: i64 = 30;
pub const RECV_NEW_MESSAGES: i64 = 41;
