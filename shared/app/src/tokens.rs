//! Tokens: OpenIM-compatible JWTs and the server-side token table.
//!
//! A token is an HS256 JWT with OpenIM's Go claim names (`UserID`, `PlatformID`, `exp`, `iat`,
//! protocol.md §2.6; `iat` is back-dated 5 s like openimsdk/tools does). Signing alone does not
//! make a token usable: it must also be present with state [`state::NORMAL`] in the user's
//! per-platform Redis hash `UID_PID_TOKEN_STATUS:{userID}:{PlatformName}` (under our key prefix).
//! The braces around the user id are a literal Redis Cluster hash tag, so every token key of one
//! user lives in one slot and a login can read and rewrite them in one pipeline.
//!
//! The multi-login policy (protocol.md §2.5) is a pure function here ([`plan_login`]) so it can
//! be tested without Redis; `auth.rs` applies its plan.

use crate::AppError;
use rill_core::{ErrCode, Platform, platform::PlatformClass};
use rill_log::Keys;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Values of the token table (OpenIM's `constant.NormalToken` ...).
pub mod state {
    pub const NORMAL: i32 = 0;
    pub const INVALID: i32 = 1;
    pub const KICKED: i32 = 2;
    pub const EXPIRED: i32 = 3;
}

/// OpenIM's multi-login policies (`share.yml multiLogin.policy`).
pub mod policy {
    /// Keep at most `maxNumOneEnd` tokens per platform; the oldest are kicked.
    pub const DEFAULT_NOT_KICK: i32 = 0;
    /// Every other token of the same platform is kicked.
    pub const ALL_LOGIN_BUT_SAME_TERM_KICK: i32 = 1;
    /// Every other token of the same platform class is kicked.
    pub const ALL_LOGIN_BUT_SAME_CLASS_KICK: i32 = 4;
    /// PCs are unlimited; among the other terminals only one stays (Android preferred).
    pub const PC_AND_OTHER: i32 = 5;
}

/// How long an admin token replaced by a newer admin token stays usable (OpenIM: 5 minutes).
pub const TEMPORARY_TOKEN_SECS: u64 = 300;

/// OpenIM back-dates `iat` by this many seconds (clock skew between servers).
const IAT_BACKDATE_SECS: i64 = 5;

/// The JWT payload exactly as OpenIM's Go `tokenverify.Claims` serializes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtClaims {
    #[serde(rename = "UserID", default)]
    pub user_id: String,
    #[serde(rename = "PlatformID", default)]
    pub platform_id: i32,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// A random id, so two logins in the same second get different tokens (OpenIM's would be
    /// identical, and kicking one would kick both). Go's claim parser ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// What a valid token proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub user_id: String,
    pub platform_id: i32,
    /// Absolute expiry, Unix seconds.
    pub exp: i64,
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    rill_core::now_ms() / 1000
}

/// Claims for a fresh token issued now and valid for `ttl_days` (unique per call).
pub fn new_claims(user_id: &str, platform_id: i32, ttl_days: i64) -> JwtClaims {
    let now = now_secs();
    JwtClaims {
        user_id: user_id.to_string(),
        platform_id,
        exp: now + ttl_days * 86_400,
        nbf: None,
        iat: Some(now - IAT_BACKDATE_SECS),
        jti: Some(format!("{:016x}", rand::random::<u64>())),
    }
}

/// Signs `claims` with HS256 and `secret`.
pub fn sign(secret: &str, claims: &JwtClaims) -> Result<String, AppError> {
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&header, claims, &key)
        .map_err(|e| AppError::coded(ErrCode::ServerInternal, format!("token signing: {e}")))
}

/// Checks the signature and the time claims, with OpenIM's codes: 1503 malformed (not a JWT,
/// bad base64 or JSON), 1501 expired, 1504 not valid yet, 1505 anything else (bad signature,
/// other algorithm).
pub fn verify(secret: &str, token: &str) -> Result<JwtClaims, AppError> {
    use jsonwebtoken::errors::ErrorKind;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    // Go's jwt v4 has no leeway and checks `nbf` when present.
    validation.leeway = 0;
    validation.validate_nbf = true;
    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
    match jsonwebtoken::decode::<JwtClaims>(token, &key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(e) => {
            let code = match e.kind() {
                ErrorKind::InvalidToken
                | ErrorKind::Base64(_)
                | ErrorKind::Json(_)
                | ErrorKind::Utf8(_)
                | ErrorKind::InvalidClaimFormat(_)
                | ErrorKind::MissingRequiredClaim(_) => ErrCode::TokenMalformed,
                ErrorKind::ExpiredSignature => ErrCode::TokenExpired,
                ErrorKind::ImmatureSignature => ErrCode::TokenNotValidYet,
                _ => ErrCode::TokenUnknown,
            };
            Err(AppError::coded(code, e.to_string()))
        }
    }
}

/// `UID_PID_TOKEN_STATUS:{userID}:{PlatformName}`: token → state for one user and platform.
pub fn table_key(keys: &Keys, user_id: &str, platform: Platform) -> String {
    keys.global(&format!(
        "UID_PID_TOKEN_STATUS:{{{user_id}}}:{}",
        platform.name()
    ))
}

/// The marker that keeps a replaced admin token usable for [`TEMPORARY_TOKEN_SECS`].
pub fn temporary_key(keys: &Keys, user_id: &str, platform: Platform, token: &str) -> String {
    keys.global(&format!(
        "UID_PID_TOKEN_STATUS::TEMPORARY:{{{user_id}}}:{}:{token}",
        platform.name()
    ))
}

/// Every platform, in id order (the token table has one hash per platform).
pub fn all_platforms() -> Vec<Platform> {
    (1..=11).filter_map(Platform::from_id).collect()
}

/// One row of a user's token table as a login sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingToken {
    pub platform: Platform,
    pub token: String,
    pub state: i32,
    /// Issue time from the claims, for "oldest first"; 0 when unknown.
    pub iat: i64,
    /// Signature and expiry still pass.
    pub verified: bool,
}

/// What a new login does to the existing tokens.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoginPlan {
    /// Dead rows (expired, unverifiable, or not normal): removed from the table.
    pub delete: Vec<(Platform, String)>,
    /// Normal tokens the policy ends: set to [`state::KICKED`].
    pub kick: Vec<(Platform, String)>,
    /// Admin-platform tokens replaced by a new admin token: moved to temporary markers.
    pub retire_admin: Vec<String>,
}

/// The multi-login policy of OpenIM's `authDatabase.checkToken`, made deterministic: where
/// OpenIM keeps "one token" of a platform it keeps the newest (Go picks by map order).
pub fn plan_login(
    policy_id: i32,
    max_num_one_end: usize,
    new_platform: Platform,
    existing: &[ExistingToken],
) -> Result<LoginPlan, AppError> {
    let mut plan = LoginPlan::default();
    // Live non-admin tokens per platform, oldest first.
    let mut live: BTreeMap<i32, Vec<&ExistingToken>> = BTreeMap::new();
    let mut admin = Vec::new();
    for t in existing {
        if !t.verified || t.state != state::NORMAL {
            plan.delete.push((t.platform, t.token.clone()));
        } else if t.platform == Platform::Admin {
            admin.push(t.token.clone());
        } else {
            live.entry(t.platform.id()).or_default().push(t);
        }
    }
    for tokens in live.values_mut() {
        tokens.sort_by(|a, b| a.iat.cmp(&b.iat).then_with(|| a.token.cmp(&b.token)));
    }
    let kick_all = |plan: &mut LoginPlan, ts: &[&ExistingToken]| {
        plan.kick
            .extend(ts.iter().map(|t| (t.platform, t.token.clone())));
    };
    // Kicks all but the newest token of a platform.
    let keep_newest = |plan: &mut LoginPlan, ts: &[&ExistingToken]| {
        let n = ts.len().saturating_sub(1);
        plan.kick
            .extend(ts[..n].iter().map(|t| (t.platform, t.token.clone())));
    };
    match policy_id {
        policy::DEFAULT_NOT_KICK => {
            for (&pid, ts) in &live {
                let count = ts.len() + usize::from(pid == new_platform.id());
                if count > max_num_one_end {
                    let excess = (count - max_num_one_end).min(ts.len());
                    kick_all(&mut plan, &ts[..excess]);
                }
            }
        }
        policy::ALL_LOGIN_BUT_SAME_TERM_KICK => {
            for (&pid, ts) in &live {
                if pid == new_platform.id() {
                    kick_all(&mut plan, ts);
                } else {
                    keep_newest(&mut plan, ts);
                }
            }
        }
        policy::ALL_LOGIN_BUT_SAME_CLASS_KICK => {
            let mut kept_class: Vec<PlatformClass> = Vec::new();
            for ts in live.values() {
                let class = ts[0].platform.class();
                if class == new_platform.class() || kept_class.contains(&class) {
                    kick_all(&mut plan, ts);
                } else {
                    kept_class.push(class);
                    keep_newest(&mut plan, ts);
                }
            }
        }
        policy::PC_AND_OTHER => {
            let non_pc: Vec<&Vec<&ExistingToken>> = live
                .values()
                .filter(|ts| ts[0].platform.class() != PlatformClass::Pc)
                .collect();
            if new_platform.class() != PlatformClass::Pc {
                for ts in non_pc {
                    kick_all(&mut plan, ts);
                }
            } else {
                // One non-PC terminal survives: Android if logged in, else the newest one.
                let keep = non_pc
                    .iter()
                    .find(|ts| ts[0].platform == Platform::Android)
                    .or_else(|| {
                        non_pc
                            .iter()
                            .max_by_key(|ts| ts.last().map(|t| t.iat).unwrap_or(0))
                    })
                    .map(|ts| ts[0].platform);
                for ts in non_pc {
                    if Some(ts[0].platform) == keep {
                        keep_newest(&mut plan, ts);
                    } else {
                        kick_all(&mut plan, ts);
                    }
                }
            }
        }
        other => {
            return Err(AppError::coded(
                ErrCode::ServerInternal,
                format!("unknown multiLogin policy {other}"),
            ));
        }
    }
    if new_platform == Platform::Admin {
        plan.retire_admin = admin;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(platform: Platform, token: &str, iat: i64) -> ExistingToken {
        ExistingToken {
            platform,
            token: token.into(),
            state: state::NORMAL,
            iat,
            verified: true,
        }
    }

    fn kicked(plan: &LoginPlan) -> Vec<&str> {
        let mut v: Vec<&str> = plan.kick.iter().map(|(_, t)| t.as_str()).collect();
        v.sort();
        v
    }

    #[test]
    fn claims_use_openim_names() {
        let c = new_claims("u1", 2, 90);
        let json = serde_json::to_value(&c).unwrap_or_default();
        assert_eq!(json["UserID"], "u1");
        assert_eq!(json["PlatformID"], 2);
        assert!(json.get("nbf").is_none());
        assert_eq!(json["exp"].as_i64(), Some(c.exp));
        assert!(c.exp - now_secs() > 89 * 86_400);
        assert_ne!(new_claims("u1", 2, 90).jti, c.jti);
    }

    #[test]
    fn sign_and_verify_round_trip_with_openim_codes() {
        let c = new_claims("u1", 5, 1);
        let token = sign("s3cret", &c).unwrap_or_default();
        assert_eq!(verify("s3cret", &token).ok(), Some(c.clone()));
        let code = |r: Result<JwtClaims, AppError>| r.err().map(|e| e.code());
        assert_eq!(code(verify("other", &token)), Some(ErrCode::TokenUnknown));
        assert_eq!(
            code(verify("s3cret", "not-a-jwt")),
            Some(ErrCode::TokenMalformed)
        );
        assert_eq!(
            code(verify("s3cret", "a.b.c")),
            Some(ErrCode::TokenMalformed)
        );
        let old = JwtClaims {
            exp: now_secs() - 10,
            ..c.clone()
        };
        assert_eq!(
            code(verify("s3cret", &sign("s3cret", &old).unwrap_or_default())),
            Some(ErrCode::TokenExpired)
        );
        let early = JwtClaims {
            nbf: Some(now_secs() + 3600),
            ..c
        };
        assert_eq!(
            code(verify(
                "s3cret",
                &sign("s3cret", &early).unwrap_or_default()
            )),
            Some(ErrCode::TokenNotValidYet)
        );
    }

    #[test]
    fn keys_have_the_openim_shape_with_a_user_hash_tag() {
        let keys = Keys::new("rill", 4);
        assert_eq!(
            table_key(&keys, "u1", Platform::Android),
            "rill:UID_PID_TOKEN_STATUS:{u1}:Android"
        );
        assert_eq!(
            temporary_key(&keys, "imAdmin", Platform::Admin, "tok"),
            "rill:UID_PID_TOKEN_STATUS::TEMPORARY:{imAdmin}:Admin:tok"
        );
        assert_eq!(all_platforms().len(), 11);
    }

    #[test]
    fn policy_1_kicks_the_same_platform_and_trims_others_to_one() {
        let existing = vec![
            t(Platform::Android, "a1", 1),
            t(Platform::Android, "a2", 2),
            t(Platform::Ios, "i1", 1),
            t(Platform::Ios, "i2", 3),
            t(Platform::Windows, "w1", 1),
            ExistingToken {
                state: state::KICKED,
                ..t(Platform::Web, "dead", 1)
            },
            ExistingToken {
                verified: false,
                ..t(Platform::Web, "expired", 1)
            },
        ];
        let plan = plan_login(1, 30, Platform::Android, &existing).unwrap_or_default();
        assert_eq!(kicked(&plan), vec!["a1", "a2", "i1"]);
        assert_eq!(plan.delete.len(), 2);
        assert!(plan.retire_admin.is_empty());
    }

    #[test]
    fn policy_0_keeps_max_num_one_end_kicking_the_oldest() {
        let existing = vec![
            t(Platform::Web, "w3", 3),
            t(Platform::Web, "w1", 1),
            t(Platform::Web, "w2", 2),
        ];
        let plan = plan_login(0, 2, Platform::Web, &existing).unwrap_or_default();
        assert_eq!(kicked(&plan), vec!["w1", "w2"]);
        let plan = plan_login(0, 2, Platform::Ios, &existing).unwrap_or_default();
        assert_eq!(kicked(&plan), vec!["w1"]);
        let plan = plan_login(0, 30, Platform::Web, &existing).unwrap_or_default();
        assert!(plan.kick.is_empty());
    }

    #[test]
    fn policy_4_kicks_the_same_class() {
        let existing = vec![
            t(Platform::Ios, "i1", 1),
            t(Platform::Windows, "w1", 1),
            t(Platform::Linux, "l1", 2),
            t(Platform::Osx, "o1", 1),
        ];
        // New Android login: iOS (same class Mobile) kicked; PC class keeps one platform's newest.
        let plan = plan_login(4, 30, Platform::Android, &existing).unwrap_or_default();
        assert_eq!(kicked(&plan), vec!["i1", "l1", "o1"]);
        let plan = plan_login(4, 30, Platform::Linux, &existing).unwrap_or_default();
        assert_eq!(kicked(&plan), vec!["l1", "o1", "w1"]);
    }

    #[test]
    fn policy_5_keeps_pcs_and_one_other_terminal() {
        let existing = vec![
            t(Platform::Ios, "i1", 5),
            t(Platform::Android, "a1", 1),
            t(Platform::Web, "web1", 3),
            t(Platform::Windows, "w1", 1),
            t(Platform::Osx, "o1", 1),
        ];
        // A non-PC login kicks every non-PC token.
        let plan = plan_login(5, 30, Platform::Web, &existing).unwrap_or_default();
        assert_eq!(kicked(&plan), vec!["a1", "i1", "web1"]);
        // A PC login keeps Android among the others.
        let plan = plan_login(5, 30, Platform::Linux, &existing).unwrap_or_default();
        assert_eq!(kicked(&plan), vec!["i1", "web1"]);
    }

    #[test]
    fn a_new_admin_token_retires_the_old_ones_and_unknown_policies_fail() {
        let existing = vec![t(Platform::Admin, "adm1", 1), t(Platform::Android, "a1", 1)];
        let plan = plan_login(1, 30, Platform::Admin, &existing).unwrap_or_default();
        assert_eq!(plan.retire_admin, vec!["adm1".to_string()]);
        assert!(plan.kick.is_empty());
        assert!(plan_login(7, 30, Platform::Admin, &existing).is_err());
    }
}
