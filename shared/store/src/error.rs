//! Errors of the store layer.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("mongodb: {0}")]
    Mongo(#[from] mongodb::error::Error),
    #[error("bson: {0}")]
    Bson(String),
    #[error("duplicate key")]
    DuplicateKey,
    /// A write error a command reported in its reply (commands sent with `run_command`, whose
    /// per-statement errors the driver does not turn into an `Err`).
    #[error("write error {code}: {message}")]
    Write { code: i32, message: String },
}

impl StoreError {
    /// True when the error is Mongo's E11000 duplicate key.
    pub fn is_duplicate_key(&self) -> bool {
        match self {
            StoreError::DuplicateKey => true,
            StoreError::Mongo(e) => is_duplicate_key(e),
            StoreError::Write { code, .. } => *code == DUPLICATE_KEY,
            StoreError::Bson(_) => false,
        }
    }
}

/// MongoDB's duplicate-key error code (E11000).
pub(crate) const DUPLICATE_KEY: i32 = 11000;

/// True when a driver error is (or only contains) E11000 duplicate-key write errors.
pub fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(ime) => {
            ime.write_concern_error.is_none()
                && ime
                    .write_errors
                    .as_ref()
                    .is_some_and(|ws| ws.iter().all(|w| w.code == DUPLICATE_KEY))
        }
        _ => false,
    }
}
