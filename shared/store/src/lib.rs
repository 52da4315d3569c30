//! MongoDB: users, message history, conversation read models, version logs; and their indexes.
//! Each module owns one collection and its invariants.

pub mod conversations;
pub mod entities;
pub mod error;
pub mod friends;
pub mod groups;
pub mod messages;
pub mod query;
pub mod retry;
pub mod users;
pub mod versions;

pub use error::StoreError;

/// Cheap to clone; wraps the database handle.
#[derive(Clone, Debug)]
pub struct Store {
    db: mongodb::Database,
}

impl Store {
    /// Connects lazily (the driver connects on first use), so a front door can start while Mongo
    /// is down; only the calls that need Mongo fail.
    pub async fn connect(uri: &str, database: &str) -> Result<Self, StoreError> {
        let options = mongodb::options::ClientOptions::parse(uri).await?;
        let client = mongodb::Client::with_options(options)?;
        Ok(Self {
            db: client.database(database),
        })
    }

    pub fn from_database(db: mongodb::Database) -> Self {
        Self { db }
    }

    pub fn database(&self) -> &mongodb::Database {
        &self.db
    }

    /// Creates every index the store relies on (idempotent; run at start-up).
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        users::ensure_indexes(&self.db).await?;
        messages::ensure_indexes(&self.db).await?;
        conversations::ensure_indexes(&self.db).await?;
        entities::ensure_indexes(&self.db).await?;
        Ok(())
    }
}
