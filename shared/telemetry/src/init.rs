use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::{Layer, Layered};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Registry, fmt};

use crate::TelemetryError;

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// Human-readable, one line per event (development).
    #[default]
    Pretty,
    /// One JSON object per event with the current span's fields (production, log shippers).
    Json,
}

/// Everything [`init`] needs; the binary fills it from env or settings.
#[derive(Debug, Clone, Default)]
pub struct TelemetryConfig {
    /// `service.name` of exported spans, e.g. `rill-api` or `rill`.
    pub service_name: String,
    pub format: Format,
    /// OTLP/gRPC endpoint (e.g. `http://127.0.0.1:4317`); span export is off when `None` or empty.
    pub otlp_endpoint: Option<String>,
    /// `RUST_LOG`-style directives; `None` or empty means `info`.
    pub filter: Option<String>,
}

impl TelemetryConfig {
    pub fn new(service_name: impl Into<String>, format: Format) -> Self {
        Self {
            service_name: service_name.into(),
            format,
            ..Self::default()
        }
    }
}

/// Keeps span export alive; dropping it flushes pending spans and shuts the exporter down.
/// Hold it in `main` until the process ends.
#[must_use = "dropping the guard stops span export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// True when spans are exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            // Errors here can only be reported through tracing, which is what is shutting
            // down; the SDK's internal-logs feature already logs export failures.
            let _ = provider.force_flush();
            let _ = provider.shutdown();
        }
    }
}

type Base = Layered<EnvFilter, Registry>;
type BoxedLayer = Box<dyn Layer<Base> + Send + Sync>;

/// Installs the global subscriber: filter, log formatter and, with an endpoint, the OTLP layer.
/// Also installs the W3C trace-context propagator globally. With an endpoint it must be called
/// inside a tokio runtime (the gRPC channel is created there). Call once per process.
pub fn init(config: TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let filter = filter(config.filter.as_deref())?;
    let mut layers: Vec<BoxedLayer> = vec![match config.format {
        Format::Pretty => fmt::layer().with_target(true).boxed(),
        Format::Json => fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    }];
    let provider = match config.otlp_endpoint.as_deref().map(str::trim) {
        Some(endpoint) if !endpoint.is_empty() => {
            let provider = tracer_provider(&config.service_name, endpoint)?;
            let tracer = provider.tracer(config.service_name.clone());
            layers.push(tracing_opentelemetry::layer().with_tracer(tracer).boxed());
            Some(provider)
        }
        _ => None,
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(layers)
        .try_init()
        .map_err(|e| TelemetryError::AlreadyInitialized(e.to_string()))?;
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    if let Some(provider) = &provider {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    Ok(TelemetryGuard { provider })
}

pub(crate) fn filter(directives: Option<&str>) -> Result<EnvFilter, TelemetryError> {
    let directives = match directives.map(str::trim) {
        Some(d) if !d.is_empty() => d,
        _ => "info",
    };
    EnvFilter::try_new(directives).map_err(|e| TelemetryError::InvalidFilter {
        filter: directives.to_string(),
        reason: e.to_string(),
    })
}

fn tracer_provider(service: &str, endpoint: &str) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| TelemetryError::Exporter {
            endpoint: endpoint.to_string(),
            reason: e.to_string(),
        })?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_string())
                .build(),
        )
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_filter_is_info() -> Result<(), TelemetryError> {
        assert_eq!(filter(None)?.to_string(), "info");
        assert_eq!(filter(Some("  "))?.to_string(), "info");
        assert_eq!(filter(Some("rill=debug"))?.to_string(), "rill=debug");
        Ok(())
    }

    #[test]
    fn bad_filter_is_an_error_not_a_panic() {
        let err = init(TelemetryConfig {
            filter: Some("rill=notalevel".into()),
            ..TelemetryConfig::new("t", Format::Json)
        });
        assert!(matches!(err, Err(TelemetryError::InvalidFilter { .. })));
    }
}
