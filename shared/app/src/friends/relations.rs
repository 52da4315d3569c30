//! Friend rows: delete, remark, update, import, and the version bump a profile change causes.

use super::notices::{self, from_to};
use super::{ADD_SOURCE_IMPORT, PARAM_MAX_LENGTH, has_duplicates, not_found, require};
use crate::auth::check_admin;
use crate::{App, AppError, Caller};
use rill_core::ErrCode;
use rill_core::entity::{Change, Friend, Kind};
use rill_store::friends as store;
use rill_wire::pb::{relation as pb, sdkws};

fn update(row: Friend) -> Change {
    Change::Friend {
        owner: row.owner_user_id.clone(),
        friend: row.friend_user_id.clone(),
        kind: Kind::Update,
        row: Some(row),
    }
}

impl App {
    /// `/friend/delete_friend` (O): removes the owner's row only — the friend keeps theirs,
    /// as in OpenIM — and sends 1205 to the (former) friend. Like OpenIM, deleting someone who
    /// is not a friend succeeds and still records a delete.
    pub async fn delete_friend(
        &self,
        caller: &Caller,
        req: pb::DeleteFriendReq,
    ) -> Result<(), AppError> {
        require(&req.owner_user_id, "userID1")?;
        require(&req.friend_user_id, "userID2")?;
        caller.check_self_or_admin(&req.owner_user_id)?;
        let (owner, friend) = (req.owner_user_id.as_str(), req.friend_user_id.as_str());
        let change = Change::Friend {
            owner: owner.to_string(),
            friend: friend.to_string(),
            kind: Kind::Delete,
            row: None,
        };
        self.commit_pair(caller, owner, friend, vec![change])
            .await?;
        let tips = sdkws::FriendDeletedTips {
            from_to_user_id: from_to(owner, friend),
            ..Default::default()
        };
        self.friend_notice(notices::DELETED, owner, friend, &tips)
            .await;
        Ok(())
    }

    /// `/friend/set_friend_remark` (O): 1004 when not a friend; sends 1206 (owner → friend).
    pub async fn set_friend_remark(
        &self,
        caller: &Caller,
        req: pb::SetFriendRemarkReq,
    ) -> Result<(), AppError> {
        require(&req.owner_user_id, "ownerUserID")?;
        // Sic: OpenIM's Check() names the friend "fromUserID".
        require(&req.friend_user_id, "fromUserID")?;
        caller.check_self_or_admin(&req.owner_user_id)?;
        let (owner, friend) = (req.owner_user_id.as_str(), req.friend_user_id.as_str());
        let row = store::friend(self.store().database(), owner, friend)
            .await?
            .ok_or_else(|| not_found(format!("{friend} is not a friend of {owner}")))?;
        let row = Friend {
            remark: req.remark.clone(),
            ..row
        };
        self.commit_pair(caller, owner, friend, vec![update(row)])
            .await?;
        let tips = sdkws::FriendInfoChangedTips {
            from_to_user_id: from_to(owner, friend),
            ..Default::default()
        };
        self.friend_notice(notices::REMARK_SET, owner, friend, &tips)
            .await;
        Ok(())
    }

    /// `/friend/update_friends` (O): sets isPinned / remark / ex (those given) on the owner's
    /// rows of these friends (ids that are not friends are skipped, as OpenIM's UpdateMany
    /// does); a pin also marks the id order as changed. Sends 1210 to the owner.
    pub async fn update_friends(
        &self,
        caller: &Caller,
        req: pb::UpdateFriendsReq,
    ) -> Result<(), AppError> {
        require(&req.owner_user_id, "ownerUserID")?;
        if req.friend_user_i_ds.is_empty() {
            return Err(AppError::args("friendUserIDs is empty"));
        }
        if req.friend_user_i_ds.len() > PARAM_MAX_LENGTH {
            return Err(AppError::args(
                "too many FriendUserIDs, need to be less than 1000",
            ));
        }
        if has_duplicates(&req.friend_user_i_ds) {
            return Err(AppError::args("friendIDList repeated"));
        }
        caller.check_self_or_admin(&req.owner_user_id)?;
        let owner = req.owner_user_id.as_str();
        let given = req.is_pinned.is_some() || req.remark.is_some() || req.ex.is_some();
        if given {
            let rows =
                store::friends_of(self.store().database(), owner, &req.friend_user_i_ds).await?;
            for row in rows {
                let friend = row.friend_user_id.clone();
                let row = Friend {
                    is_pinned: req.is_pinned.as_ref().map_or(row.is_pinned, |v| v.value),
                    remark: req
                        .remark
                        .as_ref()
                        .map_or(row.remark.clone(), |v| v.value.clone()),
                    ex: req.ex.as_ref().map_or(row.ex.clone(), |v| v.value.clone()),
                    ..row
                };
                // A pin change also records the sort element (in the event's apply).
                self.commit_pair(caller, owner, &friend, vec![update(row)])
                    .await?;
            }
        }
        let tips = sdkws::FriendsInfoUpdateTips {
            from_to_user_id: from_to("", owner),
            friend_i_ds: req.friend_user_i_ds.clone(),
            ..Default::default()
        };
        self.friend_notice(notices::FRIENDS_INFO_UPDATE, owner, owner, &tips)
            .await;
        Ok(())
    }

    /// `/friend/import_friend` (admin): makes the owner and each user mutual friends
    /// (addSource 1; rows that exist are kept), without applications. Sends 1201 from each
    /// user to the owner, as OpenIM does.
    pub async fn import_friend(
        &self,
        caller: &Caller,
        req: pb::ImportFriendReq,
    ) -> Result<(), AppError> {
        require(&req.owner_user_id, "ownerUserID")?;
        if req.friend_user_i_ds.is_empty() {
            return Err(AppError::args("friendUserIDS is empty"));
        }
        if req.friend_user_i_ds.len() > PARAM_MAX_LENGTH {
            return Err(AppError::args(
                "too many FriendUserIDs, need to be less than 1000",
            ));
        }
        check_admin(caller)?;
        let owner = req.owner_user_id.as_str();
        let mut everyone = vec![req.owner_user_id.clone()];
        everyone.extend(req.friend_user_i_ds.iter().cloned());
        self.check_users(&everyone).await?;
        if req.friend_user_i_ds.iter().any(|id| id == owner) {
            return Err(AppError::coded(
                ErrCode::CanNotAddYourself,
                "can not add yourself",
            ));
        }
        if has_duplicates(&req.friend_user_i_ds) {
            return Err(AppError::args("friend userID repeated"));
        }
        let db = self.store().database();
        let ids = &req.friend_user_i_ds;
        let (mine, theirs) = tokio::try_join!(
            store::friends_of(db, owner, ids),
            store::reversal_friends(db, owner, ids)
        )?;
        let now = rill_core::now_ms();
        let new_row = |o: &str, f: &str| Change::Friend {
            owner: o.to_string(),
            friend: f.to_string(),
            kind: Kind::Insert,
            row: Some(Friend {
                owner_user_id: o.to_string(),
                friend_user_id: f.to_string(),
                create_time: now,
                add_source: ADD_SOURCE_IMPORT,
                operator_user_id: caller.user_id.clone(),
                ..Default::default()
            }),
        };
        for id in ids {
            let mut changes = Vec::with_capacity(2);
            if !mine.iter().any(|f| &f.friend_user_id == id) {
                changes.push(new_row(owner, id));
            }
            if !theirs.iter().any(|f| &f.owner_user_id == id) {
                changes.push(new_row(id, owner));
            }
            if !changes.is_empty() {
                self.commit_pair(caller, owner, id, changes).await?;
            }
        }
        for id in ids {
            let tips = sdkws::FriendApplicationApprovedTips {
                from_to_user_id: from_to(owner, id),
                ..Default::default()
            };
            self.friend_notice(notices::APPROVED, id, owner, &tips)
                .await;
        }
        Ok(())
    }

    /// After `user_id`'s profile changed (OpenIM's NotificationUserInfoUpdate): every user in
    /// `user_id`'s friend list gets a friend-log update for `user_id` (so their next
    /// incremental sync refetches the profile) and a 1209 notification from `operator`.
    /// For the users service to call after update_user_info(_ex).
    pub async fn friend_user_info_updated(
        &self,
        caller: &Caller,
        user_id: &str,
    ) -> Result<(), AppError> {
        let db = self.store().database();
        let owners = store::friend_ids(db, user_id).await?;
        if owners.is_empty() {
            return Ok(());
        }
        let rows = store::reversal_friends(db, user_id, &owners).await?;
        for row in rows {
            let owner = row.owner_user_id.clone();
            self.commit_pair(caller, &owner, user_id, vec![update(row)])
                .await?;
        }
        let tips = sdkws::UserInfoUpdatedTips {
            user_id: user_id.to_string(),
        };
        for owner in &owners {
            self.friend_notice(notices::INFO_UPDATED, &caller.user_id, owner, &tips)
                .await;
        }
        Ok(())
    }
}
