//! rill-push: a projection worker. (Filled in by its owner.)

use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Log(#[from] rill_log::LogError),
}

/// Runs consumer `consumer` of this group over every partition until `shutdown`.
pub async fn run(app: rill_app::App, consumer: String, shutdown: CancellationToken) -> Result<(), Error> {
    let _ = (app, consumer, shutdown);
    unimplemented!("owner")
}
