//! Application settings with OpenIM 3.8's defaults (protocol.md §7).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AppConfig {
    /// `share.yml secret`: signs JWTs and unlocks get_admin_token.
    pub secret: String,
    /// `share.yml imAdminUser.userIDs`.
    pub admin_user_ids: Vec<String>,
    /// `tokenPolicy.expire`, in days.
    pub token_expire_days: i64,
    /// `multiLogin.policy`: 0, 1, 4 or 5.
    pub multi_login_policy: i32,
    /// `multiLogin.maxNumOneEnd`.
    pub max_num_one_end: usize,
    /// `openim-rpc-msg.yml friendVerify`.
    pub friend_verify: bool,
    /// Largest accepted message content, in bytes.
    pub max_content_bytes: usize,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            secret: "openIM123".into(),
            admin_user_ids: vec!["imAdmin".into()],
            token_expire_days: 90,
            multi_login_policy: 1,
            max_num_one_end: 30,
            friend_verify: false,
            max_content_bytes: 32 * 1024,
        }
    }
}

impl AppConfig {
    pub fn is_admin(&self, user_id: &str) -> bool {
        self.admin_user_ids.iter().any(|a| a == user_id)
    }
}
