//! The blacklist: add, remove, and its lists.

use super::notices::{self, from_to};
use super::{convert, has_duplicates, owner, require};
use crate::users::page_window;
use crate::{App, AppError, Caller};
use rill_core::ErrCode;
use rill_core::entity::{Black, Change, Kind};
use rill_store::friends as store;
use rill_wire::pb::{relation as pb, sdkws};

impl App {
    /// `/friend/add_black` (O): both users must exist (1004). Sends 1207 (owner → blocked).
    /// Blocking someone already blocked is a duplicate key (1003; OpenIM surfaces Mongo's
    /// duplicate-key error from its insert).
    pub async fn add_black(&self, caller: &Caller, req: pb::AddBlackReq) -> Result<(), AppError> {
        require(&req.owner_user_id, "ownerUserID")?;
        require(&req.black_user_id, "blackUserID")?;
        caller.check_self_or_admin(&req.owner_user_id)?;
        let (owner, black) = (req.owner_user_id.as_str(), req.black_user_id.as_str());
        self.check_users(&[owner.to_string(), black.to_string()])
            .await?;
        if store::black(self.store().database(), owner, black)
            .await?
            .is_some()
        {
            return Err(AppError::coded(
                ErrCode::DuplicateKey,
                format!("{black} is already in the blacklist of {owner}"),
            ));
        }
        let row = Black {
            owner_user_id: owner.to_string(),
            block_user_id: black.to_string(),
            create_time: rill_core::now_ms(),
            add_source: 0,
            operator_user_id: caller.user_id.clone(),
            ex: req.ex.clone(),
        };
        let change = Change::Black {
            owner: owner.to_string(),
            black: black.to_string(),
            kind: Kind::Insert,
            row: Some(row),
        };
        self.commit_pair(caller, owner, black, vec![change]).await?;
        let tips = sdkws::BlackAddedTips {
            from_to_user_id: from_to(owner, black),
        };
        self.friend_notice(notices::BLACK_ADDED, owner, black, &tips)
            .await;
        Ok(())
    }

    /// `/friend/remove_black` (O): removing someone not blocked succeeds (nothing changes).
    /// Sends 1208 (owner → unblocked) either way, as OpenIM does.
    pub async fn remove_black(
        &self,
        caller: &Caller,
        req: pb::RemoveBlackReq,
    ) -> Result<(), AppError> {
        require(&req.owner_user_id, "ownerUserID")?;
        require(&req.black_user_id, "blackUserID")?;
        caller.check_self_or_admin(&req.owner_user_id)?;
        let (owner, black) = (req.owner_user_id.as_str(), req.black_user_id.as_str());
        if store::black(self.store().database(), owner, black)
            .await?
            .is_some()
        {
            let change = Change::Black {
                owner: owner.to_string(),
                black: black.to_string(),
                kind: Kind::Delete,
                row: None,
            };
            self.commit_pair(caller, owner, black, vec![change]).await?;
        }
        let tips = sdkws::BlackDeletedTips {
            from_to_user_id: from_to(owner, black),
        };
        self.friend_notice(notices::BLACK_DELETED, owner, black, &tips)
            .await;
        Ok(())
    }

    /// Blacks with their users, in the list's shape.
    pub(super) async fn blacks_to_wire(
        &self,
        rows: &[Black],
    ) -> Result<Vec<sdkws::BlackInfo>, AppError> {
        let ids: Vec<String> = rows.iter().map(|b| b.block_user_id.clone()).collect();
        let users = self.users_by_id(&ids).await?;
        Ok(rows
            .iter()
            .map(|b| convert::black_info(b, &users))
            .collect())
    }

    /// `/friend/get_black_list` (O): one page, oldest first.
    pub async fn get_black_list(
        &self,
        caller: &Caller,
        req: pb::GetPaginationBlacksReq,
    ) -> Result<pb::GetPaginationBlacksResp, AppError> {
        require(&req.user_id, "userID")?;
        let (skip, limit) = page_window(req.pagination.as_ref())?;
        caller.check_self_or_admin(&req.user_id)?;
        let (total, rows) =
            store::black_page(self.store().database(), &req.user_id, skip, limit).await?;
        Ok(pb::GetPaginationBlacksResp {
            blacks: self.blacks_to_wire(&rows).await?,
            total: i32::try_from(total).unwrap_or(i32::MAX),
        })
    }

    /// `/friend/get_specified_blacks` (O): the listed users that are blocked, in request
    /// order (createTime in ms here, unlike the list).
    pub async fn get_specified_blacks(
        &self,
        caller: &Caller,
        req: pb::GetSpecifiedBlacksReq,
    ) -> Result<pb::GetSpecifiedBlacksResp, AppError> {
        owner(caller, &req.owner_user_id, "ownerUserID")?;
        if req.user_id_list.is_empty() {
            return Err(AppError::args("userIDList is empty"));
        }
        if has_duplicates(&req.user_id_list) {
            return Err(AppError::args("userIDList repeated"));
        }
        let (users, rows) = tokio::try_join!(self.users_by_id(&req.user_id_list), async {
            Ok(store::blacks_of(
                self.store().database(),
                &req.owner_user_id,
                &req.user_id_list,
            )
            .await?)
        })?;
        let blacks: Vec<sdkws::BlackInfo> = req
            .user_id_list
            .iter()
            .filter_map(|id| rows.iter().find(|b| &b.block_user_id == id))
            .map(|b| convert::black_specified(b, &users))
            .collect();
        Ok(pb::GetSpecifiedBlacksResp {
            total: i32::try_from(blacks.len()).unwrap_or(i32::MAX),
            blacks,
        })
    }
}
