/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter directive (RUST_LOG syntax) does not parse.
    #[error("invalid log filter {filter:?}: {reason}")]
    InvalidFilter { filter: String, reason: String },
    /// The OTLP exporter could not be built (bad endpoint, or no tokio runtime).
    #[error("OTLP exporter for {endpoint:?}: {reason}")]
    Exporter { endpoint: String, reason: String },
    /// A global tracing subscriber is already installed in this process.
    #[error("a global tracing subscriber is already installed: {0}")]
    AlreadyInitialized(String),
}
