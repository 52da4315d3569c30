//! The application error: every failure a command can report, each mapped to one OpenIM code.

use rill_core::ErrCode;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A failure the client caused or must see, with OpenIM's code and a detail (`errDlt`).
    #[error("{code}: {detail}")]
    Coded { code: ErrCode, detail: String },
    #[error(transparent)]
    Log(#[from] rill_log::LogError),
    #[error(transparent)]
    Store(#[from] rill_store::StoreError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

impl AppError {
    pub fn coded(code: ErrCode, detail: impl Into<String>) -> Self {
        AppError::Coded {
            code,
            detail: detail.into(),
        }
    }

    pub fn args(detail: impl Into<String>) -> Self {
        Self::coded(ErrCode::Args, detail)
    }

    pub fn no_permission(detail: impl Into<String>) -> Self {
        Self::coded(ErrCode::NoPermission, detail)
    }

    /// The OpenIM code this error is reported with.
    pub fn code(&self) -> ErrCode {
        match self {
            AppError::Coded { code, .. } => *code,
            AppError::Store(e) if e.is_duplicate_key() => ErrCode::DuplicateKey,
            AppError::Store(_) => ErrCode::Database,
            AppError::Log(_) | AppError::Redis(_) => ErrCode::ServerInternal,
        }
    }

    /// The `errDlt` text.
    pub fn detail(&self) -> String {
        match self {
            AppError::Coded { detail, .. } => detail.clone(),
            other => other.to_string(),
        }
    }
}
