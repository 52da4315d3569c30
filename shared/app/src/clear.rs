//! Clearing conversations (OpenIM's `/msg/clear_conversation_msg` and `/msg/user_clear_all_msg`).
//!
//! Rill never deletes history, so clearing is a per-user view change, as OpenIM does for
//! `IsSyncOther: false`: the user's min seq moves past the current max (reads then start
//! after it) and their has-read seq moves up to it. `IsSyncSelf` tells the user's other devices
//! with a 1703 ClearConversation notification. `IsSyncOther: true` clears the conversation for
//! everyone in OpenIM (a conversation-wide min seq); Rill applies the same min seq to every
//! owner of the conversation (both ends of a single chat, every member of a group) and sends
//! the 1703 to the peer or the group, which is what every client observes.

use crate::notify::{Notice, Target};
use crate::{App, AppError, Caller};
use rill_core::types::content;
use rill_store::conversations as store;
use rill_wire::pb::msg as pb;
use rill_wire::pb::sdkws::ClearConversationTips;

impl App {
    /// `/msg/clear_conversation_msg`.
    pub async fn clear_conversation_msg(
        &self,
        caller: &Caller,
        req: pb::ClearConversationsMsgReq,
    ) -> Result<pb::ClearConversationsMsgResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        if req.conversation_i_ds.is_empty() {
            return Err(AppError::args("conversationIDs is empty"));
        }
        self.clear_conversations(&req.user_id, &req.conversation_i_ds, req.delete_sync_opt)
            .await?;
        Ok(pb::ClearConversationsMsgResp {})
    }

    /// `/msg/user_clear_all_msg`: every conversation of the user.
    pub async fn user_clear_all_msg(
        &self,
        caller: &Caller,
        req: pb::UserClearAllMsgReq,
    ) -> Result<pb::UserClearAllMsgResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        let ids = store::ids(self.store().database(), &req.user_id).await?;
        self.clear_conversations(&req.user_id, &ids, req.delete_sync_opt)
            .await?;
        Ok(pb::UserClearAllMsgResp {})
    }

    async fn clear_conversations(
        &self,
        user_id: &str,
        conversation_ids: &[String],
        opt: Option<pb::DeleteSyncOpt>,
    ) -> Result<(), AppError> {
        let opt = opt.unwrap_or_default();
        // Only conversations the user has (OpenIM looks the ids up and skips unknown ones).
        let owned = store::ids(self.store().database(), user_id).await?;
        let existing: Vec<String> = conversation_ids
            .iter()
            .filter(|c| owned.contains(c))
            .cloned()
            .collect();
        if existing.is_empty() {
            return Ok(());
        }
        let maxes = self.log().max_seqs(&existing).await?;
        for (conversation_id, max) in existing.iter().zip(&maxes) {
            let owners = if opt.is_sync_other {
                self.conversation_owners(user_id, conversation_id).await?
            } else {
                vec![user_id.to_string()]
            };
            self.set_conversation_min_seq(conversation_id, &owners, max + 1)
                .await?;
            store::raise_has_read_seq(self.store().database(), user_id, conversation_id, *max)
                .await?;
            if opt.is_sync_other {
                let tips = ClearConversationTips {
                    user_id: user_id.to_string(),
                    conversation_i_ds: vec![conversation_id.clone()],
                };
                let identity = store::identity(user_id, conversation_id);
                let target = if identity.group_id.is_empty() {
                    Target::User(if identity.user_id.is_empty() {
                        user_id
                    } else {
                        identity.user_id.as_str()
                    })
                } else {
                    Target::Group(identity.group_id.as_str())
                };
                self.send_clear_notice(user_id, target, &tips).await;
            }
        }
        if opt.is_sync_self && !opt.is_sync_other {
            let tips = ClearConversationTips {
                user_id: user_id.to_string(),
                conversation_i_ds: existing.clone(),
            };
            self.send_clear_notice(user_id, Target::User(user_id), &tips)
                .await;
        }
        Ok(())
    }

    /// Everyone who owns a row of `conversation_id`: both ends of a single chat, the members of
    /// a group.
    async fn conversation_owners(
        &self,
        user_id: &str,
        conversation_id: &str,
    ) -> Result<Vec<String>, AppError> {
        let identity = store::identity(user_id, conversation_id);
        let mut owners = if identity.group_id.is_empty() {
            vec![identity.user_id]
        } else {
            self.group_member_ids(&identity.group_id).await?
        };
        owners.retain(|o| !o.is_empty());
        if !owners.iter().any(|o| o == user_id) {
            owners.push(user_id.to_string());
        }
        Ok(owners)
    }

    /// Best effort: the clear itself is durable; the SDK also resyncs seqs on reconnect.
    async fn send_clear_notice(
        &self,
        user_id: &str,
        target: Target<'_>,
        tips: &ClearConversationTips,
    ) {
        let notice = Notice {
            content_type: content::CLEAR_CONVERSATION,
            send_id: user_id,
            target,
            tips,
            extra_recipients: &[],
            send_message: None,
        };
        if let Err(e) = self.notify(notice).await {
            tracing::warn!(user_id, error = %e, "clear-conversation notification not sent");
        }
    }
}
