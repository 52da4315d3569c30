//! Shared helpers of the log's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use rill_core::Message;
use rill_log::{Envelope, Event, Log, Topology};
use rill_testkit::RedisServer;

/// A small topology so tests touch few keys.
pub fn topology(partitions: u32) -> Topology {
    let mut t = Topology::default().with_prefix(rill_testkit::unique_name("t"));
    t.partitions = partitions;
    t
}

pub async fn log_on(redis: &RedisServer, topology: Topology) -> Log {
    Log::connect(redis.client(), topology).await.unwrap()
}

pub fn message(conversation: &str, client_msg_id: &str, text: &str) -> Envelope {
    Envelope::new(Event::Message(Message {
        send_id: "u1".into(),
        recv_id: "u2".into(),
        client_msg_id: client_msg_id.into(),
        session_type: 1,
        content_type: 101,
        content: text.as_bytes().to_vec(),
        ex: conversation.into(),
        ..Message::default()
    }))
}

pub fn text_of(e: &Envelope) -> String {
    match &e.event {
        Event::Message(m) => String::from_utf8_lossy(&m.content).into_owned(),
        Event::Entity(e) => format!("entity event with {} changes", e.changes.len()),
    }
}
