//! The prost types must read and write JSON exactly like Go's encoding/json does for OpenIM's
//! generated structs (protocol.md §1.1).

#![allow(clippy::unwrap_used)]

use rill_wire::pb::{conversation, msg, protobuf, sdkws};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn msg_data() -> sdkws::MsgData {
    sdkws::MsgData {
        send_id: "u1".into(),
        recv_id: "u2".into(),
        client_msg_id: "c1".into(),
        session_type: 1,
        content_type: 101,
        content: br#"{"content":"hi"}"#.to_vec(),
        seq: 5,
        send_time: 1_719_990_000_000,
        options: BTreeMap::from([("history".to_string(), true)]),
        ..Default::default()
    }
}

#[test]
fn msg_data_uses_openim_keys_and_round_trips() {
    let m = msg_data();
    let v = serde_json::to_value(&m).unwrap();
    let expected = json!({
        "sendID": "u1", "recvID": "u2", "groupID": "", "clientMsgID": "c1", "serverMsgID": "",
        "senderPlatformID": 0, "senderNickname": "", "senderFaceURL": "", "sessionType": 1,
        "msgFrom": 0, "contentType": 101, "content": "eyJjb250ZW50IjoiaGkifQ==", "seq": 5,
        "sendTime": 1_719_990_000_000i64, "createTime": 0, "status": 0, "isRead": false,
        "options": {"history": true}, "offlinePushInfo": null, "atUserIDList": [],
        "attachedInfo": "", "ex": ""
    });
    assert_eq!(v, expected);
    let back: sdkws::MsgData = serde_json::from_value(v).unwrap();
    assert_eq!(back, m);
}

#[test]
fn every_scalar_is_present_and_int64_is_a_number() {
    let text = serde_json::to_string(&sdkws::MsgData::default()).unwrap();
    assert!(text.contains(r#""seq":0"#), "{text}");
    assert!(text.contains(r#""sendID":"""#), "{text}");
    assert!(text.contains(r#""offlinePushInfo":null"#), "{text}");
}

#[test]
fn empty_map_is_omitted_and_non_empty_map_is_written() {
    let v = serde_json::to_value(sdkws::MsgData::default()).unwrap();
    assert!(v.get("options").is_none(), "{v}");

    let resp = sdkws::GetMaxSeqResp {
        max_seqs: BTreeMap::from([("si_u1_u2".to_string(), 5)]),
        min_seqs: BTreeMap::new(),
    };
    let v = serde_json::to_value(&resp).unwrap();
    assert_eq!(v, json!({"maxSeqs": {"si_u1_u2": 5}}));
}

#[test]
fn pull_msgs_has_capital_msgs() {
    let resp = sdkws::PullMessageBySeqsResp {
        msgs: BTreeMap::from([(
            "si_u1_u2".to_string(),
            sdkws::PullMsgs {
                msgs: vec![msg_data()],
                is_end: true,
                end_seq: 0,
            },
        )]),
        notification_msgs: BTreeMap::new(),
    };
    let v = serde_json::to_value(&resp).unwrap();
    let pm = &v["msgs"]["si_u1_u2"];
    assert_eq!(pm["Msgs"][0]["seq"], json!(5));
    assert_eq!(pm["isEnd"], json!(true));
    assert!(v.get("notificationMsgs").is_none());
    let back: sdkws::PullMessageBySeqsResp = serde_json::from_value(v).unwrap();
    assert_eq!(back, resp);
}

#[test]
fn wrapper_fields_are_plain_scalars() {
    let req = conversation::ConversationReq {
        conversation_id: "si_u1_u2".into(),
        is_pinned: Some(protobuf::BoolValue { value: true }),
        ex: Some(protobuf::StringValue { value: "x".into() }),
        max_seq: Some(protobuf::Int64Value { value: 9 }),
        ..Default::default()
    };
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(v["isPinned"], json!(true));
    assert_eq!(v["ex"], json!("x"));
    assert_eq!(v["maxSeq"], json!(9));
    assert_eq!(v["recvMsgOpt"], Value::Null);

    let parsed: conversation::ConversationReq = serde_json::from_str(
        r#"{"conversationID":"si_u1_u2","conversationType":1,"userID":"u2","groupID":"",
            "recvMsgOpt":2,"isPinned":true,"attachedInfo":null,"isPrivateChat":null,"ex":null,
            "burnDuration":null,"minSeq":null,"maxSeq":"12","groupAtType":null,
            "msgDestructTime":null,"isMsgDestruct":false}"#,
    )
    .unwrap();
    assert_eq!(parsed.recv_msg_opt, Some(protobuf::Int32Value { value: 2 }));
    assert_eq!(parsed.is_pinned, Some(protobuf::BoolValue { value: true }));
    assert_eq!(parsed.attached_info, None);
    assert_eq!(parsed.max_seq, Some(protobuf::Int64Value { value: 12 }));
    assert_eq!(
        parsed.is_msg_destruct,
        Some(protobuf::BoolValue { value: false })
    );
    assert_eq!(parsed.min_seq, None);
}

#[test]
fn go_client_nulls_and_missing_keys_read_as_zero_values() {
    let req: msg::GetConversationsHasReadAndMaxSeqReq =
        serde_json::from_str(r#"{"userID":"u1","conversationIDs":null}"#).unwrap();
    assert_eq!(req.user_id, "u1");
    assert!(req.conversation_i_ds.is_empty());
    assert!(!req.return_pinned);

    let m: sdkws::MsgData = serde_json::from_str(
        r#"{"sendID":null,"content":null,"options":null,"atUserIDList":null,"seq":null,"unknown":1}"#,
    )
    .unwrap();
    assert_eq!(m, sdkws::MsgData::default());
}

#[test]
fn int64_accepts_numbers_and_decimal_strings() {
    let r: sdkws::SeqRange =
        serde_json::from_str(r#"{"conversationID":"c","begin":"3","end":9,"num":1.0}"#).unwrap();
    assert_eq!((r.begin, r.end, r.num), (3, 9, 1));
    let r: msg::MarkMsgsAsReadReq =
        serde_json::from_str(r#"{"conversationID":"c","seqs":[1,"2"],"userID":"u"}"#).unwrap();
    assert_eq!(r.seqs, vec![1, 2]);
    let r: sdkws::GetMaxSeqResp = serde_json::from_str(r#"{"maxSeqs":{"a":"7"}}"#).unwrap();
    assert_eq!(r.max_seqs.get("a"), Some(&7));
    assert!(serde_json::from_str::<sdkws::SeqRange>(r#"{"begin":"x"}"#).is_err());
    assert!(serde_json::from_str::<sdkws::SeqRange>(r#"{"begin":1.5}"#).is_err());
}

#[test]
fn lowercase_keys_are_accepted_like_go() {
    let r: sdkws::GetMaxSeqReq = serde_json::from_str(r#"{"userid":"u1"}"#).unwrap();
    assert_eq!(r.user_id, "u1");
    let o: msg::DeleteSyncOpt = serde_json::from_str(r#"{"IsSyncSelf":true}"#).unwrap();
    assert!(o.is_sync_self);
    assert_eq!(
        serde_json::to_value(o).unwrap(),
        json!({"IsSyncSelf": true, "IsSyncOther": false})
    );
}

#[test]
fn base64_input_is_lenient() {
    let m: sdkws::MsgData = serde_json::from_str(r#"{"content":"aGk"}"#).unwrap();
    assert_eq!(m.content, b"hi");
    assert!(serde_json::from_str::<sdkws::MsgData>(r#"{"content":"***"}"#).is_err());
}

#[test]
fn protobuf_wire_encoding_is_unchanged() {
    use prost::Message as _;
    let bytes = sdkws::GetMaxSeqReq {
        user_id: "u7".into(),
    }
    .encode_to_vec();
    assert_eq!(bytes, [0x0a, 0x02, b'u', b'7']);
}

#[test]
fn relation_group_user_keys_follow_openim_spelling() {
    use rill_wire::pb::{group, relation, user};
    let v = serde_json::to_value(relation::GetPaginationFriendsApplyToResp {
        friend_requests: vec![sdkws::FriendRequest::default()],
        total: 1,
    })
    .unwrap();
    assert!(v["FriendRequests"][0].get("handleResult").is_some(), "{v}");

    // proto3 `optional bool`: null/absent = not set.
    let r: group::CreateGroupReq = serde_json::from_str(
        r#"{"memberUserIDs":["u2"],"adminUserIDs":[],"ownerUserID":"u1",
            "groupInfo":{"groupID":"","groupName":"g","groupType":2},"sendMessage":null}"#,
    )
    .unwrap();
    assert_eq!(r.send_message, None);
    assert_eq!(r.group_info.map(|g| g.group_type), Some(2));
    let r: group::KickGroupMemberReq =
        serde_json::from_str(r#"{"groupID":"g","sendMessage":false}"#).unwrap();
    assert_eq!(r.send_message, Some(false));

    let v = serde_json::to_value(user::ProcessUserCommandGetResp {
        command_resp: vec![user::CommandInfoResp::default()],
    })
    .unwrap();
    assert!(v["CommandResp"].is_array(), "{v}");

    let v = serde_json::to_value(user::GetUserClientConfigResp::default()).unwrap();
    assert_eq!(v, json!({}));

    let r: user::UpdateUserInfoExReq = serde_json::from_str(
        r#"{"userInfo":{"userID":"u1","nickname":"x","faceURL":null,"ex":"e","globalRecvMsgOpt":0}}"#,
    )
    .unwrap();
    let info = r.user_info.unwrap();
    assert_eq!(
        info.nickname,
        Some(protobuf::StringValue { value: "x".into() })
    );
    assert_eq!(info.face_url, None);
    assert_eq!(
        info.global_recv_msg_opt,
        Some(protobuf::Int32Value { value: 0 })
    );
}

#[test]
fn jssdk_reply_round_trips_through_protobuf() {
    use prost::Message as _;
    use rill_wire::pb::jssdk;
    let resp = jssdk::GetConversationsResp {
        unread_count: 3,
        conversations: vec![jssdk::ConversationMsg {
            conversation: Some(conversation::Conversation {
                conversation_id: "si_u1_u2".into(),
                ..Default::default()
            }),
            last_msg: Some(msg_data()),
            max_seq: 5,
            read_seq: 2,
            ..Default::default()
        }],
    };
    let bytes = resp.encode_to_vec();
    assert_eq!(
        jssdk::GetConversationsResp::decode(bytes.as_slice()).unwrap(),
        resp
    );
}
