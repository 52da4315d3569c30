//! Authentication commands: issuing tokens (admin and user), parsing them for both front
//! doors, and forced logout. Token format, table layout and the multi-login policy live in
//! `tokens.rs`; this file does the Redis round trips and OpenIM's permission rules
//! (`internal/rpc/auth/auth.go`).

use crate::tokens::{self, ExistingToken, JwtClaims, state};
use crate::{App, AppError, Caller};
use redis::AsyncCommands;
use rill_core::{ErrCode, Platform, types::app_manager_level};

pub use crate::tokens::Claims;

/// A freshly issued token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    /// OpenIM reports the lifetime in seconds here (days × 86400), not the expiry instant.
    pub expire_time_seconds: i64,
}

impl App {
    /// Verifies a token: signature and time claims, then its state in the token table.
    /// Errors carry OpenIM's codes: 1501 expired, 1503 malformed, 1504 not valid yet,
    /// 1505 bad signature or unknown state, 1506 kicked, 1507 not in the table.
    pub async fn parse_token(&self, token: &str) -> Result<Claims, AppError> {
        let claims = tokens::verify(&self.config().secret, token)?;
        let Some(platform) = Platform::from_id(claims.platform_id) else {
            return Err(AppError::coded(
                ErrCode::TokenNotExist,
                "token of an unknown platform",
            ));
        };
        let keys = self.log().keys();
        let mut conn = self.redis();
        let key = tokens::table_key(keys, &claims.user_id, platform);
        let found: Option<i32> = conn.hget(&key, token).await?;
        let result = Claims {
            user_id: claims.user_id.clone(),
            platform_id: claims.platform_id,
            exp: claims.exp,
        };
        match found {
            Some(state::NORMAL) => Ok(result),
            Some(state::KICKED) => Err(AppError::coded(ErrCode::TokenKicked, "token kicked")),
            Some(other) => Err(AppError::coded(
                ErrCode::TokenUnknown,
                format!("token state {other}"),
            )),
            None => {
                // An admin token replaced by a newer one stays valid for a few minutes.
                if self.config().is_admin(&claims.user_id) {
                    let tmp = tokens::temporary_key(keys, &claims.user_id, platform, token);
                    let alive: bool = conn.exists(&tmp).await?;
                    if alive {
                        return Ok(result);
                    }
                }
                Err(AppError::coded(ErrCode::TokenNotExist, "token not exist"))
            }
        }
    }

    /// [`App::parse_token`] as the identity every command takes.
    pub async fn caller_from_token(&self, token: &str) -> Result<Caller, AppError> {
        let claims = self.parse_token(token).await?;
        Ok(Caller {
            is_admin: self.config().is_admin(&claims.user_id),
            user_id: claims.user_id,
            platform_id: claims.platform_id,
        })
    }

    /// `/auth/get_admin_token`: wrong secret → 1002; a user id not in the admin list → 1001.
    /// Issued on the Admin platform (10).
    pub async fn admin_token(&self, secret: &str, user_id: &str) -> Result<IssuedToken, AppError> {
        if user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        if secret != self.config().secret {
            return Err(AppError::no_permission("secret invalid"));
        }
        if !self.config().is_admin(user_id) {
            return Err(AppError::args(format!("userID is error. userID={user_id}")));
        }
        self.ensure_admin_users().await?;
        self.issue_token(user_id, Platform::Admin).await
    }

    /// `/auth/get_user_token` (admin only). Platform 10 → 1002, an admin target → 1002,
    /// an unknown user → 1004, a notification/robot account → 1001.
    pub async fn user_token(
        &self,
        caller: &Caller,
        user_id: &str,
        platform_id: i32,
    ) -> Result<IssuedToken, AppError> {
        check_admin(caller)?;
        if user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        if platform_id == Platform::Admin.id() {
            return Err(AppError::no_permission(
                "platformID invalid. platformID must not be adminPlatformID",
            ));
        }
        // OpenIM's check here is a no-op; an unknown platform would give an unusable token.
        let platform = Platform::from_id(platform_id)
            .ok_or_else(|| AppError::args(format!("platformID {platform_id} is invalid")))?;
        if self.config().is_admin(user_id) {
            return Err(AppError::no_permission("don't get Admin token"));
        }
        let user = rill_store::users::get(self.store().database(), user_id)
            .await?
            .ok_or_else(|| {
                AppError::coded(ErrCode::RecordNotFound, format!("user {user_id} not found"))
            })?;
        if user.app_manger_level >= app_manager_level::NOTIFICATION_ACCOUNT {
            return Err(AppError::args("app account can`t get token"));
        }
        self.issue_token(user_id, platform).await
    }

    /// `/auth/force_logout` (admin only, platform 1..=10): marks every token of that platform
    /// kicked and tells the gateways holding such connections to close them (WS 2002).
    pub async fn force_logout(
        &self,
        caller: &Caller,
        user_id: &str,
        platform_id: i32,
    ) -> Result<(), AppError> {
        if user_id.is_empty() {
            return Err(AppError::args("userID is empty"));
        }
        let platform = Platform::from_id(platform_id)
            .filter(|p| p.id() <= Platform::Admin.id())
            .ok_or_else(|| AppError::args("platformID is invalidate"))?;
        check_admin(caller)?;
        let keys = self.log().keys();
        let mut conn = self.redis();
        let key = tokens::table_key(keys, user_id, platform);
        let existing: Vec<String> = conn.hkeys(&key).await?;
        if !existing.is_empty() {
            let items: Vec<(String, i32)> =
                existing.into_iter().map(|t| (t, state::KICKED)).collect();
            let () = conn.hset_multiple(&key, &items).await?;
        }
        rill_log::delivery::kick(&mut conn, keys, user_id, platform_id, None).await?;
        Ok(())
    }

    /// Signs a token and records it, applying the multi-login policy to the user's other
    /// tokens first (OpenIM's `authDatabase.CreateToken`).
    async fn issue_token(
        &self,
        user_id: &str,
        platform: Platform,
    ) -> Result<IssuedToken, AppError> {
        let config = self.config();
        let keys = self.log().keys();
        let mut conn = self.redis();
        let existing = self.existing_tokens(user_id).await?;
        let plan = tokens::plan_login(
            config.multi_login_policy,
            config.max_num_one_end,
            platform,
            &existing,
        )?;
        let claims = tokens::new_claims(user_id, platform.id(), config.token_expire_days);
        let token = tokens::sign(&config.secret, &claims)?;
        let lifetime = config.token_expire_days * 86_400;

        let mut pipe = redis::pipe();
        pipe.atomic();
        for (p, t) in &plan.delete {
            pipe.hdel(tokens::table_key(keys, user_id, *p), t).ignore();
        }
        for (p, t) in &plan.kick {
            pipe.hset(tokens::table_key(keys, user_id, *p), t, state::KICKED)
                .ignore();
        }
        for t in &plan.retire_admin {
            let tmp = tokens::temporary_key(keys, user_id, Platform::Admin, t);
            pipe.set_ex(tmp, "", tokens::TEMPORARY_TOKEN_SECS).ignore();
            pipe.hdel(tokens::table_key(keys, user_id, Platform::Admin), t)
                .ignore();
        }
        let key = tokens::table_key(keys, user_id, platform);
        pipe.hset(&key, &token, state::NORMAL).ignore();
        pipe.expire(&key, lifetime.max(1)).ignore();
        let () = pipe.query_async(&mut conn).await?;
        Ok(IssuedToken {
            token,
            expire_time_seconds: lifetime,
        })
    }

    /// Every row of the user's token table, with each token's claims checked.
    async fn existing_tokens(&self, user_id: &str) -> Result<Vec<ExistingToken>, AppError> {
        let keys = self.log().keys();
        let mut conn = self.redis();
        let platforms = tokens::all_platforms();
        let mut pipe = redis::pipe();
        for p in &platforms {
            pipe.hgetall(tokens::table_key(keys, user_id, *p));
        }
        let tables: Vec<Vec<(String, i32)>> = pipe.query_async(&mut conn).await?;
        let secret = &self.config().secret;
        let mut out = Vec::new();
        for (platform, rows) in platforms.into_iter().zip(tables) {
            for (token, st) in rows {
                let verified: Option<JwtClaims> = tokens::verify(secret, &token).ok();
                out.push(ExistingToken {
                    platform,
                    iat: verified.as_ref().and_then(|c| c.iat).unwrap_or(0),
                    verified: verified.is_some(),
                    token,
                    state: st,
                });
            }
        }
        Ok(out)
    }
}

/// OpenIM's `authverify.CheckAdmin`.
pub fn check_admin(caller: &Caller) -> Result<(), AppError> {
    if caller.is_admin {
        Ok(())
    } else {
        Err(AppError::no_permission(format!(
            "user {} is not an admin",
            caller.user_id
        )))
    }
}
