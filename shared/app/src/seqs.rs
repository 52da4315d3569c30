//! Seq queries: WS 1001 (newest seqs) and WS 1006 / HTTP get_conversations_has_read_and_max_seq.
//!
//! Max seqs always come from the log (the conversation stream is the seq counter, so they are
//! never behind); has-read seqs, per-user caps and pins come from the conversation read model.

use crate::{App, AppError, Caller};
use rill_core::conversation::notification_twin;
use rill_wire::pb::msg::{
    GetConversationsHasReadAndMaxSeqReq, GetConversationsHasReadAndMaxSeqResp, Seqs,
};
use rill_wire::pb::sdkws::{GetMaxSeqReq, GetMaxSeqResp};
use std::collections::BTreeMap;

/// The user's own notification conversation, `n_<u>_<u>`.
pub fn self_notification(user_id: &str) -> String {
    format!("n_{user_id}_{user_id}")
}

impl App {
    /// WS 1001 / HTTP newest_seq: the max seq of each of the user's conversations, of each
    /// one's `n_` twin and of `n_<u>_<u>`; zero seqs are left out and `minSeqs` stays empty.
    pub async fn newest_seqs(
        &self,
        caller: &Caller,
        req: GetMaxSeqReq,
    ) -> Result<GetMaxSeqResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        let owned = rill_store::conversations::ids(self.store().database(), &req.user_id).await?;
        let mut ids: Vec<String> = Vec::with_capacity(owned.len() * 2 + 1);
        for c in &owned {
            ids.push(c.clone());
            ids.push(notification_twin(c));
        }
        ids.push(self_notification(&req.user_id));
        ids.sort();
        ids.dedup();
        let maxes = self.log().max_seqs(&ids).await?;
        let max_seqs: BTreeMap<String, i64> =
            ids.into_iter().zip(maxes).filter(|(_, s)| *s > 0).collect();
        Ok(GetMaxSeqResp {
            max_seqs,
            min_seqs: BTreeMap::new(),
        })
    }

    /// WS 1006: per conversation `{maxSeq, hasReadSeq, maxSeqTime}` (all the user's
    /// conversations when none are named), the per-user max cap replacing maxSeq where set,
    /// and the pinned conversation ids when asked.
    pub async fn has_read_and_max_seqs(
        &self,
        caller: &Caller,
        req: GetConversationsHasReadAndMaxSeqReq,
    ) -> Result<GetConversationsHasReadAndMaxSeqResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        let db = self.store().database();
        let ids = if req.conversation_i_ds.is_empty() {
            rill_store::conversations::ids(db, &req.user_id).await?
        } else {
            let mut v = req.conversation_i_ds.clone();
            v.sort();
            v.dedup();
            v
        };
        let maxes = self.log().max_seqs(&ids).await?;
        let states = rill_store::conversations::seq_states(db, &req.user_id, &ids).await?;
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let heads = rill_store::conversations::heads::of(db, &id_refs).await?;
        let mut seqs = BTreeMap::new();
        for (id, max_seq) in ids.iter().zip(maxes) {
            let state = states.get(id).copied().unwrap_or_default();
            let head = heads
                .get(id)
                .filter(|h| h.seq == max_seq && h.send_time > 0);
            let max_seq_time = if max_seq == 0 {
                0
            } else if let Some(head) = head {
                head.send_time
            } else {
                // The projection is behind: read the time from the stream itself.
                self.send_time_of(id, max_seq).await?
            };
            let max_seq = if state.max_seq != 0 {
                state.max_seq
            } else {
                max_seq
            };
            seqs.insert(
                id.clone(),
                Seqs {
                    max_seq,
                    has_read_seq: state.has_read_seq,
                    max_seq_time,
                },
            );
        }
        let pinned_conversation_i_ds = if req.return_pinned {
            rill_store::conversations::pinned_ids(db, &req.user_id).await?
        } else {
            Vec::new()
        };
        Ok(GetConversationsHasReadAndMaxSeqResp {
            seqs,
            pinned_conversation_i_ds,
        })
    }

    /// The send time of one stored message (hot window, else history; 0 when unknown).
    async fn send_time_of(&self, conversation_id: &str, seq: i64) -> Result<i64, AppError> {
        for e in self.log().range(conversation_id, seq, seq).await? {
            if let Some(m) = crate::pull::message_of(e.envelope.event) {
                return Ok(m.send_time);
            }
        }
        let older =
            rill_store::messages::by_seqs(self.store().database(), conversation_id, &[seq]).await?;
        Ok(older.first().map_or(0, |m| m.send_time))
    }
}
