//! Old log entries must stay decodable. `tests/golden/` holds entries written by earlier
//! builds; each must decode to the value it was written from. A change to `Envelope`, `Event`
//! or `rill_core::Message` that breaks one fails here, not in production on replay.
//!
//! When a new schema version is introduced, add a new golden file (never rewrite an old one):
//! `cargo nextest run -p rill-log --test golden --run-ignored only`.
#![allow(clippy::unwrap_used)]

use rill_core::{Message, OfflinePushInfo};
use rill_log::{Envelope, Event, TraceContext};
use std::path::PathBuf;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// The value `envelope_v1_message.msgpack` was written from. Every field is set, so a dropped
/// or renamed field shows up as a difference.
fn v1_message() -> Envelope {
    Envelope {
        v: 1,
        trace: TraceContext {
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            tracestate: "rill=1".into(),
        },
        event: Event::Message(Message {
            send_id: "u1".into(),
            recv_id: "u2".into(),
            group_id: String::new(),
            client_msg_id: "c0ffee".into(),
            server_msg_id: "s1".into(),
            sender_platform_id: 5,
            sender_nickname: "Ann".into(),
            sender_face_url: "https://example.invalid/a.png".into(),
            session_type: 1,
            msg_from: 100,
            content_type: 101,
            content: br#"{"content":"hello \u00e9"}"#.to_vec(),
            seq: 0,
            send_time: 1_700_000_000_123,
            create_time: 1_700_000_000_100,
            status: 2,
            is_read: false,
            options: [
                ("history".to_string(), true),
                ("unreadCount".to_string(), false),
            ]
            .into(),
            offline_push_info: Some(OfflinePushInfo {
                title: "t".into(),
                desc: "d".into(),
                ex: "x".into(),
                ios_push_sound: "default".into(),
                ios_badge_count: true,
                signal_info: String::new(),
            }),
            at_user_id_list: vec!["u3".into()],
            attached_info: "{}".into(),
            ex: "ex".into(),
        }),
    }
}

/// The value `envelope_v1_entity.msgpack` was written from: one change of every kind.
fn v1_entity() -> Envelope {
    use rill_core::entity::*;
    Envelope {
        v: 1,
        trace: TraceContext::default(),
        event: Event::Entity(EntityEvent {
            operator_user_id: "u1".into(),
            changes: vec![
                Change::Friend {
                    owner: "u1".into(),
                    friend: "u2".into(),
                    kind: Kind::Insert,
                    row: Some(Friend {
                        owner_user_id: "u1".into(),
                        friend_user_id: "u2".into(),
                        remark: "r".into(),
                        create_time: 1_700_000_000_000,
                        add_source: 2,
                        operator_user_id: "u1".into(),
                        ex: "x".into(),
                        is_pinned: true,
                    }),
                },
                Change::Black {
                    owner: "u1".into(),
                    black: "u3".into(),
                    kind: Kind::Delete,
                    row: None,
                },
                Change::FriendRequest(FriendRequest {
                    from_user_id: "u1".into(),
                    to_user_id: "u2".into(),
                    handle_result: 1,
                    req_msg: "hi".into(),
                    create_time: 1,
                    handler_user_id: "u2".into(),
                    handle_msg: "ok".into(),
                    handle_time: 2,
                    ex: "e".into(),
                }),
                Change::Group {
                    kind: Kind::Update,
                    row: Group {
                        group_id: "g1".into(),
                        group_name: "n".into(),
                        notification: "a".into(),
                        introduction: "i".into(),
                        face_url: "f".into(),
                        create_time: 3,
                        ex: "e".into(),
                        status: 3,
                        creator_user_id: "u1".into(),
                        group_type: 2,
                        need_verification: 1,
                        look_member_info: 1,
                        apply_member_friend: 1,
                        notification_update_time: 4,
                        notification_user_id: "u1".into(),
                    },
                },
                Change::Member {
                    group_id: "g1".into(),
                    user_id: "u2".into(),
                    kind: Kind::Update,
                    row: Some(Member {
                        group_id: "g1".into(),
                        user_id: "u2".into(),
                        role_level: 60,
                        join_time: 5,
                        nickname: "nn".into(),
                        face_url: "ff".into(),
                        join_source: 2,
                        inviter_user_id: "u1".into(),
                        operator_user_id: "u1".into(),
                        mute_end_time: 6,
                        ex: "e".into(),
                    }),
                },
                Change::GroupRequest(GroupRequest {
                    user_id: "u4".into(),
                    group_id: "g1".into(),
                    handle_result: -1,
                    req_msg: "let me in".into(),
                    handled_msg: "no".into(),
                    req_time: 7,
                    handle_user_id: "u1".into(),
                    handled_time: 8,
                    join_source: 3,
                    inviter_user_id: String::new(),
                    ex: "e".into(),
                }),
            ],
        }),
    }
}

#[test]
fn v1_entity_still_decodes() {
    let bytes = std::fs::read(golden("envelope_v1_entity.msgpack")).unwrap();
    assert_eq!(Envelope::decode(&bytes).unwrap(), v1_entity());
}

#[test]
fn v1_message_still_decodes() {
    let bytes = std::fs::read(golden("envelope_v1_message.msgpack")).unwrap();
    assert_eq!(Envelope::decode(&bytes).unwrap(), v1_message());
}

#[test]
fn todays_encoding_round_trips() {
    let e = v1_message();
    assert_eq!(Envelope::decode(&e.encode().unwrap()).unwrap(), e);
}

#[test]
#[ignore = "writes a golden file once; never overwrites one"]
fn write_golden_files() {
    for (name, envelope) in [
        ("envelope_v1_message.msgpack", v1_message()),
        ("envelope_v1_entity.msgpack", v1_entity()),
    ] {
        let path = golden(name);
        if !path.exists() {
            std::fs::write(&path, envelope.encode().unwrap()).unwrap();
        }
    }
}
