//! The messages the tool sends: text messages shaped like the SDK's, whose clientMsgID carries
//! the run, the sender, the message index and the intended send instant.

use rill_wire::pb::sdkws::MsgData;

pub const SINGLE_CHAT: i32 = 1;
pub const GROUP_CHAT: i32 = 3;
const TEXT: i32 = 101;
const FROM_USER: i32 = 100;
const STATUS_SENDING: i32 = 1;

/// Identity of one sent message, as carried in its clientMsgID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub sender: u32,
    pub index: u64,
    /// Nanoseconds since the tool's epoch (see `stats::stamp`).
    pub stamp: u64,
}

/// `<prefix>-<sender>-<index>-<stamp>`
pub fn client_msg_id(prefix: &str, tag: Tag) -> String {
    format!("{prefix}-{}-{}-{}", tag.sender, tag.index, tag.stamp)
}

/// The tag of a clientMsgID of this run (`None` for anything else).
pub fn parse_tag(prefix: &str, id: &str) -> Option<Tag> {
    let rest = id.strip_prefix(prefix)?.strip_prefix('-')?;
    let mut parts = rest.split('-');
    let tag = Tag {
        sender: parts.next()?.parse().ok()?,
        index: parts.next()?.parse().ok()?,
        stamp: parts.next()?.parse().ok()?,
    };
    parts.next().is_none().then_some(tag)
}

/// A text message as the SDK's `create_text_message` + `send_message` produce it.
pub fn text(
    from: &str,
    platform_id: i32,
    to_user: &str,
    to_group: &str,
    client_msg_id: String,
    body: &str,
) -> MsgData {
    let content = serde_json::json!({ "content": body })
        .to_string()
        .into_bytes();
    MsgData {
        send_id: from.to_string(),
        recv_id: to_user.to_string(),
        group_id: to_group.to_string(),
        client_msg_id,
        sender_platform_id: platform_id,
        sender_nickname: from.to_string(),
        session_type: if to_group.is_empty() {
            SINGLE_CHAT
        } else {
            GROUP_CHAT
        },
        msg_from: FROM_USER,
        content_type: TEXT,
        content,
        create_time: rill_core::now_ms(),
        status: STATUS_SENDING,
        ..MsgData::default()
    }
}

/// A text body of `size` bytes.
pub fn body(size: usize) -> String {
    "rill bench ".chars().cycle().take(size.max(1)).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_foreign_ids_are_ignored() {
        let tag = Tag {
            sender: 7,
            index: 123,
            stamp: 987_654_321,
        };
        let id = client_msg_id("babc", tag);
        assert_eq!(parse_tag("babc", &id), Some(tag));
        assert_eq!(parse_tag("bxyz", &id), None);
        assert_eq!(parse_tag("babc", "babc-1-2"), None);
        assert_eq!(parse_tag("babc", "babc-1-2-3-4"), None);
        assert_eq!(parse_tag("babc", "9f8e7d6c5b4a"), None);
    }

    #[test]
    fn text_messages_look_like_the_sdks() {
        let m = text("u1", 3, "u2", "", "c1".into(), "hi");
        assert_eq!(
            (m.session_type, m.content_type, m.msg_from, m.status),
            (1, 101, 100, 1)
        );
        assert_eq!(m.content, br#"{"content":"hi"}"#);
        let g = text("u1", 3, "", "g1", "c2".into(), "hi");
        assert_eq!(g.session_type, 3);
        assert_eq!(body(5), "rill ");
    }
}
