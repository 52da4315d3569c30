//! Deleting messages (OpenIM's `/msg/delete_msgs`).
//!
//! OpenIM marks a message deleted for one user (`del_list`) when `IsSyncOther` is off, and
//! deletes it physically otherwise. Rill never deletes history, so both are read-time views
//! kept in Redis under the conversation's partition hash tag (like the revoke records):
//! one set of seqs per (user, conversation) and one set per conversation for "everyone".
//! Reads then rewrite the messages: deleted for the reader → the message with `status 4` and
//! empty content (OpenIM's `handlerDeleteAndRevoked`); deleted for everyone → the bare
//! `{seq, status 4}` placeholder OpenIM returns for a seq stored nowhere.
//!
//! Like the revoke records, these sets should become log events so projections can apply
//! them; until then Redis is the source of truth.

use crate::notify::{Notice, Target};
use crate::{App, AppError, Caller};
use rill_core::types::{content, status};
use rill_store::conversations as store;
use rill_wire::pb::msg::{DeleteMsgsReq, DeleteMsgsResp};
use rill_wire::pb::sdkws::{DeleteMsgsTips, MsgData};
use std::collections::HashSet;

/// The seqs of a conversation deleted for everyone.
pub fn everyone_key(keys: &rill_log::Keys, conversation_id: &str) -> String {
    let p = keys.partition_of(conversation_id);
    format!("{}:{{{p}}}:del:{conversation_id}", keys.prefix())
}

/// The seqs of a conversation deleted for one user.
pub fn user_key(keys: &rill_log::Keys, conversation_id: &str, user_id: &str) -> String {
    format!("{}:u:{user_id}", everyone_key(keys, conversation_id))
}

/// Which of some seqs are deleted, for everyone and for one reader.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub everyone: HashSet<i64>,
    pub mine: HashSet<i64>,
}

/// A message deleted for the reader only: OpenIM keeps every field but the content and sets
/// status 4 (`MsgDeleted`). A revoke is applied after this, as OpenIM does, so a deleted and
/// revoked message carries the revoke content with status 4.
pub fn hide_for_reader(msg: &mut MsgData) {
    msg.content = Vec::new();
    msg.status = status::DELETED;
}

impl App {
    /// Which of `seqs` are deleted in `conversation_id`, for everyone and (with a reader) for
    /// `reader`.
    pub async fn deleted_seqs(
        &self,
        conversation_id: &str,
        reader: Option<&str>,
        seqs: &[i64],
    ) -> Result<Deleted, AppError> {
        if seqs.is_empty() {
            return Ok(Deleted::default());
        }
        let keys = self.log().keys();
        let mut pipe = redis::pipe();
        pipe.cmd("SMISMEMBER")
            .arg(everyone_key(keys, conversation_id))
            .arg(seqs);
        if let Some(user) = reader {
            pipe.cmd("SMISMEMBER")
                .arg(user_key(keys, conversation_id, user))
                .arg(seqs);
        }
        let answers: Vec<Vec<bool>> = pipe.query_async(&mut self.redis()).await?;
        let pick = |i: usize| -> HashSet<i64> {
            answers.get(i).map_or_else(HashSet::new, |flags| {
                seqs.iter()
                    .zip(flags)
                    .filter(|(_, d)| **d)
                    .map(|(s, _)| *s)
                    .collect()
            })
        };
        Ok(Deleted {
            everyone: pick(0),
            mine: pick(1),
        })
    }

    /// Every seq of a conversation deleted for everyone (small: deletions are rare).
    pub async fn deleted_for_everyone(
        &self,
        conversation_id: &str,
    ) -> Result<HashSet<i64>, AppError> {
        let seqs: Vec<i64> = redis::cmd("SMEMBERS")
            .arg(everyone_key(self.log().keys(), conversation_id))
            .query_async(&mut self.redis())
            .await?;
        Ok(seqs.into_iter().collect())
    }

    /// `/msg/delete_msgs {conversationID, seqs, userID, deleteSyncOpt}`.
    pub async fn delete_msgs(
        &self,
        caller: &Caller,
        req: DeleteMsgsReq,
    ) -> Result<DeleteMsgsResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        if req.conversation_id.is_empty() {
            return Err(AppError::args("conversationID is empty"));
        }
        if req.seqs.is_empty() {
            return Err(AppError::args("seqs is empty"));
        }
        if req.seqs.iter().any(|s| *s <= 0) {
            return Err(AppError::args("seq is invalid"));
        }
        if !self.may_read(&req.user_id, &req.conversation_id).await? {
            return Err(AppError::no_permission(
                "the user may not read this conversation",
            ));
        }
        // Only seqs that exist: a mark on a future seq would hide a message not sent yet
        // (OpenIM deletes nothing for such seqs).
        let max = self
            .log()
            .max_seqs(std::slice::from_ref(&req.conversation_id))
            .await?
            .first()
            .copied()
            .unwrap_or(0);
        let mut seqs: Vec<i64> = req.seqs.iter().copied().filter(|s| *s <= max).collect();
        seqs.sort_unstable();
        seqs.dedup();
        let opt = req.delete_sync_opt.unwrap_or_default();
        let keys = self.log().keys();
        let key = if opt.is_sync_other {
            everyone_key(keys, &req.conversation_id)
        } else {
            user_key(keys, &req.conversation_id, &req.user_id)
        };
        if !seqs.is_empty() {
            let _: i64 = redis::cmd("SADD")
                .arg(&key)
                .arg(&seqs)
                .query_async(&mut self.redis())
                .await?;
        }
        // The tips carry the request's seqs, as OpenIM's do.
        let tips = DeleteMsgsTips {
            user_id: req.user_id.clone(),
            conversation_id: req.conversation_id.clone(),
            seqs: req.seqs.clone(),
        };
        if opt.is_sync_other {
            let identity = store::identity(&req.user_id, &req.conversation_id);
            let target = if !identity.group_id.is_empty() {
                Target::Group(identity.group_id.as_str())
            } else if !identity.user_id.is_empty() {
                Target::User(identity.user_id.as_str())
            } else {
                Target::User(req.user_id.as_str())
            };
            self.send_delete_notice(&req.user_id, target, &tips).await;
        } else if opt.is_sync_self {
            self.send_delete_notice(&req.user_id, Target::User(&req.user_id), &tips)
                .await;
        }
        Ok(DeleteMsgsResp {})
    }

    /// Best effort, as the clear notice: the deletion itself is durable and every read
    /// applies it.
    async fn send_delete_notice(&self, user_id: &str, target: Target<'_>, tips: &DeleteMsgsTips) {
        let notice = Notice {
            content_type: content::DELETE_MSGS_NOTIFICATION,
            send_id: user_id,
            target,
            tips,
            extra_recipients: &[],
            send_message: None,
        };
        if let Err(e) = self.notify(notice).await {
            tracing::warn!(user_id, error = %e, "delete-msgs notification not sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_partition_tag() {
        let keys = rill_log::Keys::new("rill", 16);
        let tag = |s: &str| s.split('}').next().map(str::to_string);
        let conv = keys.conversation("si_u1_u2");
        assert_eq!(tag(&everyone_key(&keys, "si_u1_u2")), tag(&conv));
        assert_eq!(tag(&user_key(&keys, "si_u1_u2", "u1")), tag(&conv));
        assert_ne!(
            user_key(&keys, "si_u1_u2", "u1"),
            user_key(&keys, "si_u1_u2", "u2")
        );
    }

    #[test]
    fn hidden_messages_keep_their_fields() {
        let mut m = MsgData {
            send_id: "u1".into(),
            content: b"{\"content\":\"hi\"}".to_vec(),
            seq: 3,
            status: 2,
            ..Default::default()
        };
        hide_for_reader(&mut m);
        assert_eq!(m.status, status::DELETED);
        assert!(m.content.is_empty());
        assert_eq!(m.send_id, "u1");
        assert_eq!(m.seq, 3);
    }
}
