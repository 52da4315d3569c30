//! Friend queries: lists, lookups and the friendship test.

use super::{PARAM_MAX_LENGTH, convert, has_duplicates, owner, require};
use crate::users::page_window;
use crate::{App, AppError, Caller};
use rill_core::entity::Friend;
use rill_store::friends as store;
use rill_wire::pb::{relation as pb, sdkws};

impl App {
    /// Friends with their users, in the list's shape.
    pub(super) async fn friends_to_wire(
        &self,
        rows: &[Friend],
    ) -> Result<Vec<sdkws::FriendInfo>, AppError> {
        let ids: Vec<String> = rows.iter().map(|f| f.friend_user_id.clone()).collect();
        let users = self.users_by_id(&ids).await?;
        Ok(rows
            .iter()
            .map(|f| convert::friend_info(f, &users))
            .collect())
    }

    /// `owner`'s rows for `ids` in the order of `ids` (non-friends left out), wire shape.
    pub(super) async fn designated_friends(
        &self,
        owner: &str,
        ids: &[String],
    ) -> Result<Vec<sdkws::FriendInfo>, AppError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = store::friends_of(self.store().database(), owner, ids).await?;
        let ordered: Vec<Friend> = ids
            .iter()
            .filter_map(|id| rows.iter().find(|f| &f.friend_user_id == id).cloned())
            .collect();
        self.friends_to_wire(&ordered).await
    }

    /// `/friend/get_friend_list` (O): one page, pinned first.
    pub async fn get_friend_list(
        &self,
        caller: &Caller,
        req: pb::GetPaginationFriendsReq,
    ) -> Result<pb::GetPaginationFriendsResp, AppError> {
        let (skip, limit) = page_window(req.pagination.as_ref())?;
        owner(caller, &req.user_id, "userID")?;
        let (total, rows) =
            store::friend_page(self.store().database(), &req.user_id, skip, limit).await?;
        Ok(pb::GetPaginationFriendsResp {
            friends_info: self.friends_to_wire(&rows).await?,
            total: i32::try_from(total).unwrap_or(i32::MAX),
        })
    }

    /// `/friend/get_designated_friends` (O): the listed users that are friends.
    pub async fn get_designated_friends(
        &self,
        caller: &Caller,
        req: pb::GetDesignatedFriendsReq,
    ) -> Result<pb::GetDesignatedFriendsResp, AppError> {
        require(&req.owner_user_id, "ownerUserID")?;
        if req.friend_user_i_ds.is_empty() {
            return Err(AppError::args("friendUserIDS is empty"));
        }
        if has_duplicates(&req.friend_user_i_ds) {
            return Err(AppError::args("friend userID repeated"));
        }
        caller.check_self_or_admin(&req.owner_user_id)?;
        Ok(pb::GetDesignatedFriendsResp {
            friends_info: self
                .designated_friends(&req.owner_user_id, &req.friend_user_i_ds)
                .await?,
        })
    }

    /// `/friend/is_friend`: whether each user has the other in their friend list. Either user
    /// (or an admin) may ask (protocol.md's rule; OpenIM 3.8 checks nobody).
    pub async fn is_friend(
        &self,
        caller: &Caller,
        req: pb::IsFriendReq,
    ) -> Result<pb::IsFriendResp, AppError> {
        require(&req.user_id1, "userID1")?;
        require(&req.user_id2, "userID2")?;
        if !caller.is_admin && caller.user_id != req.user_id1 && caller.user_id != req.user_id2 {
            return Err(AppError::no_permission("not one of the two users"));
        }
        let db = self.store().database();
        let (a, b) = (req.user_id1.as_str(), req.user_id2.as_str());
        let (in1, in2) = tokio::try_join!(store::friend(db, a, b), store::friend(db, b, a))?;
        Ok(pb::IsFriendResp {
            in_user1_friends: in1.is_some(),
            in_user2_friends: in2.is_some(),
        })
    }

    /// `/friend/get_friend_id` (O): every friend id, pinned first.
    pub async fn get_friend_id(
        &self,
        caller: &Caller,
        req: pb::GetFriendIDsReq,
    ) -> Result<pb::GetFriendIDsResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        Ok(pb::GetFriendIDsResp {
            friend_i_ds: store::friend_ids(self.store().database(), &req.user_id).await?,
        })
    }

    /// `/friend/get_specified_friends_info` (O): per listed user that exists, its profile and
    /// the owner's friend and black rows for it (null when none).
    pub async fn get_specified_friends_info(
        &self,
        caller: &Caller,
        req: pb::GetSpecifiedFriendsInfoReq,
    ) -> Result<pb::GetSpecifiedFriendsInfoResp, AppError> {
        require(&req.owner_user_id, "ownerUserID")?;
        if req.user_id_list.is_empty() {
            return Err(AppError::args("userIDList is empty"));
        }
        if req.user_id_list.len() > PARAM_MAX_LENGTH {
            return Err(AppError::args(
                "too many UserIDs, need to be less than 1000",
            ));
        }
        if has_duplicates(&req.user_id_list) {
            return Err(AppError::args("userIDList repeated"));
        }
        caller.check_self_or_admin(&req.owner_user_id)?;
        let db = self.store().database();
        let (users, friends, blacks) = tokio::try_join!(
            self.users_by_id(&req.user_id_list),
            async { Ok(store::friends_of(db, &req.owner_user_id, &req.user_id_list).await?) },
            async { Ok(store::blacks_of(db, &req.owner_user_id, &req.user_id_list).await?) },
        )?;
        let infos = req
            .user_id_list
            .iter()
            .filter_map(|id| {
                let user = users.get(id)?;
                Some(pb::GetSpecifiedFriendsInfoInfo {
                    user_info: Some(convert::full_user(user)),
                    friend_info: friends
                        .iter()
                        .find(|f| &f.friend_user_id == id)
                        .map(convert::friend_only),
                    black_info: blacks
                        .iter()
                        .find(|b| &b.block_user_id == id)
                        .map(convert::black_only),
                })
            })
            .collect();
        Ok(pb::GetSpecifiedFriendsInfoResp { infos })
    }
}
