use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets (seconds) for every `*_seconds` histogram: sub-millisecond Redis appends up
/// to multi-second stalls.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide Prometheus recorder's handle; installs the recorder on first call (later
/// calls, e.g. from many tests, return the same handle). Serve `handle.render()` at `/metrics`.
///
/// If another recorder was installed first (not by us), metrics go there and this handle
/// renders an empty page rather than failing the service.
pub fn metrics_handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = match PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            {
                Ok(b) => b,
                // Only fails for an empty bucket list, which SECONDS_BUCKETS is not.
                Err(_) => PrometheusBuilder::new(),
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
            }
            handle
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_is_installed_once_and_renders_metrics() {
        let a = metrics_handle();
        let b = metrics_handle();
        metrics::counter!("rill_test_events_total", "kind" => "unit").increment(3);
        metrics::histogram!("rill_test_latency_seconds").record(0.002);
        metrics::gauge!("rill_test_lag").set(7.0);
        let page = b.render();
        assert!(
            page.contains("rill_test_events_total{kind=\"unit\"} 3"),
            "{page}"
        );
        assert!(page.contains("rill_test_latency_seconds_bucket"), "{page}");
        assert!(page.contains("rill_test_lag 7"), "{page}");
        assert_eq!(a.render(), b.render());
    }
}
