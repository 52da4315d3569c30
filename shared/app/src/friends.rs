//! Friend and blacklist queries the SDKs make at every login and send.
//!
//! EMPTY UNTIL THE FRIENDS ISSUE: no friendships, blacklists or friend requests are stored
//! yet, so every query answers with a well-formed empty result (the incremental syncs say
//! `full: true`, which makes the SDK replace its local copy with the empty full list). The
//! permission and argument checks are already OpenIM's, so clients see the same errors.

use crate::users::page_window;
use crate::{App, AppError, Caller};
use rill_wire::pb::relation as pb;

fn require(user_id: &str, what: &str) -> Result<(), AppError> {
    if user_id.is_empty() {
        Err(AppError::args(format!("{what} is empty")))
    } else {
        Ok(())
    }
}

/// Checks OpenIM's "O" rule for a request naming `user_id` (non-empty).
fn owner(caller: &Caller, user_id: &str, what: &str) -> Result<(), AppError> {
    require(user_id, what)?;
    caller.check_self_or_admin(user_id)
}

impl App {
    /// Called after any friend or black row of these (owner, other) pairs was applied (cache
    /// invalidation hook of `App::commit`).
    pub async fn relations_changed(&self, pairs: &[(&str, &str)]) -> Result<(), AppError> {
        let _ = pairs;
        Ok(())
    }

    /// `/friend/get_incremental_friends`. Empty until the friends issue.
    pub async fn get_incremental_friends(
        &self,
        caller: &Caller,
        req: pb::GetIncrementalFriendsReq,
    ) -> Result<pb::GetIncrementalFriendsResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        Ok(pb::GetIncrementalFriendsResp {
            full: true,
            ..Default::default()
        })
    }

    /// `/friend/get_incremental_blacks`. Empty until the friends issue.
    pub async fn get_incremental_blacks(
        &self,
        caller: &Caller,
        req: pb::GetIncrementalBlacksReq,
    ) -> Result<pb::GetIncrementalBlacksResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        Ok(pb::GetIncrementalBlacksResp {
            full: true,
            ..Default::default()
        })
    }

    /// `/friend/get_full_friend_user_ids`. Empty until the friends issue.
    pub async fn get_full_friend_user_ids(
        &self,
        caller: &Caller,
        req: pb::GetFullFriendUserIDsReq,
    ) -> Result<pb::GetFullFriendUserIDsResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        Ok(pb::GetFullFriendUserIDsResp::default())
    }

    /// `/friend/get_friend_list`. Empty until the friends issue.
    pub async fn get_friend_list(
        &self,
        caller: &Caller,
        req: pb::GetPaginationFriendsReq,
    ) -> Result<pb::GetPaginationFriendsResp, AppError> {
        page_window(req.pagination.as_ref())?;
        owner(caller, &req.user_id, "userID")?;
        Ok(pb::GetPaginationFriendsResp::default())
    }

    /// `/friend/get_designated_friends`. Empty until the friends issue.
    pub async fn get_designated_friends(
        &self,
        caller: &Caller,
        req: pb::GetDesignatedFriendsReq,
    ) -> Result<pb::GetDesignatedFriendsResp, AppError> {
        owner(caller, &req.owner_user_id, "ownerUserID")?;
        Ok(pb::GetDesignatedFriendsResp::default())
    }

    /// `/friend/get_black_list`. Empty until the friends issue.
    pub async fn get_black_list(
        &self,
        caller: &Caller,
        req: pb::GetPaginationBlacksReq,
    ) -> Result<pb::GetPaginationBlacksResp, AppError> {
        require(&req.user_id, "userID")?;
        page_window(req.pagination.as_ref())?;
        caller.check_self_or_admin(&req.user_id)?;
        Ok(pb::GetPaginationBlacksResp::default())
    }

    /// `/friend/get_specified_blacks`. Empty until the friends issue.
    pub async fn get_specified_blacks(
        &self,
        caller: &Caller,
        req: pb::GetSpecifiedBlacksReq,
    ) -> Result<pb::GetSpecifiedBlacksResp, AppError> {
        owner(caller, &req.owner_user_id, "ownerUserID")?;
        Ok(pb::GetSpecifiedBlacksResp::default())
    }

    /// `/friend/get_self_unhandled_apply_count`. Zero until the friends issue.
    pub async fn get_self_unhandled_apply_count(
        &self,
        caller: &Caller,
        req: pb::GetSelfUnhandledApplyCountReq,
    ) -> Result<pb::GetSelfUnhandledApplyCountResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        Ok(pb::GetSelfUnhandledApplyCountResp::default())
    }

    /// `/friend/get_friend_apply_list` (requests to the user). Empty until the friends issue.
    pub async fn get_friend_apply_list(
        &self,
        caller: &Caller,
        req: pb::GetPaginationFriendsApplyToReq,
    ) -> Result<pb::GetPaginationFriendsApplyToResp, AppError> {
        require(&req.user_id, "userID")?;
        page_window(req.pagination.as_ref())?;
        caller.check_self_or_admin(&req.user_id)?;
        Ok(pb::GetPaginationFriendsApplyToResp::default())
    }

    /// `/friend/get_self_friend_apply_list` (requests by the user). Empty until the friends
    /// issue.
    pub async fn get_self_friend_apply_list(
        &self,
        caller: &Caller,
        req: pb::GetPaginationFriendsApplyFromReq,
    ) -> Result<pb::GetPaginationFriendsApplyFromResp, AppError> {
        require(&req.user_id, "userID")?;
        page_window(req.pagination.as_ref())?;
        caller.check_self_or_admin(&req.user_id)?;
        Ok(pb::GetPaginationFriendsApplyFromResp::default())
    }

    /// `/friend/get_designated_friend_apply` (either end may ask). Empty until the friends
    /// issue.
    pub async fn get_designated_friend_apply(
        &self,
        caller: &Caller,
        req: pb::GetDesignatedFriendsApplyReq,
    ) -> Result<pb::GetDesignatedFriendsApplyResp, AppError> {
        if !caller.is_admin
            && caller.user_id != req.from_user_id
            && caller.user_id != req.to_user_id
        {
            return Err(AppError::no_permission(
                "not a party of this friend request",
            ));
        }
        Ok(pb::GetDesignatedFriendsApplyResp::default())
    }
}
