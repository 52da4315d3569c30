//! The body of a 2001 push (`sdkws.PushMessages` with one message) built around the message's
//! protobuf bytes as the delivery carries them, without decoding and re-encoding the message
//! for every push: protobuf encodes an embedded message exactly like a `bytes` field (tag,
//! length, bytes), so declaring the message field as `bytes` gives the same frame.

use bytes::Bytes;
use std::collections::HashMap;

/// `sdkws.PushMessages` (msgs = 1, notificationMsgs = 2) with messages left encoded.
#[derive(Clone, PartialEq, prost::Message)]
struct PushMessagesEncoded {
    #[prost(map = "string, message", tag = "1")]
    msgs: HashMap<String, PullMsgsEncoded>,
    #[prost(map = "string, message", tag = "2")]
    notification_msgs: HashMap<String, PullMsgsEncoded>,
}

/// `sdkws.PullMsgs` (Msgs = 1) with its messages left encoded. isEnd (2) and endSeq (3) are
/// false and 0 in a push, which protobuf does not write.
#[derive(Clone, PartialEq, prost::Message)]
struct PullMsgsEncoded {
    #[prost(bytes = "bytes", repeated, tag = "1")]
    msgs: Vec<Bytes>,
}

/// The one field of `sdkws.MsgData` a push needs besides the bytes (decoding skips the rest).
#[derive(Clone, PartialEq, prost::Message)]
struct ServerMsgIdOnly {
    #[prost(string, tag = "5")]
    server_msg_id: String,
}

/// The `PushMessages` body of a push of `message` (encoded `sdkws.MsgData`) in
/// `conversation_id`: `n_` conversations go to `notificationMsgs`, as OpenIM sends them.
pub fn body(conversation_id: &str, message: Bytes) -> Vec<u8> {
    use prost::Message as _;
    let pulled = PullMsgsEncoded {
        msgs: vec![message],
    };
    let mut out = PushMessagesEncoded::default();
    if rill_app::pull::is_notification_conversation(conversation_id) {
        out.notification_msgs
            .insert(conversation_id.to_string(), pulled);
    } else {
        out.msgs.insert(conversation_id.to_string(), pulled);
    }
    out.encode_to_vec()
}

/// The serverMsgID of an encoded `sdkws.MsgData`; `None` when the bytes are not one.
pub fn server_msg_id(message: &[u8]) -> Option<String> {
    use prost::Message as _;
    ServerMsgIdOnly::decode(message)
        .ok()
        .map(|m| m.server_msg_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;
    use rill_wire::pb::sdkws::{MsgData, PullMsgs, PushMessages};

    fn message() -> MsgData {
        MsgData {
            send_id: "u1".into(),
            recv_id: "u2".into(),
            client_msg_id: "c1".into(),
            server_msg_id: "s1".into(),
            content: b"{\"content\":\"hi\"}".to_vec(),
            seq: 7,
            content_type: 101,
            session_type: 1,
            ..Default::default()
        }
    }

    /// The frame as the generated types write it.
    fn decoded_way(conversation_id: &str, msg: MsgData) -> Vec<u8> {
        let pulled = PullMsgs {
            msgs: vec![msg],
            is_end: false,
            end_seq: 0,
        };
        let mut out = PushMessages::default();
        if conversation_id.starts_with("n_") {
            out.notification_msgs
                .insert(conversation_id.to_string(), pulled);
        } else {
            out.msgs.insert(conversation_id.to_string(), pulled);
        }
        out.encode_to_vec()
    }

    #[test]
    fn same_bytes_as_the_generated_types() {
        for conversation_id in ["si_u1_u2", "n_u1_u2"] {
            let encoded = Bytes::from(message().encode_to_vec());
            let body = body(conversation_id, encoded);
            assert_eq!(body, decoded_way(conversation_id, message()));
            let back = PushMessages::decode(&body[..]).unwrap_or_default();
            let (msgs, other) = if conversation_id.starts_with("n_") {
                (back.notification_msgs, back.msgs)
            } else {
                (back.msgs, back.notification_msgs)
            };
            assert!(other.is_empty());
            assert_eq!(msgs[conversation_id].msgs, vec![message()]);
        }
    }

    #[test]
    fn server_msg_id_is_read_without_the_rest() {
        assert_eq!(
            server_msg_id(&message().encode_to_vec()).as_deref(),
            Some("s1")
        );
        assert_eq!(server_msg_id(b"\x0a\xff"), None);
    }
}
