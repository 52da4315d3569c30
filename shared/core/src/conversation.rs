//! Conversation ids (protocol.md §4.1) and the partition a conversation's keys live in.

use crate::types::session;

/// `si_<min>_<max>` for a single chat.
pub fn single(a: &str, b: &str) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    format!("si_{lo}_{hi}")
}

/// `sg_<groupID>` for a group chat.
pub fn group(group_id: &str) -> String {
    format!("sg_{group_id}")
}

/// `sn_<min>_<max>` for a notification (OA) chat.
pub fn notification_chat(a: &str, b: &str) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    format!("sn_{lo}_{hi}")
}

/// The `n_` twin of a chat conversation id: the first `_`-separated token replaced by `n`.
pub fn notification_twin(conversation_id: &str) -> String {
    match conversation_id.split_once('_') {
        Some((_, rest)) => format!("n_{rest}"),
        None => format!("n_{conversation_id}"),
    }
}

/// The conversation a message belongs to, from its session type and ids. `None` for session
/// types that cannot be sent (the legacy write-diffusion group, unknown values).
///
/// A message whose `isNotNotification` option is false goes to the `n_` twin instead; the
/// caller decides that (see [`crate::options`]).
pub fn conversation_id_for(
    session_type: i32,
    send_id: &str,
    recv_id: &str,
    group_id: &str,
) -> Option<String> {
    match session_type {
        session::SINGLE => Some(single(send_id, recv_id)),
        session::READ_GROUP => Some(group(group_id)),
        session::NOTIFICATION => Some(notification_chat(send_id, recv_id)),
        _ => None,
    }
}

/// The partition of a conversation: `crc32(conversationID) % partitions` (DESIGN.md §2).
pub fn partition_of(conversation_id: &str, partitions: u32) -> u32 {
    crc32fast::hash(conversation_id.as_bytes()) % partitions.max(1)
}

/// The peer of `user_id` in a single-chat conversation id, if `user_id` is one of its two ends.
pub fn single_peer<'a>(conversation_id: &'a str, user_id: &str) -> Option<&'a str> {
    let rest = conversation_id.strip_prefix("si_")?;
    // Either "<user>_<peer>" or "<peer>_<user>"; user ids contain no ':' but may contain '_'.
    if let Some(peer) = rest.strip_prefix(user_id).and_then(|r| r.strip_prefix('_')) {
        return Some(peer);
    }
    rest.strip_suffix(user_id).and_then(|r| r.strip_suffix('_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ids_are_sorted() {
        assert_eq!(single("u2", "u1"), "si_u1_u2");
        assert_eq!(single("u1", "u2"), "si_u1_u2");
        assert_eq!(notification_twin("si_u1_u2"), "n_u1_u2");
        assert_eq!(notification_twin("sg_42"), "n_42");
        assert_eq!(
            conversation_id_for(3, "u1", "", "42").as_deref(),
            Some("sg_42")
        );
        assert_eq!(conversation_id_for(2, "u1", "", "42"), None);
        assert_eq!(single_peer("si_u1_u2", "u1"), Some("u2"));
        assert_eq!(single_peer("si_u1_u2", "u2"), Some("u1"));
        assert_eq!(single_peer("si_u1_u2", "u3"), None);
    }

    #[test]
    fn partitions_are_stable() {
        let p = partition_of("si_u1_u2", 16);
        assert!(p < 16);
        assert_eq!(p, partition_of("si_u1_u2", 16));
        assert_eq!(partition_of("x", 0), 0);
    }
}
