//! rill-api: OpenIM's REST API (protocol.md §1) on axum.
//!
//! Conventions reproduced from OpenIM 3.8: POST + JSON everywhere; `operationID` header on every
//! POST; `token` header on every POST except the whitelist; always HTTP 200 with the envelope
//! `{errCode, errMsg, errDlt, data}`; unknown paths 404; any OPTIONS → 200 `"Options Request!"`;
//! CORS `*`; gzip when accepted. Handlers are thin: extract → one `App` command → envelope.
//!
//! Map: `envelope` (responses and the one error→envelope mapping), `extract` (extractors),
//! `middleware` (CORS, auth, metrics), `routes` (one router per OpenIM route group).

pub mod envelope;
pub mod extract;
pub mod middleware;
pub mod routes;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use rill_app::App;
use std::future::IntoFuture;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Settings of this service (defaults are OpenIM 3.8's).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct Config {
    /// Largest accepted request body, bytes (OpenIM's RPC limit, 8 MiB).
    pub max_body_bytes: usize,
    /// How long a graceful shutdown waits for in-flight requests before giving up, seconds.
    pub drain_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_body_bytes: 8 * 1024 * 1024,
            drain_timeout_secs: 10,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Handler state. Handlers usually take `State<App>` (via `FromRef`).
#[derive(Clone)]
pub struct ApiState {
    pub app: App,
}

impl FromRef<ApiState> for App {
    fn from_ref(state: &ApiState) -> App {
        state.app.clone()
    }
}

/// The whole HTTP surface, without a socket (tests drive it with `tower::ServiceExt::oneshot`).
pub fn router(app: App, config: &Config) -> Router {
    // Installs the process-wide recorder now (idempotent), so no request's metrics are lost.
    let metrics = rill_telemetry::metrics_handle();
    let state = ApiState { app };
    let openim = routes::router()
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::authenticate,
        ))
        .layer(DefaultBodyLimit::max(config.max_body_bytes));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(move || metrics_page(metrics.clone())))
        .merge(openim)
        .fallback(not_found)
        // Gin answers a wrong method with 404 too.
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::from_fn(middleware::metrics))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::from_fn(middleware::cors))
        .with_state(state)
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "404 page not found")
}

async fn metrics_page(handle: rill_telemetry::PrometheusHandle) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
}

/// Serves on `listener` until `shutdown` is cancelled, then drains in-flight requests for at
/// most `drain_timeout_secs`.
pub async fn run(
    app: App,
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    // OpenIM creates its admin users at start-up; do the same, but don't refuse to start when
    // Mongo is briefly down (get_admin_token creates them again on first use).
    if let Err(e) = app.ensure_admin_users().await {
        tracing::warn!(error = %e, "could not create the admin users yet");
    }
    let router = router(app, &config);
    tracing::info!(addr = ?listener.local_addr().ok(), "api listening");
    let drain = Duration::from_secs(config.drain_timeout_secs);
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .into_future();
    let deadline = async {
        shutdown.cancelled().await;
        tokio::time::sleep(drain).await;
    };
    tokio::select! {
        r = server => r?,
        () = deadline => tracing::warn!("api: drain deadline passed, dropping open requests"),
    }
    Ok(())
}
