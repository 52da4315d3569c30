//! Conversation queries and settings (OpenIM's `/conversation/*` and `/jssdk/*`), answered
//! from the read model (`rill_store::conversations`) and the owners' version logs.
//!
//! Authorisation is OpenIM's "O" rule: the user named in the request must be the caller,
//! unless an admin calls. Settings changes are written to the row at once (the caller reads
//! its own write), recorded in the owner's version log, and announced to the owner's devices
//! with an online-only 1300 ConversationChange notification, which makes the SDK resync.

use crate::{App, AppError, Caller};
use md5::{Digest, Md5};
use rill_core::types::{content, msg_from, session};
use rill_core::{ErrCode, options};
use rill_store::conversations::{self as store, ConversationRow, Patch};
use rill_store::versions::{ChangeKind, SYNC_LIMIT, VersionLog};
use rill_wire::pb::conversation as pb;
use rill_wire::pb::jssdk;
use rill_wire::pb::sdkws::{MsgData, UserInfo};
use std::collections::{BTreeMap, HashMap};

/// jssdk's get_active_conversations: default and largest `count`.
const DEFAULT_ACTIVE: usize = 100;
const MAX_ACTIVE: i64 = 500;

/// The wire shape of a row.
pub fn to_pb(row: &ConversationRow) -> pb::Conversation {
    pb::Conversation {
        owner_user_id: row.owner_user_id.clone(),
        conversation_id: row.conversation_id.clone(),
        recv_msg_opt: row.recv_msg_opt,
        conversation_type: row.conversation_type,
        user_id: row.user_id.clone(),
        group_id: row.group_id.clone(),
        is_pinned: row.is_pinned,
        attached_info: row.attached_info.clone(),
        is_private_chat: row.is_private_chat,
        group_at_type: row.group_at_type,
        ex: row.ex.clone(),
        burn_duration: row.burn_duration,
        min_seq: row.min_seq,
        max_seq: row.max_seq,
        msg_destruct_time: row.msg_destruct_time,
        latest_msg_destruct_time: row.latest_msg_destruct_time,
        is_msg_destruct: row.is_msg_destruct,
    }
}

/// OpenIM's idHash: the first 8 bytes (big-endian) of md5 over the JSON array of ids as Go's
/// encoding/json writes it (which escapes `<`, `>` and `&`); 0 for no ids.
pub fn id_hash(ids: &[String]) -> u64 {
    if ids.is_empty() {
        return 0;
    }
    let json = serde_json::to_string(ids)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let sum = Md5::digest(json.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&sum[..8]);
    u64::from_be_bytes(first)
}

/// The fields of a `ConversationReq` whose wrappers are present (OpenIM's
/// UpdateConversationsMap).
fn requested_patch(c: &pb::ConversationReq) -> Result<Patch, AppError> {
    if let Some(v) = &c.recv_msg_opt
        && !(0..=2).contains(&v.value)
    {
        return Err(AppError::args("recvMsgOpt is invalid"));
    }
    Ok(Patch {
        recv_msg_opt: c.recv_msg_opt.as_ref().map(|v| v.value),
        is_pinned: c.is_pinned.as_ref().map(|v| v.value),
        attached_info: c.attached_info.as_ref().map(|v| v.value.clone()),
        is_private_chat: c.is_private_chat.as_ref().map(|v| v.value),
        ex: c.ex.as_ref().map(|v| v.value.clone()),
        burn_duration: c.burn_duration.as_ref().map(|v| v.value),
        min_seq: c.min_seq.as_ref().map(|v| v.value),
        max_seq: c.max_seq.as_ref().map(|v| v.value),
        group_at_type: c.group_at_type.as_ref().map(|v| v.value),
        msg_destruct_time: c.msg_destruct_time.as_ref().map(|v| v.value),
        is_msg_destruct: c.is_msg_destruct.as_ref().map(|v| v.value),
        latest_msg_destruct_time: None,
    })
}

/// OpenIM's Paginate: 1-based pages; a page past the end is empty; no pagination = all.
fn paginate<T>(items: Vec<T>, page: Option<&rill_wire::pb::sdkws::RequestPagination>) -> Vec<T> {
    let Some(p) = page else { return items };
    if p.show_number <= 0 {
        return items;
    }
    let show = p.show_number as usize;
    let start = (p.page_number.max(1) as usize - 1).saturating_mul(show);
    items.into_iter().skip(start).take(show).collect()
}

impl App {
    /// Records `changes` of `owner`'s rows in the version log and tells the owner's devices.
    async fn publish_changes(
        &self,
        owner: &str,
        changes: &[(String, ChangeKind)],
    ) -> Result<(), AppError> {
        if changes.is_empty() {
            return Ok(());
        }
        store::record_changes(self.store().database(), owner, changes).await?;
        let ids: Vec<String> = changes.iter().map(|(c, _)| c.clone()).collect();
        self.notify_conversation_change(owner, &ids).await;
        Ok(())
    }

    /// The 1300 ConversationChange notification (online only, to the owner's own devices).
    /// Best effort: the change is already durable and the SDK also resyncs on reconnect.
    async fn notify_conversation_change(&self, owner: &str, conversation_ids: &[String]) {
        let tips = serde_json::json!({ "userID": owner, "conversationIDList": conversation_ids });
        let opts: BTreeMap<String, bool> = [
            (options::IS_NOT_NOTIFICATION, false),
            (options::HISTORY, false),
            (options::PERSISTENT, false),
            (options::OFFLINE_PUSH, false),
            (options::UNREAD_COUNT, false),
            (options::CONVERSATION_UPDATE, false),
            (options::SENDER_SYNC, true),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let msg = MsgData {
            send_id: owner.to_string(),
            recv_id: owner.to_string(),
            client_msg_id: crate::send::generated_client_msg_id(owner),
            session_type: session::SINGLE,
            msg_from: msg_from::SYSTEM,
            content_type: content::CONVERSATION_CHANGE,
            content: serde_json::json!({ "detail": tips.to_string() })
                .to_string()
                .into_bytes(),
            create_time: rill_core::now_ms(),
            options: opts,
            ..Default::default()
        };
        if let Err(e) = self.send_system_message(msg).await {
            tracing::warn!(owner, error = %e, "conversation change notification not sent");
        }
    }

    /// `/conversation/get_all_conversations`: every conversation of the owner.
    pub async fn get_all_conversations(
        &self,
        caller: &Caller,
        req: pb::GetAllConversationsReq,
    ) -> Result<pb::GetAllConversationsResp, AppError> {
        if req.owner_user_id.is_empty() {
            return Err(AppError::args("ownerUserID is empty"));
        }
        caller.check_self_or_admin(&req.owner_user_id)?;
        let rows = store::all(self.store().database(), &req.owner_user_id).await?;
        Ok(pb::GetAllConversationsResp {
            conversations: rows.iter().map(to_pb).collect(),
        })
    }

    /// `/conversation/get_conversation`: one conversation; 1004 when the owner has none.
    pub async fn get_conversation(
        &self,
        caller: &Caller,
        req: pb::GetConversationReq,
    ) -> Result<pb::GetConversationResp, AppError> {
        if req.owner_user_id.is_empty() || req.conversation_id.is_empty() {
            return Err(AppError::args(
                "ownerUserID and conversationID are required",
            ));
        }
        caller.check_self_or_admin(&req.owner_user_id)?;
        let rows = store::find(
            self.store().database(),
            &req.owner_user_id,
            std::slice::from_ref(&req.conversation_id),
        )
        .await?;
        let row = rows
            .first()
            .ok_or_else(|| AppError::coded(ErrCode::RecordNotFound, "conversation not found"))?;
        Ok(pb::GetConversationResp {
            conversation: Some(to_pb(row)),
        })
    }

    /// `/conversation/get_conversations`: the owner's rows among the ids (missing ones skipped).
    pub async fn get_conversations(
        &self,
        caller: &Caller,
        req: pb::GetConversationsReq,
    ) -> Result<pb::GetConversationsResp, AppError> {
        if req.owner_user_id.is_empty() {
            return Err(AppError::args("ownerUserID is empty"));
        }
        caller.check_self_or_admin(&req.owner_user_id)?;
        let rows = store::find(
            self.store().database(),
            &req.owner_user_id,
            &req.conversation_i_ds,
        )
        .await?;
        Ok(pb::GetConversationsResp {
            conversations: rows.iter().map(to_pb).collect(),
        })
    }

    /// `/conversation/get_owner_conversation`: a page of the owner's conversations (creation
    /// order) and their total.
    pub async fn get_owner_conversation(
        &self,
        caller: &Caller,
        req: pb::GetOwnerConversationReq,
    ) -> Result<pb::GetOwnerConversationResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        let rows = store::all(self.store().database(), &req.user_id).await?;
        let total = rows.len() as i64;
        let page = paginate(rows, req.pagination.as_ref());
        Ok(pb::GetOwnerConversationResp {
            total,
            conversations: page.iter().map(to_pb).collect(),
        })
    }

    /// `/conversation/get_not_notify_conversation_ids`: recvMsgOpt 2 ("receive, no notice").
    pub async fn get_not_notify_conversation_ids(
        &self,
        caller: &Caller,
        req: pb::GetNotNotifyConversationIDsReq,
    ) -> Result<pb::GetNotNotifyConversationIDsResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        let ids = store::not_notify_ids(self.store().database(), &req.user_id).await?;
        Ok(pb::GetNotNotifyConversationIDsResp {
            conversation_i_ds: ids,
        })
    }

    /// `/conversation/get_pinned_conversation_ids`.
    pub async fn get_pinned_conversation_ids(
        &self,
        caller: &Caller,
        req: pb::GetPinnedConversationIDsReq,
    ) -> Result<pb::GetPinnedConversationIDsResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        let ids = store::pinned_ids(self.store().database(), &req.user_id).await?;
        Ok(pb::GetPinnedConversationIDsResp {
            conversation_i_ds: ids,
        })
    }

    /// `/conversation/get_full_conversation_ids`: every id with the log's version; `equal`
    /// (and no ids) when the client's idHash matches.
    pub async fn get_full_conversation_ids(
        &self,
        caller: &Caller,
        req: pb::GetFullOwnerConversationIDsReq,
    ) -> Result<pb::GetFullOwnerConversationIDsResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        // Head first: ids read afterwards are at least as new as the version reported.
        let head = VersionLog::conversations(self.store().database())
            .head(&req.user_id)
            .await?;
        let ids = store::ids(self.store().database(), &req.user_id).await?;
        let equal = req.id_hash == id_hash(&ids);
        Ok(pb::GetFullOwnerConversationIDsResp {
            version: head.version,
            version_id: head.id,
            equal,
            conversation_i_ds: if equal { Vec::new() } else { ids },
        })
    }

    /// `/conversation/get_incremental_conversations`: changes since the client's version
    /// (`full` when it must start over), at most 200 per call.
    pub async fn get_incremental_conversations(
        &self,
        caller: &Caller,
        req: pb::GetIncrementalConversationReq,
    ) -> Result<pb::GetIncrementalConversationResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        let log = VersionLog::conversations(self.store().database());
        let changes = log
            .since(&req.user_id, &req.version_id, req.version, SYNC_LIMIT)
            .await?;
        let (insert, update) = if changes.full {
            (Vec::new(), Vec::new())
        } else {
            let insert =
                store::find(self.store().database(), &req.user_id, &changes.insert).await?;
            let update =
                store::find(self.store().database(), &req.user_id, &changes.update).await?;
            (
                insert.iter().map(to_pb).collect(),
                update.iter().map(to_pb).collect(),
            )
        };
        Ok(pb::GetIncrementalConversationResp {
            version: changes.head.version,
            version_id: changes.head.id,
            full: changes.full,
            delete: changes.delete,
            insert,
            update,
        })
    }

    /// `/conversation/set_conversations`: sets the given fields on each user's row (creating
    /// it if missing); users whose row changed get a new version and a 1300 notification.
    /// `isPrivateChat` on a single chat is mirrored to the peer's row, as in OpenIM.
    pub async fn set_conversations(
        &self,
        caller: &Caller,
        req: pb::SetConversationsReq,
    ) -> Result<pb::SetConversationsResp, AppError> {
        if req.user_i_ds.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        let Some(conv) = req.conversation else {
            return Err(AppError::args("conversation is empty"));
        };
        if conv.conversation_id.is_empty() {
            return Err(AppError::args("conversationID is empty"));
        }
        match conv.conversation_type {
            0 => return Err(AppError::args("conversationType is invalid")),
            session::SINGLE if conv.user_id.is_empty() => {
                return Err(AppError::args("userID is empty"));
            }
            session::READ_GROUP if conv.group_id.is_empty() => {
                return Err(AppError::args("groupID is empty"));
            }
            _ => {}
        }
        for user in &req.user_i_ds {
            caller.check_self_or_admin(user)?;
        }
        let fields = requested_patch(&conv)?;
        let mut users: Vec<String> = req.user_i_ds.clone();
        users.sort();
        users.dedup();
        for user in &users {
            if let Some(kind) = store::set_fields(
                self.store().database(),
                user,
                &conv.conversation_id,
                &fields,
            )
            .await?
            {
                self.publish_changes(user, &[(conv.conversation_id.clone(), kind)])
                    .await?;
            }
            // The send path reads receive options from Redis only (see recv_opts).
            if let Some(opt) = fields.recv_msg_opt {
                self.set_recv_opt(user, &conv.conversation_id, opt).await?;
            }
        }
        if let Some(private) = &conv.is_private_chat
            && conv.conversation_type != session::READ_GROUP
        {
            let private = Patch {
                is_private_chat: Some(private.value),
                ..Default::default()
            };
            for user in &users {
                let peer = store::identity(user, &conv.conversation_id).user_id;
                if peer.is_empty() || users.contains(&peer) {
                    continue;
                }
                if let Some(kind) = store::set_fields(
                    self.store().database(),
                    &peer,
                    &conv.conversation_id,
                    &private,
                )
                .await?
                {
                    self.publish_changes(&peer, &[(conv.conversation_id.clone(), kind)])
                        .await?;
                }
            }
            // OpenIM sends 1701 from each listed user to the conversation's userID (stored as
            // a chat tip: isSendMsg is on for conversationSetPrivate).
            for user in &users {
                let tips = rill_wire::pb::sdkws::ConversationSetPrivateTips {
                    recv_id: conv.user_id.clone(),
                    send_id: user.clone(),
                    is_private: private.is_private_chat.unwrap_or_default(),
                    conversation_id: conv.conversation_id.clone(),
                };
                let target = if conv.user_id.is_empty() {
                    crate::notify::Target::User(user)
                } else {
                    crate::notify::Target::User(&conv.user_id)
                };
                let notice = crate::notify::Notice {
                    content_type: content::CONVERSATION_PRIVATE_CHAT,
                    send_id: user,
                    target,
                    tips: &tips,
                    extra_recipients: &[],
                    send_message: None,
                };
                if let Err(e) = self.notify(notice).await {
                    tracing::warn!(user, error = %e, "private-chat notification not sent");
                }
            }
        }
        Ok(pb::SetConversationsResp {})
    }

    /// `/conversation/delete_conversations`: deletes the listed rows, or (with
    /// `needDeleteTime` days) those whose newest message is older than that.
    pub async fn delete_conversations(
        &self,
        caller: &Caller,
        req: pb::DeleteConversationsReq,
    ) -> Result<pb::DeleteConversationsResp, AppError> {
        caller.check_self_or_admin(&req.owner_user_id)?;
        let owner = req.owner_user_id.as_str();
        let ids = match (req.need_delete_time, req.conversation_i_ds.is_empty()) {
            (0, true) => {
                return Err(AppError::args(
                    "need_delete_time or conversationIDs need be set",
                ));
            }
            (0, false) => req.conversation_i_ds.clone(),
            (_, false) => {
                return Err(AppError::args(
                    "need_delete_time and conversationIDs cannot both be set",
                ));
            }
            (days, true) => {
                let threshold =
                    rill_core::now_ms().saturating_sub(days.saturating_mul(24 * 3600 * 1000));
                store::all(self.store().database(), owner)
                    .await?
                    .into_iter()
                    .filter(|r| r.latest.as_ref().is_some_and(|l| l.send_time < threshold))
                    .map(|r| r.conversation_id)
                    .collect()
            }
        };
        let deleted = store::delete(self.store().database(), owner, &ids).await?;
        let changes: Vec<(String, ChangeKind)> = deleted
            .into_iter()
            .map(|c| (c, ChangeKind::Delete))
            .collect();
        // OpenIM does not notify deletions; the version log carries them.
        if !changes.is_empty() {
            store::record_changes(self.store().database(), owner, &changes).await?;
        }
        Ok(pb::DeleteConversationsResp {})
    }

    /// `/conversation/update_conversations_by_user`: sets `ex` on every conversation of the user.
    pub async fn update_conversations_by_user(
        &self,
        caller: &Caller,
        req: pb::UpdateConversationsByUserReq,
    ) -> Result<pb::UpdateConversationsByUserResp, AppError> {
        caller.check_self_or_admin(&req.user_id)?;
        if let Some(ex) = &req.ex {
            let changed =
                store::set_ex_all(self.store().database(), &req.user_id, &ex.value).await?;
            let changes: Vec<(String, ChangeKind)> = changed
                .into_iter()
                .map(|c| (c, ChangeKind::Update))
                .collect();
            self.publish_changes(&req.user_id, &changes).await?;
        }
        Ok(pb::UpdateConversationsByUserResp {})
    }

    /// `/conversation/get_sorted_conversation_list` (deprecated in OpenIM, still routed):
    /// conversations with their latest message and unread count, pinned first, then by the
    /// latest message's time, newest first; 1004 when the user has none of them.
    pub async fn get_sorted_conversation_list(
        &self,
        caller: &Caller,
        req: pb::GetSortedConversationListReq,
    ) -> Result<pb::GetSortedConversationListResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        let Some(pagination) = req.pagination.as_ref() else {
            return Err(AppError::args("pagination is empty"));
        };
        if pagination.page_number < 1 {
            return Err(AppError::args("pageNumber is invalid"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        let owner = req.user_id.as_str();
        let rows = if req.conversation_i_ds.is_empty() {
            store::all(self.store().database(), owner).await?
        } else {
            store::find(self.store().database(), owner, &req.conversation_i_ds).await?
        };
        if rows.is_empty() {
            return Err(AppError::coded(ErrCode::RecordNotFound, "no conversations"));
        }
        let ids: Vec<String> = rows.iter().map(|r| r.conversation_id.clone()).collect();
        let bounds = self.visible_bounds(owner, &ids).await?;
        let named: Vec<String> = rows
            .iter()
            .filter_map(|r| r.latest.as_ref())
            .flat_map(|l| [l.msg.send_id.clone(), l.msg.recv_id.clone()])
            .collect();
        let users = self.user_infos(named).await?;

        let mut unread_total = 0;
        let mut with_msg = 0;
        let mut elems: Vec<(bool, i64, pb::ConversationElem)> = Vec::with_capacity(rows.len());
        for row in &rows {
            let max = bounds.get(&row.conversation_id).map_or(0, |v| v.max);
            let unread = (max - row.has_read_seq).max(0);
            unread_total += unread;
            let msg_info = row.latest.as_ref().map(|l| {
                with_msg += 1;
                msg_info(owner, &l.msg, &users)
            });
            elems.push((
                row.is_pinned,
                row.last_active(),
                pb::ConversationElem {
                    conversation_id: row.conversation_id.clone(),
                    recv_msg_opt: row.recv_msg_opt,
                    unread_count: unread,
                    is_pinned: row.is_pinned,
                    msg_info,
                },
            ));
        }
        elems.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        let elems = paginate(elems.into_iter().map(|e| e.2).collect(), Some(pagination));
        Ok(pb::GetSortedConversationListResp {
            conversation_total: with_msg,
            unread_total,
            conversation_elems: elems,
        })
    }

    /// Registered users among `ids`, as wire `UserInfo`.
    async fn user_infos(&self, ids: Vec<String>) -> Result<HashMap<String, UserInfo>, AppError> {
        let mut ids: Vec<String> = ids.into_iter().filter(|i| !i.is_empty()).collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let docs = rill_store::users::find(self.store().database(), &ids).await?;
        Ok(docs
            .iter()
            .map(|d| (d.user_id.clone(), crate::users::user_info(d)))
            .collect())
    }

    /// Creates the conversation rows of a group's members (OpenIM does this when a group is
    /// created and when members join), so the read-model projection moves them with every
    /// group message. Idempotent.
    pub async fn create_group_conversations(
        &self,
        group_id: &str,
        member_user_ids: &[String],
    ) -> Result<(), AppError> {
        let conv = rill_core::conversation::group(group_id);
        let created = store::ensure_rows(self.store().database(), member_user_ids, &conv).await?;
        for owner in created {
            self.publish_changes(&owner, &[(conv.clone(), ChangeKind::Insert)])
                .await?;
        }
        Ok(())
    }

    /// Sets the per-user max seq cap (OpenIM's SetConversationMaxSeq: a kicked or leaving
    /// member no longer sees newer messages; 0 removes the cap).
    pub async fn set_conversation_max_seq(
        &self,
        conversation_id: &str,
        owner_user_ids: &[String],
        max_seq: i64,
    ) -> Result<(), AppError> {
        if max_seq < 0 {
            return Err(AppError::args("maxSeq is invalid"));
        }
        let patch = Patch {
            max_seq: Some(max_seq),
            ..Default::default()
        };
        self.set_field_for(conversation_id, owner_user_ids, &patch)
            .await
    }

    /// Sets the per-user min seq (OpenIM's SetConversationMinSeq: clearing history hides
    /// everything below it for that user).
    pub async fn set_conversation_min_seq(
        &self,
        conversation_id: &str,
        owner_user_ids: &[String],
        min_seq: i64,
    ) -> Result<(), AppError> {
        let patch = Patch {
            min_seq: Some(min_seq),
            ..Default::default()
        };
        self.set_field_for(conversation_id, owner_user_ids, &patch)
            .await
    }

    async fn set_field_for(
        &self,
        conversation_id: &str,
        owners: &[String],
        patch: &Patch,
    ) -> Result<(), AppError> {
        for owner in owners {
            if let Some(kind) =
                store::set_fields(self.store().database(), owner, conversation_id, patch).await?
            {
                self.publish_changes(owner, &[(conversation_id.to_string(), kind)])
                    .await?;
            }
        }
        Ok(())
    }

    /// `/jssdk/get_conversations`: the caller's conversations among the ids, each with its
    /// newest message, max seq and read seq, plus the total unread count.
    pub async fn jssdk_get_conversations(
        &self,
        caller: &Caller,
        req: jssdk::GetConversationsReq,
    ) -> Result<jssdk::GetConversationsResp, AppError> {
        // OpenIM answers for the token's user whatever ownerUserID says.
        let owner = caller.user_id.as_str();
        let rows = store::find(self.store().database(), owner, &req.conversation_i_ds).await?;
        if rows.is_empty() {
            return Ok(jssdk::GetConversationsResp::default());
        }
        let (conversations, unread_count) = self.conversation_msgs(owner, rows, None).await?;
        Ok(jssdk::GetConversationsResp {
            unread_count,
            conversations,
        })
    }

    /// `/jssdk/get_active_conversations`: the caller's `count` most recently active
    /// conversations (pinned first), as in get_conversations.
    pub async fn jssdk_get_active_conversations(
        &self,
        caller: &Caller,
        req: jssdk::GetActiveConversationsReq,
    ) -> Result<jssdk::GetActiveConversationsResp, AppError> {
        let count = if req.count <= 0 || req.count > MAX_ACTIVE {
            DEFAULT_ACTIVE
        } else {
            req.count as usize
        };
        let owner = caller.user_id.as_str();
        let rows = store::all(self.store().database(), owner).await?;
        if rows.is_empty() {
            return Ok(jssdk::GetActiveConversationsResp::default());
        }
        let (conversations, unread_count) =
            self.conversation_msgs(owner, rows, Some(count)).await?;
        Ok(jssdk::GetActiveConversationsResp {
            unread_count,
            conversations,
        })
    }

    /// ConversationMsg entries for `rows` (only those with a message) and the total unread
    /// count over all of them. With `top`, only the `top` most active (pinned first) are
    /// returned, as OpenIM's get_active_conversations.
    async fn conversation_msgs(
        &self,
        owner: &str,
        rows: Vec<ConversationRow>,
        top: Option<usize>,
    ) -> Result<(Vec<jssdk::ConversationMsg>, i64), AppError> {
        let ids: Vec<String> = rows.iter().map(|r| r.conversation_id.clone()).collect();
        let bounds = self.visible_bounds(owner, &ids).await?;
        let max_of = |r: &ConversationRow| bounds.get(&r.conversation_id).map_or(0, |v| v.max);
        let unread_count: i64 = rows
            .iter()
            .map(|r| (max_of(r) - r.has_read_seq).max(0))
            .sum();

        let mut active: Vec<&ConversationRow> = rows.iter().filter(|r| max_of(r) > 0).collect();
        if let Some(top) = top {
            active.sort_by(|a, b| {
                b.is_pinned
                    .cmp(&a.is_pinned)
                    .then(b.conv_max_seq_time.cmp(&a.conv_max_seq_time))
            });
            active.truncate(top);
        }
        let mut out = Vec::with_capacity(active.len());
        let mut need_last_valid = Vec::new();
        for row in &active {
            let max = max_of(row);
            let msg = self
                .load_messages_for(owner, &row.conversation_id, &[max])
                .await?
                .pop();
            match msg {
                Some(m) if m.status < rill_core::types::status::DELETED => {
                    out.push((*row, Some(m)))
                }
                _ => {
                    need_last_valid.push(row.conversation_id.clone());
                    out.push((*row, None));
                }
            }
        }
        if !need_last_valid.is_empty() {
            let as_owner = Caller {
                user_id: owner.to_string(),
                platform_id: 0,
                is_admin: false,
            };
            let last = self
                .last_messages(
                    &as_owner,
                    rill_wire::pb::msg::GetLastMessageReq {
                        user_id: owner.to_string(),
                        conversation_i_ds: need_last_valid,
                    },
                )
                .await?;
            for (row, msg) in &mut out {
                if msg.is_none() {
                    *msg = last.msgs.get(&row.conversation_id).cloned();
                }
            }
        }
        let peers: Vec<String> = out
            .iter()
            .filter(|(r, _)| r.group_id.is_empty())
            .map(|(r, _)| r.user_id.clone())
            .collect();
        let users = self.user_infos(peers).await?;
        let msgs = out
            .into_iter()
            .filter_map(|(row, msg)| {
                let last_msg = msg?;
                Some(jssdk::ConversationMsg {
                    conversation: Some(to_pb(row)),
                    last_msg: Some(last_msg),
                    user: if row.group_id.is_empty() {
                        users.get(&row.user_id).cloned()
                    } else {
                        None
                    },
                    // Friends and groups are not kept yet; OpenIM leaves these null when absent.
                    friend: None,
                    group: None,
                    max_seq: max_of(row),
                    read_seq: row.has_read_seq,
                })
            })
            .collect();
        Ok((msgs, unread_count))
    }
}

/// OpenIM's MsgInfo of a conversation's latest message for `owner`: sender name and face are
/// the peer's in a single chat the owner sent to, otherwise the sender's.
fn msg_info(owner: &str, m: &rill_core::Message, users: &HashMap<String, UserInfo>) -> pb::MsgInfo {
    let named = if m.session_type == session::SINGLE && m.send_id == owner {
        &m.recv_id
    } else {
        &m.send_id
    };
    let (sender_name, face_url) = users
        .get(named)
        .map(|u| {
            (
                u.nickname.clone(),
                if m.session_type == session::READ_GROUP {
                    String::new()
                } else {
                    u.face_url.clone()
                },
            )
        })
        .unwrap_or_default();
    pb::MsgInfo {
        server_msg_id: m.server_msg_id.clone(),
        client_msg_id: m.client_msg_id.clone(),
        session_type: m.session_type,
        send_id: m.send_id.clone(),
        recv_id: m.recv_id.clone(),
        sender_name,
        face_url,
        group_id: m.group_id.clone(),
        latest_msg_recv_time: m.send_time,
        msg_from: m.msg_from,
        content_type: m.content_type,
        content: String::from_utf8_lossy(&m.content).into_owned(),
        ex: m.ex.clone(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_hash_matches_go() {
        assert_eq!(id_hash(&[]), 0);
        // md5(`["si_a_b"]`) = 9a3f1a5c…; the value is stable and order-sensitive.
        let a = id_hash(&["si_a_b".into(), "sg_1".into()]);
        let b = id_hash(&["sg_1".into(), "si_a_b".into()]);
        assert_ne!(a, b);
        let escaped = id_hash(&["<&>".into()]);
        let json = r#"["\u003c\u0026\u003e"]"#;
        let sum = Md5::digest(json.as_bytes());
        assert_eq!(
            escaped,
            u64::from_be_bytes(sum[..8].try_into().unwrap_or_default())
        );
    }

    #[test]
    fn pages_are_one_based() {
        let p = |n, s| rill_wire::pb::sdkws::RequestPagination {
            page_number: n,
            show_number: s,
        };
        assert_eq!(paginate(vec![1, 2, 3, 4, 5], Some(&p(2, 2))), vec![3, 4]);
        assert_eq!(paginate(vec![1, 2, 3], Some(&p(3, 2))), Vec::<i32>::new());
        assert_eq!(paginate(vec![1, 2, 3], None), vec![1, 2, 3]);
    }
}
