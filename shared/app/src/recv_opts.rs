//! Per-conversation receive options (`recvMsgOpt`) as the send path reads them: a Redis hash
//! per owner, written through whenever the read model's option changes. Sends consult only
//! Redis, so they keep working while MongoDB is down; the Mongo row stays the source the
//! conversation queries answer from.

use crate::{App, AppError};
use redis::AsyncCommands as _;

impl App {
    fn recv_opts_key(&self, owner: &str) -> String {
        // The owner in a hash tag: one owner's keys share a Cluster slot.
        self.log().keys().global(&format!("recvopt:{{{owner}}}"))
    }

    /// Records `owner`'s receive option for a conversation (0, the default, is not stored).
    pub async fn set_recv_opt(
        &self,
        owner: &str,
        conversation_id: &str,
        opt: i32,
    ) -> Result<(), AppError> {
        let key = self.recv_opts_key(owner);
        let mut conn = self.redis();
        if opt == rill_core::types::recv_opt::RECEIVE {
            let _: i64 = conn.hdel(key, conversation_id).await?;
        } else {
            let _: i64 = conn.hset(key, conversation_id, opt).await?;
        }
        self.send_checks()
            .conversation_opts
            .forget([(owner.to_string(), conversation_id.to_string())]);
        Ok(())
    }

    /// `owner`'s receive option for a conversation; `None` when it is the default (receive).
    pub async fn recv_opt(
        &self,
        owner: &str,
        conversation_id: &str,
    ) -> Result<Option<i32>, AppError> {
        let mut conn = self.redis();
        let opt: Option<i32> = conn
            .hget(self.recv_opts_key(owner), conversation_id)
            .await?;
        Ok(opt)
    }
}
