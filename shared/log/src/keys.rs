//! Key layout. Every key of partition `p` carries the hash tag `{p}` so a partition lives in one
//! Redis Cluster slot and the append function may touch all its keys atomically.

#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
    partitions: u32,
}

impl Keys {
    pub fn new(prefix: impl Into<String>, partitions: u32) -> Self {
        Self {
            prefix: prefix.into(),
            partitions: partitions.max(1),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn partitions(&self) -> u32 {
        self.partitions
    }

    pub fn partition_of(&self, conversation_id: &str) -> u32 {
        rill_core::partition_of(conversation_id, self.partitions)
    }

    /// `<prefix>:{p}:c:<conversationID>`: one entry per stored message, id `0-<seq>`.
    pub fn conversation(&self, conversation_id: &str) -> String {
        self.conversation_in(self.partition_of(conversation_id), conversation_id)
    }

    /// `conversation` when the caller already knows the partition (saves a crc32 per key).
    pub fn conversation_in(&self, partition: u32, conversation_id: &str) -> String {
        format!("{}:{{{partition}}}:c:{conversation_id}", self.prefix)
    }

    /// `<prefix>:{p}:log`: the partition log the consumer groups read.
    pub fn partition_log(&self, partition: u32) -> String {
        format!("{}:{{{partition}}}:log", self.prefix)
    }

    /// `<prefix>:{p}:d:<conversationID>:<clientMsgID>`: the dedup marker holding the first seq.
    pub fn dedup(&self, conversation_id: &str, client_msg_id: &str) -> String {
        self.dedup_in(
            self.partition_of(conversation_id),
            conversation_id,
            client_msg_id,
        )
    }

    /// `dedup` when the caller already knows the partition.
    pub fn dedup_in(&self, partition: u32, conversation_id: &str, client_msg_id: &str) -> String {
        format!(
            "{}:{{{partition}}}:d:{conversation_id}:{client_msg_id}",
            self.prefix
        )
    }

    /// `<prefix>:{p}:dead:<group>`: entries a group gave up on after max deliveries.
    pub fn dead_letters(&self, partition: u32, group: &str) -> String {
        format!("{}:{{{partition}}}:dead:{group}", self.prefix)
    }

    /// `<prefix>:meta`: deployment facts (recorded partition count, function version).
    pub fn meta(&self) -> String {
        format!("{}:meta", self.prefix)
    }

    /// Any key outside the partitions (presence, delivery, tokens, caches) under the prefix.
    pub fn global(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn partition_keys_share_the_hash_tag() {
        let k = Keys::new("rill", 16);
        let p = k.partition_of("si_a_b");
        let tag = format!("{{{p}}}");
        assert!(k.conversation("si_a_b").contains(&tag));
        assert!(k.dedup("si_a_b", "m1").contains(&tag));
        assert!(k.partition_log(p).contains(&tag));
        assert_eq!(k.conversation("si_a_b"), format!("rill:{tag}:c:si_a_b"));
        assert_eq!(k.dedup("si_a_b", "m1"), format!("rill:{tag}:d:si_a_b:m1"));
    }
}
