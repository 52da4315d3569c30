//! `MsgData.options` keys (protocol.md §4.6). An absent key means **true**.

use std::collections::BTreeMap;

pub const HISTORY: &str = "history";
pub const PERSISTENT: &str = "persistent";
pub const OFFLINE_PUSH: &str = "offlinePush";
pub const UNREAD_COUNT: &str = "unreadCount";
pub const CONVERSATION_UPDATE: &str = "conversationUpdate";
pub const SENDER_SYNC: &str = "senderSync";
pub const NOT_PRIVATE: &str = "notPrivate";
pub const SENDER_CONVERSATION_UPDATE: &str = "senderConversationUpdate";
pub const SENDER_NOTIFICATION_PUSH: &str = "senderNotificationPush";
pub const REACTION_FROM_CACHE: &str = "reactionFromCache";
pub const IS_NOT_NOTIFICATION: &str = "isNotNotification";
pub const IS_SEND_MSG: &str = "isSendMsg";

/// Reads an option with OpenIM's default: absent means true.
pub fn is_set(options: &BTreeMap<String, bool>, key: &str) -> bool {
    options.get(key).copied().unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_means_true() {
        let mut o = BTreeMap::new();
        assert!(is_set(&o, HISTORY));
        o.insert(HISTORY.to_string(), false);
        assert!(!is_set(&o, HISTORY));
    }
}
