//! The `messages` collection. (Filled in by its owner.)

use crate::StoreError;

pub async fn ensure_indexes(db: &mongodb::Database) -> Result<(), StoreError> {
    let _ = db;
    Ok(())
}
