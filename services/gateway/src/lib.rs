//! rill-gateway. (Filled in by its owner.)

use tokio_util::sync::CancellationToken;

/// Settings of this service (defaults are OpenIM 3.8's).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct Config {}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves on `listener` until `shutdown` is cancelled, then drains within the deadline.
pub async fn run(
    app: rill_app::App,
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let _ = (app, config, listener, shutdown);
    unimplemented!("owner")
}
