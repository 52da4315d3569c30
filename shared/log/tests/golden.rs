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
    let path = golden("envelope_v1_message.msgpack");
    if !path.exists() {
        std::fs::write(&path, v1_message().encode().unwrap()).unwrap();
    }
}
