//! rill-push: the push projection. Consumer group `push` on every partition log; each stored
//! message is handed to the gateways holding its recipients' live connections (one
//! delivery-stream entry per gateway per message), which write the WS 2001 frames.
//!
//! At-least-once: a batch whose delivery failed is not acknowledged and comes back; clients
//! de-duplicate by seq and fill gaps by pulling. Within a partition the batch is processed in
//! log order, so a conversation's messages reach a gateway in seq order.
//!
//! Offline push (FCM/APNs/GeTui for recipients without a mobile connection) is not built yet;
//! [`handler::PushHandler`] is where it would hook in, with the delivery report telling who was
//! online.

pub mod handler;

pub use handler::PushHandler;
use tokio_util::sync::CancellationToken;

/// The consumer group this worker runs in.
pub const GROUP: &str = "push";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Log(#[from] rill_log::LogError),
}

/// Runs consumer `consumer` of group `push` over every partition until `shutdown`.
pub async fn run(
    app: rill_app::App,
    consumer: String,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let log = app.log().clone();
    let handler = PushHandler::new(app);
    rill_log::consumer::run_consumer(&log, GROUP, &consumer, handler, shutdown).await?;
    Ok(())
}
