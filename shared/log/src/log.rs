//! The handle every service uses to append to and read from the log.

use crate::function::{self, FN_APPEND, FN_MAX_SEQS, FN_SEQ_FLOOR, LIBRARY_NAME};
use crate::{Envelope, Keys, LogError, Topology};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    pub(crate) topology: Arc<Topology>,
    pub(crate) keys: Keys,
    pub(crate) client: redis::Client,
    pub(crate) conn: ConnectionManager,
    /// `Keys::partition_log(p)` for every p, built once: the append path formats no log key.
    pub(crate) partition_logs: Arc<[String]>,
}

/// Meta-hash fields.
const META_PARTITIONS: &str = "partitions";
const META_FUNCTION: &str = "function";

/// Response timeout of the shared (never blocking) connection. Longer than redis-rs's 500 ms
/// default because `appendfsync always` under a burst can legitimately take longer.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often an idempotent command is retried after a connection error (Redis restarting).
const RETRIES: u32 = 4;

/// A redis client for `url` with TCP_NODELAY on (redis 1.x leaves it off, which adds delayed-ACK
/// latency to every small command).
pub fn redis_client(url: &str) -> Result<redis::Client, LogError> {
    use redis::IntoConnectionInfo;
    let info = url.into_connection_info()?;
    Ok(redis::Client::open(with_nodelay(info))?)
}

fn with_nodelay(info: redis::ConnectionInfo) -> redis::ConnectionInfo {
    let tcp = info.tcp_settings().clone().set_nodelay(true);
    info.set_tcp_settings(tcp)
}

impl Log {
    /// Connects, checks (or records) the partition count, loads the versioned append function
    /// and creates the configured consumer groups on every partition log.
    pub async fn connect(client: redis::Client, topology: Topology) -> Result<Self, LogError> {
        topology.validate().map_err(LogError::Config)?;
        let client = redis::Client::open(with_nodelay(client.get_connection_info().clone()))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(6)
            .set_max_delay(Duration::from_secs(2));
        let mut conn = client.get_connection_manager_with_config(config).await?;
        let keys = Keys::new(topology.key_prefix.clone(), topology.partitions);

        check_partitions(&mut conn, &keys, topology.partitions).await?;
        function::load(&mut conn).await?;
        let _: () = conn.hset(keys.meta(), META_FUNCTION, LIBRARY_NAME).await?;

        let partition_logs: Arc<[String]> = (0..topology.partitions)
            .map(|p| keys.partition_log(p))
            .collect();
        let log = Self {
            topology: Arc::new(topology),
            keys,
            client,
            conn,
            partition_logs,
        };
        let groups: Vec<String> = log.topology.groups.keys().cloned().collect();
        for group in &groups {
            log.create_group(group).await?;
        }
        Ok(log)
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The redis client (TCP_NODELAY on), for callers that need their own (e.g. blocking)
    /// connections.
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// A clone of the shared multiplexed connection, for non-blocking commands.
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The partition log key of partition `p` (precomputed).
    pub fn partition_log(&self, p: u32) -> &str {
        self.partition_logs
            .get(p as usize)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// Creates `group` on every partition log, starting at `0` so that nothing appended before
    /// the first worker start is missed. Idempotent (BUSYGROUP is ignored).
    pub async fn create_group(&self, group: &str) -> Result<(), LogError> {
        let mut pipe = redis::pipe();
        for key in self.partition_logs.iter() {
            pipe.cmd("XGROUP")
                .arg("CREATE")
                .arg(key)
                .arg(group)
                .arg("0")
                .arg("MKSTREAM");
        }
        let mut conn = self.conn.clone();
        let results: Vec<redis::RedisResult<Value>> =
            pipe.ignore_errors().query_async(&mut conn).await?;
        for r in results {
            match r {
                Ok(_) => {}
                Err(e) if e.code() == Some("BUSYGROUP") => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Appends one event to `conversation_id` atomically (dedup → XADD 0-* → partition log),
    /// in one round trip (FCALL). An empty `client_msg_id` means no dedup.
    ///
    /// With a `client_msg_id`, a connection error is retried (the dedup marker makes the retry
    /// safe; if the lost attempt had committed, the retry reports it as `duplicate` with its
    /// seq). Without one, an ambiguous failure is returned to the caller.
    pub async fn append(
        &self,
        conversation_id: &str,
        client_msg_id: &str,
        envelope: &Envelope,
    ) -> Result<Appended, LogError> {
        let started = Instant::now();
        let bytes = envelope.encode()?;
        let p = self.keys.partition_of(conversation_id);
        let conv_key = self.keys.conversation_in(p, conversation_id);
        let dedup = !client_msg_id.is_empty();
        let mut cmd = redis::cmd("FCALL");
        cmd.arg(FN_APPEND)
            .arg(if dedup { 3 } else { 2 })
            .arg(&conv_key)
            .arg(self.partition_log(p));
        if dedup {
            cmd.arg(self.keys.dedup_in(p, conversation_id, client_msg_id));
        }
        cmd.arg(conversation_id)
            .arg(self.topology.hot_window)
            .arg(dedup_ms(&self.topology))
            .arg(&bytes);
        let (seq, duplicate): (i64, i64) = self.call(&cmd, dedup).await?;
        metrics::histogram!("rill_log_append_seconds").record(started.elapsed().as_secs_f64());
        if duplicate != 0 {
            metrics::counter!("rill_log_append_duplicates_total").increment(1);
        }
        Ok(Appended {
            seq,
            duplicate: duplicate != 0,
        })
    }

    /// Appends an entity event (relation or group change) to the partition log of `key` (the
    /// `si_` id of a pair, the `sg_` id of a group), without a conversation stream or seq.
    /// Returns the entry id, whose order is the change's [`rill_core::entity::Rev`]. Not
    /// retried on an ambiguous connection error: the caller reports the failure.
    pub async fn append_entity(&self, key: &str, envelope: &Envelope) -> Result<String, LogError> {
        let started = Instant::now();
        let bytes = envelope.encode()?;
        let p = self.keys.partition_of(key);
        let mut cmd = redis::cmd("XADD");
        cmd.arg(self.partition_log(p))
            .arg("*")
            .arg("c")
            .arg(key)
            .arg("s")
            .arg(0)
            .arg("e")
            .arg(&bytes);
        let id: String = self.call(&cmd, false).await?;
        metrics::histogram!("rill_log_append_entity_seconds")
            .record(started.elapsed().as_secs_f64());
        Ok(id)
    }

    /// The last seq of a conversation (0 when it has none). Read from the stream's
    /// last-generated-id, so it stays right after the hot window is trimmed.
    pub async fn max_seq(&self, conversation_id: &str) -> Result<i64, LogError> {
        let mut cmd = redis::cmd("FCALL_RO");
        cmd.arg(FN_MAX_SEQS)
            .arg(1)
            .arg(self.keys.conversation(conversation_id));
        let seqs: Vec<i64> = self.call(&cmd, true).await?;
        Ok(seqs.first().copied().unwrap_or(0))
    }

    /// `max_seq` for many conversations in one round trip, in the same order.
    ///
    /// One FCALL_RO per partition (all its keys share a slot), pipelined. On Redis Cluster the
    /// pipeline would have to be split per slot.
    pub async fn max_seqs(&self, conversation_ids: &[String]) -> Result<Vec<i64>, LogError> {
        if conversation_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut by_partition: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
        for (i, c) in conversation_ids.iter().enumerate() {
            by_partition
                .entry(self.keys.partition_of(c))
                .or_default()
                .push(i);
        }
        let mut pipe = redis::pipe();
        for (&p, idx) in &by_partition {
            let cmd = pipe.cmd("FCALL_RO").arg(FN_MAX_SEQS).arg(idx.len());
            for &i in idx {
                cmd.arg(self.keys.conversation_in(p, &conversation_ids[i]));
            }
        }
        let replies: Vec<Vec<i64>> = self.call_pipe(&pipe).await?;
        let mut out = vec![0; conversation_ids.len()];
        for (idx, seqs) in by_partition.values().zip(replies) {
            for (&i, seq) in idx.iter().zip(seqs) {
                out[i] = seq;
            }
        }
        Ok(out)
    }

    /// The lowest seq still in the hot window (`None` when the stream is empty).
    pub async fn hot_min_seq(&self, conversation_id: &str) -> Result<Option<i64>, LogError> {
        let key = self.keys.conversation(conversation_id);
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(&key).arg("-").arg("+").arg("COUNT").arg(1);
        let reply: redis::Value = self.call(&cmd, true).await?;
        Ok(crate::reply::range(reply)?
            .first()
            .and_then(|e| seq_of(&e.id)))
    }

    /// Entries with `from <= seq <= to` that are still in the hot window, ascending. A
    /// `Event::Message` comes back with its `seq` filled in. An entry that cannot be decoded is
    /// skipped (logged): the reader shows a hole rather than failing the whole pull.
    pub async fn range(
        &self,
        conversation_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<StoredEntry>, LogError> {
        let from = from.max(1);
        if to < from {
            return Ok(Vec::new());
        }
        let key = self.keys.conversation(conversation_id);
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(&key)
            .arg(format!("0-{from}"))
            .arg(format!("0-{to}"));
        let reply: redis::Value = self.call(&cmd, true).await?;
        let entries = crate::reply::range(reply)?;
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let Some(seq) = seq_of(&entry.id) else {
                continue;
            };
            match entry.field("e").map(decode_field) {
                Some(Ok(mut envelope)) => {
                    envelope.set_seq(seq);
                    out.push(StoredEntry { seq, envelope });
                }
                Some(Err(e)) => {
                    tracing::warn!(conversation_id, seq, error = %e, "undecodable stream entry skipped")
                }
                // A placeholder (seq floor) or foreign entry: not a message.
                None => {}
            }
        }
        Ok(out)
    }

    /// Start-up durability check: if a projection has seen `floor` but the stream's max seq is
    /// lower (an AOF tail was lost), moves the stream's last id forward to `0-<floor>` so the
    /// next append gets `floor + 1` instead of reusing a seq. Returns the stream's previous max
    /// seq and whether it moved.
    pub async fn ensure_seq_floor(
        &self,
        conversation_id: &str,
        floor: i64,
    ) -> Result<(i64, bool), LogError> {
        if floor <= 0 {
            return Ok((self.max_seq(conversation_id).await?, false));
        }
        let mut cmd = redis::cmd("FCALL");
        cmd.arg(FN_SEQ_FLOOR)
            .arg(1)
            .arg(self.keys.conversation(conversation_id))
            .arg(floor);
        let (previous, moved): (i64, i64) = self.call(&cmd, true).await?;
        if moved != 0 {
            tracing::warn!(
                conversation_id,
                previous,
                floor,
                "conversation stream moved up to projected seq"
            );
        }
        Ok((previous, moved != 0))
    }

    /// Runs `cmd` on the shared connection: reloads the function library when Redis lost it,
    /// and retries connection errors when `idempotent`.
    pub(crate) async fn call<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        idempotent: bool,
    ) -> Result<T, LogError> {
        let mut conn = self.conn.clone();
        let mut attempt = 0;
        loop {
            match cmd.query_async::<T>(&mut conn).await {
                Ok(v) => return Ok(v),
                Err(e) => self.recover(&mut conn, e, idempotent, &mut attempt).await?,
            }
        }
    }

    async fn call_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, LogError> {
        let mut conn = self.conn.clone();
        let mut attempt = 0;
        loop {
            match pipe.query_async::<T>(&mut conn).await {
                Ok(v) => return Ok(v),
                Err(e) => self.recover(&mut conn, e, true, &mut attempt).await?,
            }
        }
    }

    /// Decides whether a failed command may be sent again, and prepares for it.
    async fn recover(
        &self,
        conn: &mut ConnectionManager,
        e: redis::RedisError,
        idempotent: bool,
        attempt: &mut u32,
    ) -> Result<(), LogError> {
        *attempt += 1;
        if *attempt > RETRIES {
            return Err(e.into());
        }
        if function::is_function_missing(&e) {
            // Nothing ran: a Redis without persistence restarted empty. Safe to retry always.
            tracing::warn!("redis lost the {LIBRARY_NAME} library; loading it again");
            function::load(conn).await?;
            return Ok(());
        }
        let connection_error =
            e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal();
        if idempotent && connection_error {
            tokio::time::sleep(Duration::from_millis(50 << *attempt)).await;
            return Ok(());
        }
        Err(e.into())
    }
}

/// The dedup window in ms for `SET PX` (at least 1, which validation already guarantees).
fn dedup_ms(t: &Topology) -> u64 {
    u64::try_from(t.dedup_window.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Records the partition count on first start; refuses a different one afterwards.
async fn check_partitions(
    conn: &mut ConnectionManager,
    keys: &Keys,
    configured: u32,
) -> Result<(), LogError> {
    let _: bool = conn
        .hset_nx(keys.meta(), META_PARTITIONS, configured)
        .await?;
    let recorded: String = conn.hget(keys.meta(), META_PARTITIONS).await?;
    let recorded: u32 = recorded.parse().map_err(|_| {
        LogError::Reply(format!("{} {META_PARTITIONS} = {recorded:?}", keys.meta()))
    })?;
    if recorded != configured {
        return Err(LogError::PartitionMismatch {
            recorded,
            configured,
        });
    }
    Ok(())
}

/// The seq of a conversation-stream entry id `0-<seq>`.
pub(crate) fn seq_of(id: &str) -> Option<i64> {
    id.strip_prefix("0-")?.parse().ok()
}

/// Decodes the `e` field of an entry.
pub(crate) fn decode_field(v: &Value) -> Result<Envelope, LogError> {
    match v {
        Value::BulkString(b) => Envelope::decode(b),
        other => Err(LogError::Decode(format!(
            "field e is not a string: {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::seq_of;

    #[test]
    fn seq_from_entry_id() {
        assert_eq!(seq_of("0-17"), Some(17));
        assert_eq!(seq_of("5-1"), None);
        assert_eq!(seq_of("0-x"), None);
    }
}
