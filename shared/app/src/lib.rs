//! Commands and queries shared by every front door (REST API and WebSocket gateway): auth and
//! tokens, users, send, pull, seqs, read marks, conversations. Each module adds `impl App`
//! methods in its own file; the services call only these, never Redis or Mongo directly.

pub mod auth;
pub mod clear;
pub mod config;
pub mod conversations;
pub mod delete;
pub mod entities;
pub mod error;
pub mod friends;
pub mod groups;
pub mod membership;
pub mod notify;
pub mod projection;
pub mod pull;
pub mod read;
pub mod recv_opts;
pub mod revoke;
pub mod send;
pub mod send_checks;
pub mod seqs;
pub mod tokens;
pub mod users;

pub use config::AppConfig;
pub use error::AppError;

use std::sync::Arc;

/// Everything a command needs. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    config: AppConfig,
    log: rill_log::Log,
    store: rill_store::Store,
    /// The process tier of the group membership cache.
    membership: membership::Cache,
    /// The process tier of the facts a single-chat send checks.
    send_checks: send_checks::SendChecks,
}

impl App {
    pub fn new(config: AppConfig, log: rill_log::Log, store: rill_store::Store) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                log,
                store,
                membership: membership::Cache::new(),
                send_checks: send_checks::SendChecks::default(),
            }),
        }
    }

    pub fn config(&self) -> &AppConfig {
        &self.inner.config
    }

    pub fn log(&self) -> &rill_log::Log {
        &self.inner.log
    }

    pub fn store(&self) -> &rill_store::Store {
        &self.inner.store
    }

    pub(crate) fn send_checks(&self) -> &send_checks::SendChecks {
        &self.inner.send_checks
    }

    /// A clone of the shared multiplexed Redis connection (non-blocking commands only).
    pub fn redis(&self) -> redis::aio::ConnectionManager {
        self.inner.log.conn()
    }
}

/// Who is calling: the identity proven by the token, as every command sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub platform_id: i32,
    /// True when `user_id` is one of the configured IM admins.
    pub is_admin: bool,
}

impl Caller {
    /// OpenIM's "O" rule: the user named in the request must be the caller, unless an admin calls.
    pub fn check_self_or_admin(&self, user_id: &str) -> Result<(), AppError> {
        if self.is_admin || self.user_id == user_id {
            Ok(())
        } else {
            Err(AppError::no_permission(format!(
                "{} is not {user_id} and not an admin",
                self.user_id
            )))
        }
    }
}
