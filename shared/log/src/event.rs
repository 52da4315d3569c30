//! Versioned events, MessagePack via rmp-serde (named fields), carrying the W3C trace context.
//! Old versions must stay decodable: see the golden files under `tests/golden/`.

use rill_core::Message;
use rill_core::entity::EntityEvent;
use serde::{Deserialize, Serialize};

/// The schema version written by this build.
pub const SCHEMA_VERSION: u16 = 1;

/// W3C trace context (`traceparent`, `tracestate`), empty when tracing is off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TraceContext {
    pub traceparent: String,
    pub tracestate: String,
}

/// Everything that can be appended to the log.
// Messages are the hot path and stay unboxed (no extra allocation per append); entity events
// are rare, so the size difference costs nothing that matters.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// A chat message stored in its conversation with a seq.
    Message(Message),
    /// A relation or group change (friends, blacks, requests, groups, members). Appended to
    /// the partition log only (no conversation stream, no seq) under the key of the pair or
    /// group it concerns, so all changes of one entity keep their order. Added in schema
    /// version 1 as a new variant: older readers never see it.
    Entity(EntityEvent),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u16,
    #[serde(default)]
    pub trace: TraceContext,
    pub event: Event,
}

impl Envelope {
    pub fn new(event: Event) -> Self {
        Self {
            v: SCHEMA_VERSION,
            trace: TraceContext::default(),
            event,
        }
    }

    /// The same envelope carrying `trace` (the sender's W3C trace context).
    pub fn with_trace(mut self, trace: TraceContext) -> Self {
        self.trace = trace;
        self
    }

    pub fn encode(&self) -> Result<Vec<u8>, crate::LogError> {
        rmp_serde::to_vec_named(self).map_err(|e| crate::LogError::Encode(e.to_string()))
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, crate::LogError> {
        rmp_serde::from_slice(bytes).map_err(|e| crate::LogError::Decode(e.to_string()))
    }

    /// Fills the stream-assigned seq into the event (the appended payload carries 0).
    pub fn set_seq(&mut self, seq: i64) {
        match &mut self.event {
            Event::Message(m) => m.seq = seq,
            Event::Entity(_) => {}
        }
    }
}
