//! User commands (OpenIM's `/user/*`, `internal/rpc/user/user.go`) and the user cache the send
//! path uses to check a recipient without Mongo.
//!
//! Cache: `<prefix>:user:<userID>`, a Redis hash holding either the brief profile
//! (`n` nickname, `f` face URL, `l` appMangerLevel, `o` globalRecvMsgOpt) or only `x` = 0 for a
//! user known not to exist. Positive entries live [`CACHE_TTL_SECS`], negative ones
//! [`MISSING_TTL_SECS`]; every write to a user deletes its entry (registration included, so a
//! negative entry never hides a new user).

use crate::auth::check_admin;
use crate::{App, AppError, Caller};
use redis::AsyncCommands;
use rill_core::{ErrCode, types::app_manager_level};
use rill_store::users::{self as store, UserDoc, UserFilter, UserPatch};
use rill_wire::pb::{msggateway, sdkws, user as pb};
use std::collections::{HashMap, HashSet};

/// Lifetime of a cached profile.
pub const CACHE_TTL_SECS: i64 = 3600;
/// Lifetime of a cached "no such user".
pub const MISSING_TTL_SECS: i64 = 60;

/// What the send path needs to know about a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserBrief {
    pub user_id: String,
    pub nickname: String,
    pub face_url: String,
    pub app_manger_level: i32,
    pub global_recv_msg_opt: i32,
}

impl From<&UserDoc> for UserBrief {
    fn from(u: &UserDoc) -> Self {
        Self {
            user_id: u.user_id.clone(),
            nickname: u.nickname.clone(),
            face_url: u.face_url.clone(),
            app_manger_level: u.app_manger_level,
            global_recv_msg_opt: u.global_recv_msg_opt,
        }
    }
}

/// The wire shape of a stored user.
pub fn user_info(u: &UserDoc) -> sdkws::UserInfo {
    sdkws::UserInfo {
        user_id: u.user_id.clone(),
        nickname: u.nickname.clone(),
        face_url: u.face_url.clone(),
        ex: u.ex.clone(),
        create_time: u.create_time,
        app_manger_level: u.app_manger_level,
        global_recv_msg_opt: u.global_recv_msg_opt,
    }
}

fn cache_key(app: &App, user_id: &str) -> String {
    app.log().keys().global(&format!("user:{user_id}"))
}

/// OpenIM's nickname of its default admin; other configured admins are named by their id.
fn admin_nickname(user_id: &str) -> String {
    if user_id == "imAdmin" {
        "superAdmin".into()
    } else {
        user_id.into()
    }
}

/// OpenIM's RequestPagination check (pageNumber ≥ 1); returns (skip, limit).
pub(crate) fn page_window(p: Option<&sdkws::RequestPagination>) -> Result<(u64, i64), AppError> {
    let p = p.ok_or_else(|| AppError::args("pagination is empty"))?;
    if p.page_number < 1 {
        return Err(AppError::args("pageNumber is invalid"));
    }
    let show = i64::from(p.show_number.max(0));
    Ok(((p.page_number as u64 - 1) * show as u64, show))
}

fn not_found(user_id: &str) -> AppError {
    AppError::coded(ErrCode::RecordNotFound, format!("user {user_id} not found"))
}

fn has_duplicates<'a>(ids: impl IntoIterator<Item = &'a str>) -> bool {
    let mut seen = HashSet::new();
    ids.into_iter().any(|id| !seen.insert(id))
}

impl App {
    /// Creates the configured admin users if missing (OpenIM creates them at start-up with
    /// appMangerLevel 2). Idempotent and safe to run from several processes.
    pub async fn ensure_admin_users(&self) -> Result<(), AppError> {
        let db = self.store().database();
        let admins = &self.config().admin_user_ids;
        let present: HashSet<String> = store::existing_ids(db, admins).await?.into_iter().collect();
        for id in admins.iter().filter(|id| !present.contains(*id)) {
            let doc = UserDoc {
                user_id: id.clone(),
                nickname: admin_nickname(id),
                create_time: rill_core::now_ms(),
                app_manger_level: app_manager_level::APP_ADMIN,
                ..Default::default()
            };
            if store::insert_if_absent(db, &doc).await? {
                self.forget_users(std::slice::from_ref(id)).await?;
            }
        }
        Ok(())
    }

    /// True when `user_id` is registered: the Redis cache first, Mongo on a miss.
    pub async fn user_exists(&self, user_id: &str) -> Result<bool, AppError> {
        Ok(self.user_brief(user_id).await?.is_some())
    }

    /// The brief profile of a user, `None` when not registered (cached either way).
    pub async fn user_brief(&self, user_id: &str) -> Result<Option<UserBrief>, AppError> {
        let mut found = self.user_briefs(&[user_id.to_string()]).await?;
        Ok(found.remove(user_id))
    }

    /// Brief profiles of many users in one Redis round trip (plus one Mongo query for the
    /// misses). Unregistered users are absent from the map.
    pub async fn user_briefs(
        &self,
        user_ids: &[String],
    ) -> Result<HashMap<String, UserBrief>, AppError> {
        let mut out = HashMap::new();
        if user_ids.is_empty() {
            return Ok(out);
        }
        let mut conn = self.redis();
        let mut pipe = redis::pipe();
        for id in user_ids {
            pipe.hgetall(cache_key(self, id));
        }
        let cached: Vec<HashMap<String, String>> = pipe.query_async(&mut conn).await?;
        let mut misses = Vec::new();
        for (id, fields) in user_ids.iter().zip(cached) {
            if fields.is_empty() {
                misses.push(id.clone());
            } else if !fields.contains_key("x") {
                let num = |k: &str| fields.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
                out.insert(
                    id.clone(),
                    UserBrief {
                        user_id: id.clone(),
                        nickname: fields.get("n").cloned().unwrap_or_default(),
                        face_url: fields.get("f").cloned().unwrap_or_default(),
                        app_manger_level: num("l"),
                        global_recv_msg_opt: num("o"),
                    },
                );
            }
        }
        if misses.is_empty() {
            return Ok(out);
        }
        let docs = store::find(self.store().database(), &misses).await?;
        let mut pipe = redis::pipe();
        for d in &docs {
            let key = cache_key(self, &d.user_id);
            pipe.hset_multiple(
                &key,
                &[
                    ("n", d.nickname.clone()),
                    ("f", d.face_url.clone()),
                    ("l", d.app_manger_level.to_string()),
                    ("o", d.global_recv_msg_opt.to_string()),
                ],
            )
            .ignore();
            pipe.expire(&key, CACHE_TTL_SECS).ignore();
            out.insert(d.user_id.clone(), UserBrief::from(d));
        }
        for id in misses.iter().filter(|id| !out.contains_key(*id)) {
            let key = cache_key(self, id);
            pipe.hset(&key, "x", 0).ignore();
            pipe.expire(&key, MISSING_TTL_SECS).ignore();
        }
        let () = pipe.query_async(&mut conn).await?;
        Ok(out)
    }

    /// Drops cache entries after a write.
    async fn forget_users(&self, user_ids: &[String]) -> Result<(), AppError> {
        if user_ids.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = user_ids.iter().map(|id| cache_key(self, id)).collect();
        let mut conn = self.redis();
        let _: i64 = conn.del(keys).await?;
        self.send_checks()
            .global_opts
            .forget(user_ids.iter().cloned());
        Ok(())
    }

    /// `/user/user_register` (admin): ids non-empty, without ':', unique in the request;
    /// nicknames non-empty; any id already registered → 1102 and nothing is created.
    pub async fn user_register(
        &self,
        caller: &Caller,
        req: pb::UserRegisterReq,
    ) -> Result<(), AppError> {
        if req.users.is_empty() {
            return Err(AppError::args("users is empty"));
        }
        for u in &req.users {
            if u.user_id.is_empty() {
                return Err(AppError::args("userID is empty"));
            }
            if u.user_id.contains(':') {
                return Err(AppError::args("userID contains ':' is invalid userID"));
            }
            if u.nickname.is_empty() {
                return Err(AppError::args("user name is empty"));
            }
        }
        check_admin(caller)?;
        if has_duplicates(req.users.iter().map(|u| u.user_id.as_str())) {
            return Err(AppError::args("userID repeated"));
        }
        let db = self.store().database();
        let ids: Vec<String> = req.users.iter().map(|u| u.user_id.clone()).collect();
        let taken = store::existing_ids(db, &ids).await?;
        if !taken.is_empty() {
            return Err(AppError::coded(
                ErrCode::RegisteredAlready,
                format!("userID registered already: {}", taken.join(",")),
            ));
        }
        let now = rill_core::now_ms();
        let docs: Vec<UserDoc> = req
            .users
            .into_iter()
            .map(|u| UserDoc {
                user_id: u.user_id,
                nickname: u.nickname,
                face_url: u.face_url,
                ex: u.ex,
                create_time: now,
                app_manger_level: u.app_manger_level,
                global_recv_msg_opt: u.global_recv_msg_opt,
            })
            .collect();
        let inserted = store::insert_many(db, &docs).await;
        // Clear negative cache entries even if a concurrent registration won a race.
        self.forget_users(&ids).await?;
        match inserted {
            Err(e) if e.is_duplicate_key() => Err(AppError::coded(
                ErrCode::RegisteredAlready,
                "userID registered already",
            )),
            other => Ok(other?),
        }
    }

    /// `/user/get_users_info` (any user): registered users among `userIDs`, in request order;
    /// unknown ids are silently dropped.
    pub async fn get_users_info(
        &self,
        req: pb::GetDesignateUsersReq,
    ) -> Result<pb::GetDesignateUsersResp, AppError> {
        let mut seen = HashSet::new();
        let ids: Vec<String> = req
            .user_i_ds
            .into_iter()
            .filter(|id| seen.insert(id.clone()))
            .collect();
        let docs = store::find(self.store().database(), &ids).await?;
        let mut by_id: HashMap<&str, &UserDoc> =
            docs.iter().map(|d| (d.user_id.as_str(), d)).collect();
        let users_info = ids
            .iter()
            .filter_map(|id| by_id.remove(id.as_str()))
            .map(user_info)
            .collect();
        Ok(pb::GetDesignateUsersResp { users_info })
    }

    async fn patch_user(
        &self,
        caller: &Caller,
        user_id: &str,
        patch: UserPatch,
    ) -> Result<(), AppError> {
        if user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        caller.check_self_or_admin(user_id)?;
        if let Some(opt) = patch.global_recv_msg_opt
            && !(0..=2).contains(&opt)
        {
            return Err(AppError::args("GlobalRecvMsgOpt is invalid"));
        }
        let found = store::update(self.store().database(), user_id, &patch).await?;
        self.forget_users(&[user_id.to_string()]).await?;
        if found {
            Ok(())
        } else {
            Err(not_found(user_id))
        }
    }

    /// `/user/update_user_info` (self or admin; deprecated): empty strings and zeros mean
    /// "unchanged".
    pub async fn update_user_info(
        &self,
        caller: &Caller,
        req: pb::UpdateUserInfoReq,
    ) -> Result<(), AppError> {
        let u = req
            .user_info
            .ok_or_else(|| AppError::args("UserInfo is empty"))?;
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        let patch = UserPatch {
            nickname: non_empty(u.nickname),
            face_url: non_empty(u.face_url),
            ex: non_empty(u.ex),
            global_recv_msg_opt: (u.global_recv_msg_opt != 0).then_some(u.global_recv_msg_opt),
        };
        self.patch_user(caller, &u.user_id, patch).await?;
        self.tell_friends_profile_changed(caller, &u.user_id).await;
        Ok(())
    }

    /// `/user/update_user_info_ex` (self or admin): a field given (even empty) is set.
    pub async fn update_user_info_ex(
        &self,
        caller: &Caller,
        req: pb::UpdateUserInfoExReq,
    ) -> Result<(), AppError> {
        let u = req
            .user_info
            .ok_or_else(|| AppError::args("userInfo is empty"))?;
        let patch = UserPatch {
            nickname: u.nickname.map(|v| v.value),
            face_url: u.face_url.map(|v| v.value),
            ex: u.ex.map(|v| v.value),
            global_recv_msg_opt: u.global_recv_msg_opt.map(|v| v.value),
        };
        self.patch_user(caller, &u.user_id, patch).await?;
        self.tell_friends_profile_changed(caller, &u.user_id).await;
        Ok(())
    }

    /// Friends' version logs and their 1209 notification after a profile change. Best effort:
    /// the profile change itself is durable, and a friend's next full sync refetches it.
    async fn tell_friends_profile_changed(&self, caller: &Caller, user_id: &str) {
        if let Err(e) = self.friend_user_info_updated(caller, user_id).await {
            tracing::warn!(user_id, error = %e, "friends not told about a profile change");
        }
    }

    /// `/user/set_global_msg_recv_opt` (self or admin): 0 receive, 1 not, 2 no notification.
    pub async fn set_global_recv_msg_opt(
        &self,
        caller: &Caller,
        req: pb::SetGlobalRecvMessageOptReq,
    ) -> Result<(), AppError> {
        let patch = UserPatch {
            global_recv_msg_opt: Some(req.global_recv_msg_opt),
            ..Default::default()
        };
        self.patch_user(caller, &req.user_id, patch).await
    }

    /// `/user/get_users`: ordinary users (levels 0 and 1), optionally filtered by id or
    /// nickname substring, one page.
    pub async fn get_users(
        &self,
        req: pb::GetPaginationUsersReq,
    ) -> Result<pb::GetPaginationUsersResp, AppError> {
        let (skip, limit) = page_window(req.pagination.as_ref())?;
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        let filter = UserFilter {
            levels: vec![app_manager_level::USER, 1],
            user_id_like: non_empty(req.user_id),
            nickname_like: non_empty(req.nick_name),
        };
        let (total, docs) = store::page(self.store().database(), &filter, skip, limit).await?;
        Ok(pb::GetPaginationUsersResp {
            total: i32::try_from(total).unwrap_or(i32::MAX),
            users: docs.iter().map(user_info).collect(),
        })
    }

    /// `/user/get_all_users_uid`: every user id (admins included), one page.
    pub async fn get_all_users_uid(
        &self,
        req: pb::GetAllUserIdReq,
    ) -> Result<pb::GetAllUserIdResp, AppError> {
        let (skip, limit) = page_window(req.pagination.as_ref())?;
        let (total, ids) = store::page_ids(self.store().database(), skip, limit).await?;
        Ok(pb::GetAllUserIdResp {
            total: i32::try_from(total).unwrap_or(i32::MAX),
            user_i_ds: ids,
        })
    }

    /// `/user/account_check` (admin): 1 registered / 0 not, per id in request order.
    pub async fn account_check(
        &self,
        caller: &Caller,
        req: pb::AccountCheckReq,
    ) -> Result<pb::AccountCheckResp, AppError> {
        if has_duplicates(req.check_user_i_ds.iter().map(String::as_str)) {
            return Err(AppError::args("userID repeated"));
        }
        check_admin(caller)?;
        let existing: HashSet<String> =
            store::existing_ids(self.store().database(), &req.check_user_i_ds)
                .await?
                .into_iter()
                .collect();
        let results = req
            .check_user_i_ds
            .into_iter()
            .map(|id| pb::account_check_resp::SingleUserStatus {
                account_status: i32::from(existing.contains(&id)),
                user_id: id,
            })
            .collect();
        Ok(pb::AccountCheckResp { results })
    }

    /// `/user/get_users_online_status` (admin): per requested user, status 1 with its live
    /// connections, or 0.
    pub async fn get_users_online_status(
        &self,
        caller: &Caller,
        req: msggateway::GetUsersOnlineStatusReq,
    ) -> Result<Vec<msggateway::SuccessResult>, AppError> {
        check_admin(caller)?;
        let mut conn = self.redis();
        let keys = self.log().keys();
        let per_user =
            rill_log::presence::connections_many(&mut conn, keys, &req.user_i_ds).await?;
        Ok(req
            .user_i_ds
            .into_iter()
            .zip(per_user)
            .map(|(user_id, conns)| msggateway::SuccessResult {
                status: i32::from(!conns.is_empty()),
                detail_platform_status: conns
                    .into_iter()
                    .map(|p| msggateway::SuccessDetail {
                        platform_id: p.platform_id,
                        conn_id: p.conn_id,
                        is_background: p.background,
                        token: p.token,
                    })
                    .collect(),
                user_id,
            })
            .collect())
    }

    /// `/user/get_users_status` (any user): per user, 1 with the platforms of its live
    /// connections, or 0.
    pub async fn get_users_status(
        &self,
        req: pb::GetUserStatusReq,
    ) -> Result<pb::GetUserStatusResp, AppError> {
        if req.user_i_ds.is_empty() {
            return Err(AppError::args("UserIDs is empty"));
        }
        let mut conn = self.redis();
        let keys = self.log().keys();
        let per_user =
            rill_log::presence::connections_many(&mut conn, keys, &req.user_i_ds).await?;
        let status_list = req
            .user_i_ds
            .into_iter()
            .zip(per_user)
            .map(|(user_id, conns)| {
                let mut platforms: Vec<i32> = conns.iter().map(|p| p.platform_id).collect();
                platforms.sort_unstable();
                platforms.dedup();
                pb::OnlineStatus {
                    user_id,
                    status: i32::from(!platforms.is_empty()),
                    platform_i_ds: platforms,
                }
            })
            .collect();
        Ok(pb::GetUserStatusResp { status_list })
    }

    /// `/user/subscribe_users_status` (self or admin; genre 1 subscribe, 2 cancel). OpenIM 3.8
    /// answers with an empty list and pushes nothing here either; status changes reach
    /// clients through `get_users_status`.
    pub async fn subscribe_users_status(
        &self,
        caller: &Caller,
        req: pb::SubscribeOrCancelUsersStatusReq,
    ) -> Result<pb::SubscribeOrCancelUsersStatusResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("UserID is empty"));
        }
        if !(1..=2).contains(&req.genre) {
            return Err(AppError::args("invalid subscription type parameter"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        Ok(pb::SubscribeOrCancelUsersStatusResp::default())
    }

    /// `/user/get_subscribe_users_status` (self or admin): empty, as in OpenIM 3.8.
    pub async fn get_subscribe_users_status(
        &self,
        caller: &Caller,
        req: pb::GetSubscribeUsersStatusReq,
    ) -> Result<pb::GetSubscribeUsersStatusResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("UserID is empty"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        Ok(pb::GetSubscribeUsersStatusResp::default())
    }

    /// `/user/get_user_client_config` (self or admin). No per-user client settings are stored
    /// yet, so the SDK falls back to its defaults.
    pub async fn get_user_client_config(
        &self,
        caller: &Caller,
        req: pb::GetUserClientConfigReq,
    ) -> Result<pb::GetUserClientConfigResp, AppError> {
        if !req.user_id.is_empty() {
            caller.check_self_or_admin(&req.user_id)?;
        }
        Ok(pb::GetUserClientConfigResp::default())
    }

    /// `/user/process_user_command_get_all` (self or admin). User commands (favourites etc.)
    /// are not stored yet: always empty.
    pub async fn process_user_command_get_all(
        &self,
        caller: &Caller,
        req: pb::ProcessUserCommandGetAllReq,
    ) -> Result<pb::ProcessUserCommandGetAllResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        Ok(pb::ProcessUserCommandGetAllResp::default())
    }

    /// `/user/process_user_command_get` (self or admin): empty, see
    /// [`App::process_user_command_get_all`].
    pub async fn process_user_command_get(
        &self,
        caller: &Caller,
        req: pb::ProcessUserCommandGetReq,
    ) -> Result<pb::ProcessUserCommandGetResp, AppError> {
        if req.user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        caller.check_self_or_admin(&req.user_id)?;
        Ok(pb::ProcessUserCommandGetResp::default())
    }
}

/// Key of a device's push token (OpenIM's `FCM_TOKEN:<account>:<platformID>`).
pub fn push_token_key(app: &App, account: &str, platform_id: i32) -> String {
    app.log()
        .keys()
        .global(&format!("FCM_TOKEN:{account}:{platform_id}"))
}

/// Key of a user's app-icon badge count (OpenIM's `USER_BADGE_UNREAD_COUNT_SUM:<userID>`).
pub fn badge_key(app: &App, user_id: &str) -> String {
    app.log()
        .keys()
        .global(&format!("USER_BADGE_UNREAD_COUNT_SUM:{user_id}"))
}

impl App {
    /// `/third/fcm_update_token` (self or admin): remembers a device's push token for offline
    /// push, for `expire_secs` seconds (0 = no expiry), as OpenIM does.
    pub async fn fcm_update_token(
        &self,
        caller: &Caller,
        account: &str,
        platform_id: i32,
        fcm_token: &str,
        expire_secs: i64,
    ) -> Result<(), AppError> {
        if !(1..=10).contains(&platform_id) {
            return Err(AppError::args("platformID is invalidate"));
        }
        if fcm_token.is_empty() {
            return Err(AppError::args("FcmToken is empty"));
        }
        if account.is_empty() {
            return Err(AppError::args("account is empty"));
        }
        caller.check_self_or_admin(account)?;
        let key = push_token_key(self, account, platform_id);
        let mut conn = self.redis();
        if expire_secs > 0 {
            let () = conn.set_ex(key, fcm_token, expire_secs as u64).await?;
        } else {
            let () = conn.set(key, fcm_token).await?;
        }
        Ok(())
    }

    /// `/third/set_app_badge` (self or admin): the unread count the client shows on its icon,
    /// kept for offline push badges.
    pub async fn set_app_badge(
        &self,
        caller: &Caller,
        user_id: &str,
        app_unread_count: i32,
    ) -> Result<(), AppError> {
        if user_id.is_empty() {
            return Err(AppError::args("UserID is empty"));
        }
        caller.check_self_or_admin(user_id)?;
        let mut conn = self.redis();
        let () = conn.set(badge_key(self, user_id), app_unread_count).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_follows_openim_checks() {
        assert!(page_window(None).is_err());
        let p = |n, s| sdkws::RequestPagination {
            page_number: n,
            show_number: s,
        };
        assert!(page_window(Some(&p(0, 10))).is_err());
        assert_eq!(page_window(Some(&p(1, 10))).ok(), Some((0, 10)));
        assert_eq!(page_window(Some(&p(3, 10))).ok(), Some((20, 10)));
        assert_eq!(page_window(Some(&p(2, 0))).ok(), Some((0, 0)));
    }

    #[test]
    fn duplicates_are_found() {
        assert!(has_duplicates(["a", "b", "a"]));
        assert!(!has_duplicates(["a", "b"]));
    }
}
