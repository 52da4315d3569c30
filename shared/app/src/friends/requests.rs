//! Friend applications: apply, accept or refuse, and the application lists.

use super::notices::{self, from_to};
use super::{ADD_SOURCE_APPLY, convert, not_found, owner, require};
use crate::users::page_window;
use crate::{App, AppError, Caller};
use rill_core::ErrCode;
use rill_core::entity::{Change, Friend, FriendRequest, Kind};
use rill_store::friends::{self as store, End};
use rill_wire::pb::{relation as pb, sdkws};

/// OpenIM's handleResult values.
const AGREE: i32 = 1;
const REFUSE: i32 = -1;
const PENDING: i32 = 0;

impl App {
    /// The wire form of `rows` with both ends' names.
    async fn requests_to_wire(
        &self,
        rows: &[FriendRequest],
    ) -> Result<Vec<sdkws::FriendRequest>, AppError> {
        let ids: Vec<String> = rows
            .iter()
            .flat_map(|r| [r.from_user_id.clone(), r.to_user_id.clone()])
            .collect();
        let users = self.users_by_id(&ids).await?;
        Ok(rows
            .iter()
            .map(|r| convert::friend_request(r, &users))
            .collect())
    }

    /// `/friend/add_friend` (O on fromUserID): records (or renews) the application and sends
    /// 1203 to the receiver. Only mutual friends are refused (1304): a one-sided friendship
    /// may apply again.
    pub async fn add_friend(
        &self,
        caller: &Caller,
        req: pb::ApplyToAddFriendReq,
    ) -> Result<(), AppError> {
        require(&req.to_user_id, "toUserID")?;
        require(&req.from_user_id, "fromUserID")?;
        caller.check_self_or_admin(&req.from_user_id)?;
        if req.to_user_id == req.from_user_id {
            return Err(AppError::coded(
                ErrCode::CanNotAddYourself,
                format!("req.ToUserID {}", req.to_user_id),
            ));
        }
        self.check_users(&[req.to_user_id.clone(), req.from_user_id.clone()])
            .await?;
        let db = self.store().database();
        let (from, to) = (req.from_user_id.as_str(), req.to_user_id.as_str());
        let (in_from, in_to) =
            tokio::try_join!(store::friend(db, from, to), store::friend(db, to, from))?;
        if in_from.is_some() && in_to.is_some() {
            return Err(AppError::coded(
                ErrCode::RelationshipAlready,
                "already friends has f",
            ));
        }
        let now = rill_core::now_ms();
        // A repeated application reopens the old one (OpenIM keeps its handler and handle
        // time, and resets the handle message).
        let row = match store::request(db, from, to).await? {
            Some(old) => FriendRequest {
                handle_result: PENDING,
                handle_msg: String::new(),
                req_msg: req.req_msg.clone(),
                ex: req.ex.clone(),
                create_time: now,
                ..old
            },
            None => FriendRequest {
                from_user_id: from.to_string(),
                to_user_id: to.to_string(),
                handle_result: PENDING,
                req_msg: req.req_msg.clone(),
                create_time: now,
                ex: req.ex.clone(),
                ..Default::default()
            },
        };
        self.commit_pair(caller, from, to, vec![Change::FriendRequest(row.clone())])
            .await?;
        let request = self
            .requests_to_wire(std::slice::from_ref(&row))
            .await?
            .pop();
        let tips = sdkws::FriendApplicationTips {
            from_to_user_id: from_to(from, to),
            request,
        };
        self.friend_notice(notices::APPLICATION, from, to, &tips)
            .await;
        Ok(())
    }

    /// `/friend/add_friend_response` (O on toUserID): 1 agrees (both friend rows, addSource 2;
    /// a pending application the other way is agreed too; 1201 to the applicant), -1 refuses
    /// (1202 to the applicant).
    ///
    /// OpenIM quirks kept: agreeing to a handled application is ArgsError (1001) while refusing
    /// one is FriendRequestHandled (1305); a refusal records no handler; the new friend rows
    /// name the applicant as their operator.
    pub async fn add_friend_response(
        &self,
        caller: &Caller,
        req: pb::RespondFriendApplyReq,
    ) -> Result<(), AppError> {
        require(&req.to_user_id, "toUserID")?;
        require(&req.from_user_id, "fromUserID")?;
        caller.check_self_or_admin(&req.to_user_id)?;
        let (from, to) = (req.from_user_id.as_str(), req.to_user_id.as_str());
        let handled = match req.handle_result {
            AGREE => self.agree(caller, from, to, &req.handle_msg).await?,
            REFUSE => self.refuse(caller, from, to, &req.handle_msg).await?,
            _ => return Err(AppError::args("req.HandleResult != -1/1")),
        };
        let request = self
            .requests_to_wire(std::slice::from_ref(&handled))
            .await?
            .pop();
        if req.handle_result == AGREE {
            let tips = sdkws::FriendApplicationApprovedTips {
                from_to_user_id: from_to(from, to),
                handle_msg: req.handle_msg.clone(),
                request,
                ..Default::default()
            };
            self.friend_notice(notices::APPROVED, to, from, &tips).await;
        } else {
            let tips = sdkws::FriendApplicationRejectedTips {
                from_to_user_id: from_to(from, to),
                handle_msg: req.handle_msg.clone(),
                request,
            };
            self.friend_notice(notices::REJECTED, to, from, &tips).await;
        }
        Ok(())
    }

    /// The pending application `from` → `to`, or OpenIM's errors.
    async fn pending_request(
        &self,
        from: &str,
        to: &str,
        handled: ErrCode,
        handled_msg: &str,
    ) -> Result<FriendRequest, AppError> {
        let fr = store::request(self.store().database(), from, to)
            .await?
            .ok_or_else(|| not_found(format!("friend request {from} -> {to} not found")))?;
        if fr.handle_result != PENDING {
            return Err(AppError::coded(handled, handled_msg));
        }
        Ok(fr)
    }

    async fn agree(
        &self,
        caller: &Caller,
        from: &str,
        to: &str,
        handle_msg: &str,
    ) -> Result<FriendRequest, AppError> {
        let fr = self
            .pending_request(
                from,
                to,
                ErrCode::Args,
                "the friend request has been processed",
            )
            .await?;
        let db = self.store().database();
        let now = rill_core::now_ms();
        let mut changes = Vec::with_capacity(4);
        let agreed = FriendRequest {
            handle_result: AGREE,
            handler_user_id: caller.user_id.clone(),
            // OpenIM's update skips an empty handle message.
            handle_msg: if handle_msg.is_empty() {
                fr.handle_msg.clone()
            } else {
                handle_msg.to_string()
            },
            handle_time: now,
            ..fr
        };
        changes.push(Change::FriendRequest(agreed.clone()));
        if let Some(back) = store::request(db, to, from).await?
            && back.handle_result == PENDING
        {
            changes.push(Change::FriendRequest(FriendRequest {
                handle_result: AGREE,
                handler_user_id: caller.user_id.clone(),
                handle_time: now,
                ..back
            }));
        }
        let (to_has, from_has) =
            tokio::try_join!(store::friend(db, to, from), store::friend(db, from, to))?;
        for (owner, friend, exists) in
            [(to, from, to_has.is_some()), (from, to, from_has.is_some())]
        {
            if exists {
                continue;
            }
            changes.push(Change::Friend {
                owner: owner.to_string(),
                friend: friend.to_string(),
                kind: Kind::Insert,
                row: Some(Friend {
                    owner_user_id: owner.to_string(),
                    friend_user_id: friend.to_string(),
                    create_time: now,
                    add_source: ADD_SOURCE_APPLY,
                    operator_user_id: from.to_string(),
                    ..Default::default()
                }),
            });
        }
        self.commit_pair(caller, from, to, changes).await?;
        Ok(agreed)
    }

    async fn refuse(
        &self,
        caller: &Caller,
        from: &str,
        to: &str,
        handle_msg: &str,
    ) -> Result<FriendRequest, AppError> {
        let fr = self
            .pending_request(
                from,
                to,
                ErrCode::FriendRequestHandled,
                "friend request has already been processed",
            )
            .await?;
        let refused = FriendRequest {
            handle_result: REFUSE,
            handle_msg: if handle_msg.is_empty() {
                fr.handle_msg.clone()
            } else {
                handle_msg.to_string()
            },
            handle_time: rill_core::now_ms(),
            ..fr
        };
        self.commit_pair(
            caller,
            from,
            to,
            vec![Change::FriendRequest(refused.clone())],
        )
        .await?;
        Ok(refused)
    }

    async fn request_list(
        &self,
        caller: &Caller,
        end: End,
        user_id: &str,
        pagination: Option<&sdkws::RequestPagination>,
        handle_results: &[i32],
    ) -> Result<(Vec<sdkws::FriendRequest>, i32), AppError> {
        require(user_id, "userID")?;
        let (skip, limit) = page_window(pagination)?;
        caller.check_self_or_admin(user_id)?;
        let (total, rows) = store::request_page(
            self.store().database(),
            end,
            user_id,
            handle_results,
            skip,
            limit,
        )
        .await?;
        let wire = self.requests_to_wire(&rows).await?;
        Ok((wire, i32::try_from(total).unwrap_or(i32::MAX)))
    }

    /// `/friend/get_friend_apply_list`: applications to the user, newest first.
    pub async fn get_friend_apply_list(
        &self,
        caller: &Caller,
        req: pb::GetPaginationFriendsApplyToReq,
    ) -> Result<pb::GetPaginationFriendsApplyToResp, AppError> {
        let (friend_requests, total) = self
            .request_list(
                caller,
                End::To,
                &req.user_id,
                req.pagination.as_ref(),
                &req.handle_results,
            )
            .await?;
        Ok(pb::GetPaginationFriendsApplyToResp {
            friend_requests,
            total,
        })
    }

    /// `/friend/get_self_friend_apply_list`: applications by the user, newest first.
    pub async fn get_self_friend_apply_list(
        &self,
        caller: &Caller,
        req: pb::GetPaginationFriendsApplyFromReq,
    ) -> Result<pb::GetPaginationFriendsApplyFromResp, AppError> {
        let (friend_requests, total) = self
            .request_list(
                caller,
                End::From,
                &req.user_id,
                req.pagination.as_ref(),
                &req.handle_results,
            )
            .await?;
        Ok(pb::GetPaginationFriendsApplyFromResp {
            friend_requests,
            total,
        })
    }

    /// `/friend/get_designated_friend_apply`: the applications between the two users, either
    /// way. Either end (or an admin) may ask (protocol.md's rule; OpenIM 3.8 checks nobody).
    pub async fn get_designated_friend_apply(
        &self,
        caller: &Caller,
        req: pb::GetDesignatedFriendsApplyReq,
    ) -> Result<pb::GetDesignatedFriendsApplyResp, AppError> {
        require(&req.from_user_id, "ownerUserID")?;
        require(&req.to_user_id, "toUserID")?;
        if !caller.is_admin
            && caller.user_id != req.from_user_id
            && caller.user_id != req.to_user_id
        {
            return Err(AppError::no_permission(
                "not a party of this friend request",
            ));
        }
        let mut rows =
            store::requests_between(self.store().database(), &req.from_user_id, &req.to_user_id)
                .await?;
        // from → to first, then the other way.
        rows.sort_by_key(|r| r.from_user_id != req.from_user_id);
        Ok(pb::GetDesignatedFriendsApplyResp {
            friend_requests: self.requests_to_wire(&rows).await?,
        })
    }

    /// `/friend/get_self_unhandled_apply_count`: pending applications to the user, created
    /// after `time` (ms) when it is not 0.
    pub async fn get_self_unhandled_apply_count(
        &self,
        caller: &Caller,
        req: pb::GetSelfUnhandledApplyCountReq,
    ) -> Result<pb::GetSelfUnhandledApplyCountResp, AppError> {
        owner(caller, &req.user_id, "userID")?;
        let count = store::unhandled_count(self.store().database(), &req.user_id, req.time).await?;
        Ok(pb::GetSelfUnhandledApplyCountResp {
            count: i64::try_from(count).unwrap_or(i64::MAX),
        })
    }
}
