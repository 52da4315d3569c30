//! Read marks (OpenIM's `mark_msgs_as_read`, `mark_conversation_as_read`,
//! `set_conversation_has_read_seq`). The has-read seq only moves forward (`$max`), so marks
//! are idempotent and order-free like the projection that also advances it (a sender has read
//! what they sent). Each mark is announced with a 2200 HasReadReceipt notification stored in
//! the `n_` conversation: to the peer in a single chat (read receipts), otherwise to the
//! user's own devices.

use crate::{App, AppError, Caller};
use rill_core::options;
use rill_core::types::{content, msg_from, session};
use rill_store::conversations as store;
use rill_store::versions::ChangeKind;
use rill_wire::pb::msg as pb;
use rill_wire::pb::sdkws::MsgData;
use std::collections::BTreeMap;

/// OpenIM's options of a reliable notification (kept in the `n_` twin, pushed to the
/// sender's other devices, no unread count, no offline push).
fn receipt_options() -> BTreeMap<String, bool> {
    use options::*;
    [
        (IS_NOT_NOTIFICATION, false),
        (IS_SEND_MSG, false),
        (HISTORY, true),
        (PERSISTENT, true),
        (OFFLINE_PUSH, false),
        (UNREAD_COUNT, false),
        (CONVERSATION_UPDATE, false),
        (SENDER_SYNC, true),
        (NOT_PRIVATE, false),
        (SENDER_CONVERSATION_UPDATE, false),
        (REACTION_FROM_CACHE, false),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn no_zero_seqs(seqs: &[i64]) -> Result<(), AppError> {
    if seqs.contains(&0) {
        return Err(AppError::args("seqs has 0 value is invalid"));
    }
    Ok(())
}

impl App {
    /// The conversation's max seq, and an error when `seq` is beyond it.
    async fn check_not_beyond_max(&self, conversation_id: &str, seq: i64) -> Result<(), AppError> {
        let max = self.log().max_seq(conversation_id).await?;
        if seq > max {
            return Err(AppError::args("hasReadSeq must not be bigger than maxSeq"));
        }
        Ok(())
    }

    /// Raises `owner`'s has-read seq to `seq`; returns the previous value. A row created by
    /// this (the projection has not caught up yet) is recorded in the version log.
    async fn raise_read(
        &self,
        owner: &str,
        conversation_id: &str,
        seq: i64,
    ) -> Result<i64, AppError> {
        let db = self.store().database();
        let before = store::get(db, owner, conversation_id)
            .await?
            .map_or(0, |r| r.has_read_seq);
        if store::raise_has_read_seq(db, owner, conversation_id, seq).await? {
            store::record_changes(
                db,
                owner,
                &[(conversation_id.to_string(), ChangeKind::Insert)],
            )
            .await?;
        }
        Ok(before)
    }

    /// Session type and peer (single/notification chat) or group of `owner`'s conversation.
    async fn conversation_kind(
        &self,
        owner: &str,
        conversation_id: &str,
    ) -> Result<(i32, String), AppError> {
        let row = store::get(self.store().database(), owner, conversation_id).await?;
        let (kind, peer, group) = match row {
            Some(r) if r.conversation_type != 0 => (r.conversation_type, r.user_id, r.group_id),
            _ => {
                let id = store::identity(owner, conversation_id);
                (id.conversation_type, id.user_id, id.group_id)
            }
        };
        Ok((
            kind,
            if kind == session::READ_GROUP {
                group
            } else {
                peer
            },
        ))
    }

    /// The 2200 receipt from `send_id` to `recv_id` (a single-chat notification). Best effort:
    /// the mark itself is already stored.
    async fn send_read_receipt(
        &self,
        send_id: &str,
        recv_id: &str,
        conversation_id: &str,
        seqs: &[i64],
        has_read_seq: i64,
    ) {
        // Go's encoding/json writes a nil slice as null.
        let seqs = if seqs.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::json!(seqs)
        };
        let tips = serde_json::json!({
            "markAsReadUserID": send_id,
            "conversationID": conversation_id,
            "seqs": seqs,
            "hasReadSeq": has_read_seq,
        });
        let msg = MsgData {
            send_id: send_id.to_string(),
            recv_id: recv_id.to_string(),
            client_msg_id: crate::send::generated_client_msg_id(send_id),
            session_type: session::SINGLE,
            msg_from: msg_from::SYSTEM,
            content_type: content::HAS_READ_RECEIPT,
            content: serde_json::json!({ "detail": tips.to_string() })
                .to_string()
                .into_bytes(),
            create_time: rill_core::now_ms(),
            options: receipt_options(),
            ..Default::default()
        };
        if let Err(e) = self.send_system_message(msg).await {
            tracing::warn!(send_id, conversation_id, error = %e, "read receipt not sent");
        }
    }

    /// `/msg/mark_msgs_as_read`: the listed messages are read; the has-read seq moves to the
    /// last of them (which must not be beyond the conversation's max seq).
    pub async fn mark_msgs_as_read(
        &self,
        caller: &Caller,
        req: pb::MarkMsgsAsReadReq,
    ) -> Result<pb::MarkMsgsAsReadResp, AppError> {
        if req.conversation_id.is_empty() {
            return Err(AppError::args("conversationID is empty"));
        }
        let Some(&has_read_seq) = req.seqs.last() else {
            return Err(AppError::args("seqs is empty"));
        };
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        no_zero_seqs(&req.seqs)?;
        caller.check_self_or_admin(&req.user_id)?;
        self.check_not_beyond_max(&req.conversation_id, has_read_seq)
            .await?;
        let (kind, peer) = self
            .conversation_kind(&req.user_id, &req.conversation_id)
            .await?;
        if kind == session::SINGLE {
            rill_store::messages::mark_read(
                self.store().database(),
                &req.conversation_id,
                &req.seqs,
            )
            .await?;
        }
        self.raise_read(&req.user_id, &req.conversation_id, has_read_seq)
            .await?;
        if kind == session::SINGLE || kind == session::NOTIFICATION {
            let recv = if peer.is_empty() {
                req.user_id.as_str()
            } else {
                peer.as_str()
            };
            self.send_read_receipt(
                &req.user_id,
                recv,
                &req.conversation_id,
                &req.seqs,
                has_read_seq,
            )
            .await;
        }
        Ok(pb::MarkMsgsAsReadResp {})
    }

    /// `/msg/mark_conversation_as_read`: everything up to `hasReadSeq` is read (plus `seqs`).
    /// In a single chat the newly read messages are marked and the peer gets a receipt; in
    /// other conversations the user's own devices are told.
    pub async fn mark_conversation_as_read(
        &self,
        caller: &Caller,
        req: pb::MarkConversationAsReadReq,
    ) -> Result<pb::MarkConversationAsReadResp, AppError> {
        if req.conversation_id.is_empty() {
            return Err(AppError::args("conversationID is empty"));
        }
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        if req.has_read_seq < 1 {
            return Err(AppError::args("hasReadSeq is invalid"));
        }
        no_zero_seqs(&req.seqs)?;
        caller.check_self_or_admin(&req.user_id)?;
        self.check_not_beyond_max(&req.conversation_id, req.has_read_seq)
            .await?;
        let (kind, peer) = self
            .conversation_kind(&req.user_id, &req.conversation_id)
            .await?;
        let before = self
            .raise_read(&req.user_id, &req.conversation_id, req.has_read_seq)
            .await?;
        let has_read = before.max(req.has_read_seq);
        if kind == session::SINGLE {
            let mut seqs: Vec<i64> = (before + 1..=req.has_read_seq).collect();
            for s in &req.seqs {
                if !seqs.contains(s) {
                    seqs.push(*s);
                }
            }
            if !seqs.is_empty() {
                rill_store::messages::mark_read(
                    self.store().database(),
                    &req.conversation_id,
                    &seqs,
                )
                .await?;
            }
            let recv = if peer.is_empty() {
                req.user_id.as_str()
            } else {
                peer.as_str()
            };
            self.send_read_receipt(&req.user_id, recv, &req.conversation_id, &seqs, has_read)
                .await;
        } else {
            self.send_read_receipt(
                &req.user_id,
                &req.user_id,
                &req.conversation_id,
                &[],
                has_read,
            )
            .await;
        }
        Ok(pb::MarkConversationAsReadResp {})
    }

    /// `/msg/set_conversation_has_read_seq`: moves the has-read seq forward to `hasReadSeq`
    /// (at most the conversation's max seq) and tells the user's devices unless
    /// `noNotification`.
    pub async fn set_conversation_has_read_seq(
        &self,
        caller: &Caller,
        req: pb::SetConversationHasReadSeqReq,
    ) -> Result<pb::SetConversationHasReadSeqResp, AppError> {
        if req.conversation_id.is_empty() {
            return Err(AppError::args("conversationID is empty"));
        }
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        if req.has_read_seq < 1 {
            return Err(AppError::args("hasReadSeq is invalid"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        self.check_not_beyond_max(&req.conversation_id, req.has_read_seq)
            .await?;
        let before = self
            .raise_read(&req.user_id, &req.conversation_id, req.has_read_seq)
            .await?;
        if !req.no_notification {
            let has_read = before.max(req.has_read_seq);
            self.send_read_receipt(
                &req.user_id,
                &req.user_id,
                &req.conversation_id,
                &[],
                has_read,
            )
            .await;
        }
        Ok(pb::SetConversationHasReadSeqResp {})
    }

    /// Has-read seqs of `owner` in `conversation_ids` (0 where nothing is read yet), for the
    /// seq queries (1006) and the conversation list.
    pub async fn has_read_seqs(
        &self,
        owner: &str,
        conversation_ids: &[String],
    ) -> Result<std::collections::HashMap<String, i64>, AppError> {
        Ok(store::has_read_seqs(self.store().database(), owner, conversation_ids).await?)
    }
}
