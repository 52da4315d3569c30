//! Pulling messages (WS 1002 / HTTP pull_msg_by_seq, WS 1005, WS 1007).
//!
//! Reads are authorised by the conversation id (the reader must be an end of a `si_`/`sn_`/`n_`
//! id), or for groups by membership (a former member keeps a conversation row, capped at the
//! seq they left at); not by the read-model row, so a fresh conversation is readable before the
//! projection has created its row. A user sees seqs in `[max(1, userMinSeq), min(convMaxSeq,
//! userMaxSeqCap)]`; Rill never deletes history, so the conversation's own lower bound is 1.
//! Messages come from the hot window of the conversation stream and from MongoDB beyond it; a
//! seq found in neither is a `{seq, status 4}` placeholder, and revoked messages are rewritten
//! to content type 2101 on every read. Deletions (`delete.rs`) apply at read time too: a seq
//! deleted for everyone reads as that placeholder, one deleted for the reader keeps its fields
//! with status 4 and empty content.

use crate::{App, AppError, Caller};
use rill_core::Message;
use rill_core::types::status;
use rill_log::Event;
use rill_wire::pb::msg::{
    GetLastMessageReq, GetLastMessageResp, GetSeqMessageReq, GetSeqMessageResp,
};
use rill_wire::pb::sdkws::{MsgData, PullMessageBySeqsReq, PullMessageBySeqsResp, PullMsgs};
use std::collections::{BTreeMap, HashMap};

/// `sdkws.PullOrder`.
const ORDER_ASC: i32 = 0;
const ORDER_DESC: i32 = 1;
/// Seqs further apart than this are fetched from the hot window by separate XRANGEs.
const SEGMENT_GAP: i64 = 32;
/// How far back 1007 looks in the hot window for a message that is not deleted.
const LAST_MESSAGE_SCAN: i64 = 20;

/// True for `n_` ids: their messages go into `notificationMsgs`.
pub fn is_notification_conversation(conversation_id: &str) -> bool {
    conversation_id.starts_with("n_")
}

/// True when `user` is one of the two user ids joined in `rest` (`<a>_<b>`).
fn is_end(rest: &str, user: &str) -> bool {
    if user.is_empty() {
        return false;
    }
    rest.strip_prefix(user)
        .is_some_and(|r| r.starts_with('_') && r.len() > 1)
        || rest
            .strip_suffix(user)
            .is_some_and(|r| r.ends_with('_') && r.len() > 1)
}

/// The id rule for chats between users: single and notification chats (and their `n_` twins,
/// and the self `n_<u>_<u>`) need the user to be one of the ends. Group conversations are
/// decided by [`App::readable`].
pub fn may_read(user_id: &str, conversation_id: &str) -> bool {
    for prefix in ["si_", "sn_", "n_"] {
        if let Some(rest) = conversation_id.strip_prefix(prefix) {
            return is_end(rest, user_id);
        }
    }
    false
}

/// The group a conversation id may belong to: `sg_<g>`, or an `n_<g>` that is not a chat
/// between `user_id` and someone (those [`may_read`] answers).
fn group_of<'a>(user_id: &str, conversation_id: &'a str) -> Option<&'a str> {
    if let Some(g) = conversation_id.strip_prefix("sg_") {
        return Some(g).filter(|g| !g.is_empty());
    }
    let rest = conversation_id.strip_prefix("n_")?;
    (!is_end(rest, user_id) && !rest.is_empty()).then_some(rest)
}

/// The seqs a user may see in one conversation, inclusive. `max == 0`: nothing yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visible {
    pub min: i64,
    pub max: i64,
}

impl App {
    /// The ids among `conversation_ids` that `user_id` may read, in order, without
    /// duplicates. Chats between users follow the id rule ([`may_read`]); a group conversation
    /// (`sg_<g>` and its twin `n_<g>`) is readable by the group's members (from the membership
    /// cache) and by anyone holding a conversation row of `sg_<g>`, i.e. a member who left or
    /// was kicked: the max-seq cap set when they left keeps them from reading further.
    pub async fn readable(
        &self,
        user_id: &str,
        conversation_ids: impl IntoIterator<Item = String>,
    ) -> Result<Vec<String>, AppError> {
        let ids = unique(conversation_ids.into_iter());
        let groups: Vec<&str> = {
            let mut g: Vec<&str> = ids
                .iter()
                .filter(|c| !may_read(user_id, c))
                .filter_map(|c| group_of(user_id, c))
                .collect();
            g.sort_unstable();
            g.dedup();
            g
        };
        if groups.is_empty() {
            return Ok(ids.into_iter().filter(|c| may_read(user_id, c)).collect());
        }
        let snaps = self.group_snapshots(&groups).await?;
        let mut allowed: std::collections::HashSet<&str> = groups
            .iter()
            .zip(&snaps)
            .filter(|(_, s)| s.is_member(user_id))
            .map(|(g, _)| *g)
            .collect();
        let others: Vec<String> = groups
            .iter()
            .filter(|g| !allowed.contains(**g))
            .map(|g| rill_core::conversation::group(g))
            .collect();
        let rows = rill_store::conversations::seq_states(self.store().database(), user_id, &others)
            .await?;
        for g in &groups {
            if rows.contains_key(&rill_core::conversation::group(g)) {
                allowed.insert(g);
            }
        }
        Ok(ids
            .iter()
            .filter(|c| {
                may_read(user_id, c) || group_of(user_id, c).is_some_and(|g| allowed.contains(g))
            })
            .cloned()
            .collect())
    }

    /// [`readable`](Self::readable) for one conversation.
    pub async fn may_read(&self, user_id: &str, conversation_id: &str) -> Result<bool, AppError> {
        Ok(!self
            .readable(user_id, [conversation_id.to_string()])
            .await?
            .is_empty())
    }

    /// Visible seq bounds of `user_id` in each of `conversation_ids`: the conversation's max
    /// seq from the log, the per-user min and max cap from the read model.
    pub async fn visible_bounds(
        &self,
        user_id: &str,
        conversation_ids: &[String],
    ) -> Result<HashMap<String, Visible>, AppError> {
        let maxes = self.log().max_seqs(conversation_ids).await?;
        let states = rill_store::conversations::seq_states(
            self.store().database(),
            user_id,
            conversation_ids,
        )
        .await?;
        Ok(conversation_ids
            .iter()
            .zip(maxes)
            .map(|(c, conv_max)| {
                let s = states.get(c).copied().unwrap_or_default();
                let max = if s.max_seq > 0 {
                    conv_max.min(s.max_seq)
                } else {
                    conv_max
                };
                (
                    c.clone(),
                    Visible {
                        min: s.min_seq.max(1),
                        max,
                    },
                )
            })
            .collect())
    }

    /// The stored messages of `seqs` (in that order, duplicates kept), with `{seq, status 4}`
    /// placeholders for seqs stored nowhere or deleted for everyone, and revokes applied.
    pub async fn load_messages(
        &self,
        conversation_id: &str,
        seqs: &[i64],
    ) -> Result<Vec<MsgData>, AppError> {
        self.load(conversation_id, None, seqs).await
    }

    /// [`load_messages`](Self::load_messages) as `reader` sees them: also the messages
    /// `reader` deleted for themselves come back with status 4 and empty content.
    pub async fn load_messages_for(
        &self,
        reader: &str,
        conversation_id: &str,
        seqs: &[i64],
    ) -> Result<Vec<MsgData>, AppError> {
        self.load(conversation_id, Some(reader), seqs).await
    }

    async fn load(
        &self,
        conversation_id: &str,
        reader: Option<&str>,
        seqs: &[i64],
    ) -> Result<Vec<MsgData>, AppError> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let mut sorted: Vec<i64> = seqs.iter().copied().filter(|s| *s > 0).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut found: HashMap<i64, Message> = HashMap::with_capacity(sorted.len());
        for (lo, hi) in segments(&sorted) {
            for entry in self.log().range(conversation_id, lo, hi).await? {
                if let Some(m) = message_of(entry.envelope.event) {
                    found.insert(entry.seq, m);
                }
            }
        }
        let missing: Vec<i64> = sorted
            .iter()
            .copied()
            .filter(|s| !found.contains_key(s))
            .collect();
        if !missing.is_empty() {
            let older =
                rill_store::messages::by_seqs(self.store().database(), conversation_id, &missing)
                    .await?;
            for m in older {
                found.insert(m.seq, m);
            }
        }
        let present: Vec<i64> = sorted
            .iter()
            .copied()
            .filter(|s| found.contains_key(s))
            .collect();
        // Two independent Redis reads: in flight together (the shared connection pipelines).
        let (revokes, deleted) = tokio::try_join!(
            self.revoke_records(conversation_id, &present),
            self.deleted_seqs(conversation_id, reader, &present),
        )?;
        Ok(seqs
            .iter()
            .map(|seq| match found.get(seq) {
                Some(m) if !deleted.everyone.contains(seq) => {
                    let mut data: MsgData = m.clone().into();
                    data.seq = *seq;
                    if deleted.mine.contains(seq) {
                        crate::delete::hide_for_reader(&mut data);
                    }
                    if let Some(r) = revokes.get(seq) {
                        crate::revoke::apply(&mut data, r);
                    }
                    data
                }
                _ => MsgData {
                    seq: *seq,
                    status: status::DELETED,
                    ..Default::default()
                },
            })
            .collect())
    }

    /// WS 1002 / HTTP pull_msg_by_seq: ranges per conversation, clamped to what the user may
    /// see; chat conversations return only the last `num` seqs, `n_` conversations the whole
    /// range. `isEnd` is asc: `maxSeq <= end`, desc: `begin <= minSeq` (clamped bounds against
    /// the requested ends, as OpenIM); `endSeq` stays 0. Conversations with nothing to return
    /// are left out.
    pub async fn pull_by_ranges(
        &self,
        caller: &Caller,
        req: PullMessageBySeqsReq,
    ) -> Result<PullMessageBySeqsResp, AppError> {
        caller.check_self_or_admin(&req.user_id)?;
        let user = req.user_id.as_str();
        let ids = self
            .readable(
                user,
                req.seq_ranges.iter().map(|r| r.conversation_id.clone()),
            )
            .await?;
        let bounds = self.visible_bounds(user, &ids).await?;
        let mut resp = PullMessageBySeqsResp::default();
        for r in &req.seq_ranges {
            let Some(v) = bounds.get(&r.conversation_id).copied() else {
                continue;
            };
            if v.min > r.end || v.max == 0 {
                continue;
            }
            let begin = r.begin.max(v.min);
            let end = r.end.min(v.max);
            if end < begin {
                continue;
            }
            let notification = is_notification_conversation(&r.conversation_id);
            let seqs: Vec<i64> = if notification || end - begin < r.num {
                (begin..=end).collect()
            } else if r.num > 0 {
                (end - r.num + 1..=end).collect()
            } else {
                Vec::new()
            };
            let msgs = self
                .load_messages_for(user, &r.conversation_id, &seqs)
                .await?;
            if msgs.is_empty() {
                continue;
            }
            let is_end = match req.order {
                ORDER_DESC => r.begin <= v.min,
                _ => v.max <= r.end,
            };
            let pulled = PullMsgs {
                msgs,
                is_end,
                end_seq: 0,
            };
            let map = if notification {
                &mut resp.notification_msgs
            } else {
                &mut resp.msgs
            };
            map.insert(r.conversation_id.clone(), pulled);
        }
        Ok(resp)
    }

    /// WS 1005: explicit seq lists. Seqs outside the visible bounds are dropped and mark the
    /// end of history (desc and below min ⇒ endSeq = min; asc and above max ⇒ endSeq = max).
    /// Every readable conversation asked for gets an entry, even an empty one.
    pub async fn pull_by_seq_lists(
        &self,
        caller: &Caller,
        req: GetSeqMessageReq,
    ) -> Result<GetSeqMessageResp, AppError> {
        caller.check_self_or_admin(&req.user_id)?;
        let user = req.user_id.as_str();
        let ids = self
            .readable(
                user,
                req.conversations.iter().map(|c| c.conversation_id.clone()),
            )
            .await?;
        let bounds = self.visible_bounds(user, &ids).await?;
        let mut resp = GetSeqMessageResp::default();
        for conv in &req.conversations {
            let Some(v) = bounds.get(&conv.conversation_id).copied() else {
                continue;
            };
            let (mut is_end, mut end_seq) = (false, 0);
            let mut wanted = Vec::with_capacity(conv.seqs.len());
            for &seq in &conv.seqs {
                if seq <= 0 {
                    continue;
                }
                if seq >= v.min && seq <= v.max {
                    wanted.push(seq);
                    continue;
                }
                if seq < v.min && req.order == ORDER_DESC {
                    is_end = true;
                    end_seq = v.min;
                }
                if seq > v.max && req.order == ORDER_ASC {
                    is_end = true;
                    end_seq = v.max;
                }
            }
            let msgs = self
                .load_messages_for(user, &conv.conversation_id, &wanted)
                .await?;
            let map = if is_notification_conversation(&conv.conversation_id) {
                &mut resp.notification_msgs
            } else {
                &mut resp.msgs
            };
            let entry = map.entry(conv.conversation_id.clone()).or_default();
            entry.msgs.extend(msgs);
            entry.is_end = is_end;
            entry.end_seq = end_seq;
        }
        Ok(resp)
    }

    /// WS 1007: the newest message of each conversation that is not deleted (status < 4),
    /// within the user's visible bounds, revokes applied. Conversations without one are absent.
    pub async fn last_messages(
        &self,
        caller: &Caller,
        req: GetLastMessageReq,
    ) -> Result<GetLastMessageResp, AppError> {
        caller.check_self_or_admin(&req.user_id)?;
        let user = req.user_id.as_str();
        let ids = self
            .readable(user, req.conversation_i_ds.iter().cloned())
            .await?;
        let bounds = self.visible_bounds(user, &ids).await?;
        let mut msgs = BTreeMap::new();
        for id in &ids {
            let Some(v) = bounds.get(id).copied() else {
                continue;
            };
            if v.max < v.min {
                continue;
            }
            if let Some(m) = self.last_valid(user, id, v).await? {
                msgs.insert(id.clone(), m);
            }
        }
        Ok(GetLastMessageResp { msgs })
    }

    /// The newest message not deleted in storage nor for everyone (OpenIM's `GetLastMessage`
    /// skips physically deleted ones); one the reader deleted for themselves is still the
    /// answer, with status 4 and empty content, as OpenIM's `handlerDeleteAndRevoked` leaves it.
    async fn last_valid(
        &self,
        reader: &str,
        conversation_id: &str,
        v: Visible,
    ) -> Result<Option<MsgData>, AppError> {
        let gone = self.deleted_for_everyone(conversation_id).await?;
        let from = (v.max - LAST_MESSAGE_SCAN + 1).max(v.min);
        let recent = self.log().range(conversation_id, from, v.max).await?;
        let newest = recent
            .into_iter()
            .rev()
            .filter(|e| !gone.contains(&e.seq))
            .filter_map(|e| message_of(e.envelope.event))
            .find(|m| m.status < status::DELETED);
        let newest = match newest {
            Some(m) => Some(m),
            None => {
                let db = self.store().database();
                let mut below = v.max;
                loop {
                    let m = rill_store::messages::last_valid(db, conversation_id, below)
                        .await?
                        .filter(|m| m.seq >= v.min);
                    match m {
                        // `below` stays >= v.min >= 1: 0 would mean "no bound" to the store.
                        Some(m) if gone.contains(&m.seq) && m.seq > v.min => below = m.seq - 1,
                        Some(m) if gone.contains(&m.seq) => break None,
                        other => break other,
                    }
                }
            }
        };
        let Some(m) = newest else { return Ok(None) };
        let seq = m.seq;
        let mut data: MsgData = m.into();
        if self
            .deleted_seqs(conversation_id, Some(reader), &[seq])
            .await?
            .mine
            .contains(&seq)
        {
            crate::delete::hide_for_reader(&mut data);
        }
        if let Some(r) = self
            .revoke_records(conversation_id, &[seq])
            .await?
            .get(&seq)
        {
            crate::revoke::apply(&mut data, r);
        }
        Ok(Some(data))
    }
}

/// The chat message an event carries, if it is one (other events will share the streams).
#[allow(irrefutable_let_patterns)]
pub fn message_of(event: Event) -> Option<Message> {
    if let Event::Message(m) = event {
        Some(m)
    } else {
        None
    }
}

/// Order-preserving dedup.
fn unique(ids: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    ids.filter(|c| seen.insert(c.clone())).collect()
}

/// Splits sorted, distinct seqs into `(lo, hi)` runs without large gaps.
fn segments(sorted: &[i64]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &s in sorted {
        match out.last_mut() {
            Some((_, hi)) if s - *hi <= SEGMENT_GAP => *hi = s,
            _ => out.push((s, s)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_rule() {
        assert!(may_read("u1", "si_u1_u2"));
        assert!(may_read("u2", "si_u1_u2"));
        assert!(!may_read("u3", "si_u1_u2"));
        assert!(!may_read("u", "si_u1_u2"));
        assert!(may_read("u1", "n_u1_u2"));
        assert!(may_read("u1", "n_u1_u1"));
        assert!(may_read("u2", "sn_u1_u2"));
        assert!(!may_read("u1", "sg_g1"));
        assert!(!may_read("u1", "n_g1"));
        assert_eq!(group_of("u1", "sg_g1"), Some("g1"));
        assert_eq!(group_of("u1", "n_g1"), Some("g1"));
        assert_eq!(group_of("u1", "n_u1_u2"), None);
        assert_eq!(group_of("u1", "si_u1_u2"), None);
        assert_eq!(group_of("u1", "sg_"), None);
        assert!(!may_read("", "si__"));
        assert!(!may_read("u1", "si_u1_"));
    }

    #[test]
    fn segments_split_on_gaps() {
        assert_eq!(segments(&[1, 2, 3]), vec![(1, 3)]);
        assert_eq!(segments(&[1, 100, 101]), vec![(1, 1), (100, 101)]);
        assert!(segments(&[]).is_empty());
    }
}
