//! A private Redis, a fresh Mongo database and the log, for the operator commands' tests.
#![allow(clippy::unwrap_used)]

use rill_core::Message;
use rill_log::{Envelope, Event, Log, Topology};
use rill_testkit::{MongoServer, RedisServer, unique_name};

pub(crate) struct TestEnv {
    /// Kept so the server lives as long as the test.
    pub _redis: RedisServer,
    pub log: Log,
    pub db: mongodb::Database,
}

impl TestEnv {
    pub async fn start() -> anyhow::Result<Self> {
        Self::with_hot_window(100_000).await
    }

    pub async fn with_hot_window(hot_window: u64) -> anyhow::Result<Self> {
        let yaml = format!(
            "partitions: 2\nkey_prefix: rill\nhot_window: {hot_window}\nlog_retention: 7d\n\
             dedup_window: 1h\ngroups:\n  \
             history: {{ batch_size: 64, block: 100ms, claim_idle: 1s, max_deliveries: 3 }}\n  \
             readmodel: {{ batch_size: 64, block: 100ms, claim_idle: 1s, max_deliveries: 3 }}\n"
        );
        let topology = Topology::from_yaml_str(&yaml)?.with_prefix(unique_name("ops"));
        let redis = RedisServer::start().await?;
        let log = Log::connect(redis.client(), topology).await?;
        let mongo = MongoServer::shared().await?;
        let store = rill_store::Store::connect(&mongo.uri(), &unique_name("ops")).await?;
        store.ensure_indexes().await?;
        Ok(Self {
            _redis: redis,
            log,
            db: store.database().clone(),
        })
    }

    /// Single chat `i`: its id and its two users.
    pub fn pair(i: usize) -> (String, String, String) {
        let (a, b) = (format!("x{i}"), format!("y{i}"));
        (rill_core::conversation::single(&a, &b), a, b)
    }

    /// `per_conv` messages in each of `convs` single chats; the senders alternate.
    pub async fn burst(&self, convs: usize, per_conv: usize) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        for i in 0..convs {
            let (conv, a, b) = Self::pair(i);
            for n in 0..per_conv {
                let (send, recv) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
                let msg = Message {
                    send_id: send.clone(),
                    recv_id: recv.clone(),
                    client_msg_id: format!("{conv}-{n}"),
                    session_type: 1,
                    content_type: 101,
                    content: format!("{{\"content\":\"m{n}\"}}").into_bytes(),
                    send_time: 1_700_000_000_000 + n as i64,
                    status: 2,
                    ..Default::default()
                };
                self.log
                    .append(
                        &conv,
                        &msg.client_msg_id.clone(),
                        &Envelope::new(Event::Message(msg)),
                    )
                    .await?;
            }
            out.push(conv);
        }
        Ok(out)
    }

    pub async fn stored(&self) -> anyhow::Result<u64> {
        Ok(rill_store::messages::collection(&self.db)
            .count_documents(mongodb::bson::doc! {})
            .await?)
    }
}
