//! Observability for every Rill process: the tracing subscriber (pretty or JSON logs, OTLP span
//! export when an endpoint is configured), the Prometheus recorder behind `/metrics`, and W3C
//! trace-context helpers so a trace continues through log entries into the workers.
//!
//! Library code never reads the environment: the binary builds a [`TelemetryConfig`] (from
//! `RUST_LOG`, `OTEL_EXPORTER_OTLP_ENDPOINT` or its settings) and calls [`init`] once.

mod context;
mod error;
mod init;
mod prometheus;

pub use context::{current_trace_context, set_parent_from, trace_id};
pub use error::TelemetryError;
pub use init::{Format, TelemetryConfig, TelemetryGuard, init};
pub use metrics_exporter_prometheus::PrometheusHandle;
pub use prometheus::metrics_handle;
