//! The handle every service uses to append to and read from the log.
//! (API surface; the log helper fills in the bodies.)

use crate::{Envelope, Keys, LogError, Topology};

/// The result of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The message's seq in its conversation (the first seq when `duplicate`).
    pub seq: i64,
    /// True when (conversation, clientMsgID) was already appended within the dedup window:
    /// nothing was added to either stream.
    pub duplicate: bool,
}

/// One entry of a conversation stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    pub seq: i64,
    pub envelope: Envelope,
}

/// Cheap to clone; holds a multiplexed connection and the topology.
#[derive(Clone)]
pub struct Log {
    pub(crate) topology: std::sync::Arc<Topology>,
    pub(crate) keys: Keys,
    pub(crate) client: redis::Client,
    pub(crate) conn: redis::aio::ConnectionManager,
}

impl Log {
    /// Connects, checks (or records) the partition count, loads the versioned append function
    /// and creates the configured consumer groups on every partition log.
    pub async fn connect(client: redis::Client, topology: Topology) -> Result<Self, LogError> {
        let _ = (client, topology);
        unimplemented!("log helper")
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The redis client, for callers that need their own (e.g. blocking) connections.
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// A clone of the shared multiplexed connection, for non-blocking commands.
    pub fn conn(&self) -> redis::aio::ConnectionManager {
        self.conn.clone()
    }

    /// Appends one event to `conversation_id` atomically (dedup → XADD 0-* → partition log).
    pub async fn append(
        &self,
        conversation_id: &str,
        client_msg_id: &str,
        envelope: &Envelope,
    ) -> Result<Appended, LogError> {
        let _ = (conversation_id, client_msg_id, envelope);
        unimplemented!("log helper")
    }

    /// The last seq of a conversation (0 when it has none).
    pub async fn max_seq(&self, conversation_id: &str) -> Result<i64, LogError> {
        let _ = conversation_id;
        unimplemented!("log helper")
    }

    /// `max_seq` for many conversations in one round trip, in the same order.
    pub async fn max_seqs(&self, conversation_ids: &[String]) -> Result<Vec<i64>, LogError> {
        let _ = conversation_ids;
        unimplemented!("log helper")
    }

    /// The lowest seq still in the hot window (`None` when the stream is empty).
    pub async fn hot_min_seq(&self, conversation_id: &str) -> Result<Option<i64>, LogError> {
        let _ = conversation_id;
        unimplemented!("log helper")
    }

    /// Entries with `from <= seq <= to` that are still in the hot window, ascending.
    pub async fn range(
        &self,
        conversation_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<StoredEntry>, LogError> {
        let _ = (conversation_id, from, to);
        unimplemented!("log helper")
    }
}
