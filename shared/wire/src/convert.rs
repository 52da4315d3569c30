//! Lossless conversions between the wire message `pb::sdkws::MsgData` and the stored
//! `rill_core::Message` (same fields, same meaning; the core type just has no prost/serde-JSON
//! baggage).

use crate::pb::sdkws::{MsgData, OfflinePushInfo};
use rill_core::message::{Message, OfflinePushInfo as CoreOfflinePushInfo};

impl From<OfflinePushInfo> for CoreOfflinePushInfo {
    fn from(p: OfflinePushInfo) -> Self {
        CoreOfflinePushInfo {
            title: p.title,
            desc: p.desc,
            ex: p.ex,
            ios_push_sound: p.i_os_push_sound,
            ios_badge_count: p.i_os_badge_count,
            signal_info: p.signal_info,
        }
    }
}

impl From<CoreOfflinePushInfo> for OfflinePushInfo {
    fn from(p: CoreOfflinePushInfo) -> Self {
        OfflinePushInfo {
            title: p.title,
            desc: p.desc,
            ex: p.ex,
            i_os_push_sound: p.ios_push_sound,
            i_os_badge_count: p.ios_badge_count,
            signal_info: p.signal_info,
        }
    }
}

impl From<MsgData> for Message {
    fn from(m: MsgData) -> Self {
        Message {
            send_id: m.send_id,
            recv_id: m.recv_id,
            group_id: m.group_id,
            client_msg_id: m.client_msg_id,
            server_msg_id: m.server_msg_id,
            sender_platform_id: m.sender_platform_id,
            sender_nickname: m.sender_nickname,
            sender_face_url: m.sender_face_url,
            session_type: m.session_type,
            msg_from: m.msg_from,
            content_type: m.content_type,
            content: m.content,
            seq: m.seq,
            send_time: m.send_time,
            create_time: m.create_time,
            status: m.status,
            is_read: m.is_read,
            options: m.options,
            offline_push_info: m.offline_push_info.map(Into::into),
            at_user_id_list: m.at_user_id_list,
            attached_info: m.attached_info,
            ex: m.ex,
        }
    }
}

impl From<Message> for MsgData {
    fn from(m: Message) -> Self {
        MsgData {
            send_id: m.send_id,
            recv_id: m.recv_id,
            group_id: m.group_id,
            client_msg_id: m.client_msg_id,
            server_msg_id: m.server_msg_id,
            sender_platform_id: m.sender_platform_id,
            sender_nickname: m.sender_nickname,
            sender_face_url: m.sender_face_url,
            session_type: m.session_type,
            msg_from: m.msg_from,
            content_type: m.content_type,
            content: m.content,
            seq: m.seq,
            send_time: m.send_time,
            create_time: m.create_time,
            status: m.status,
            is_read: m.is_read,
            options: m.options,
            offline_push_info: m.offline_push_info.map(Into::into),
            at_user_id_list: m.at_user_id_list,
            attached_info: m.attached_info,
            ex: m.ex,
        }
    }
}

impl From<&Message> for MsgData {
    fn from(m: &Message) -> Self {
        m.clone().into()
    }
}

impl From<&MsgData> for Message {
    fn from(m: &MsgData) -> Self {
        m.clone().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn full() -> MsgData {
        MsgData {
            send_id: "u1".into(),
            recv_id: "u2".into(),
            group_id: "g".into(),
            client_msg_id: "c1".into(),
            server_msg_id: "s1".into(),
            sender_platform_id: 3,
            sender_nickname: "n".into(),
            sender_face_url: "f".into(),
            session_type: 1,
            msg_from: 100,
            content_type: 101,
            content: br#"{"content":"hi"}"#.to_vec(),
            seq: 7,
            send_time: 1_700_000_000_000,
            create_time: 1_700_000_000_001,
            status: 2,
            is_read: true,
            options: BTreeMap::from([("history".to_string(), false)]),
            offline_push_info: Some(OfflinePushInfo {
                title: "t".into(),
                desc: "d".into(),
                ex: "e".into(),
                i_os_push_sound: "s".into(),
                i_os_badge_count: true,
                signal_info: "si".into(),
            }),
            at_user_id_list: vec!["u3".into()],
            attached_info: "{}".into(),
            ex: "x".into(),
        }
    }

    #[test]
    fn msg_data_to_message_and_back_is_lossless() {
        let m = full();
        let core: Message = m.clone().into();
        assert_eq!(core.send_id, "u1");
        assert_eq!(core.seq, 7);
        assert_eq!(
            core.offline_push_info.as_ref().map(|p| p.ios_badge_count),
            Some(true)
        );
        let back: MsgData = core.into();
        assert_eq!(back, m);
        let empty: MsgData = Message::default().into();
        assert_eq!(empty, MsgData::default());
    }
}
