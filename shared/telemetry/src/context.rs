//! W3C trace context (`traceparent` / `tracestate`) carried in log entries, so a worker's span
//! continues the trace of the request that appended the entry.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// `(traceparent, tracestate)` of the current span; both empty when there is no sampled
/// OpenTelemetry trace (no OTLP layer installed, or outside any span).
pub fn current_trace_context() -> (String, String) {
    let cx = Span::current().context();
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    (
        carrier.remove(TRACEPARENT).unwrap_or_default(),
        carrier.remove(TRACESTATE).unwrap_or_default(),
    )
}

/// Makes `span` a child of the remote span described by `traceparent` / `tracestate`. Returns
/// false (and changes nothing) when the header is empty or malformed, or when the span cannot
/// take a parent (no OpenTelemetry layer, or the span is disabled). Call before entering `span`.
pub fn set_parent_from(traceparent: &str, tracestate: &str, span: &Span) -> bool {
    if traceparent.is_empty() {
        return false;
    }
    let mut carrier: HashMap<String, String> = HashMap::new();
    carrier.insert(TRACEPARENT.into(), traceparent.into());
    if !tracestate.is_empty() {
        carrier.insert(TRACESTATE.into(), tracestate.into());
    }
    let cx = TraceContextPropagator::new().extract(&carrier);
    if !cx.span().span_context().is_valid() {
        return false;
    }
    span.set_parent(cx).is_ok()
}

/// The 32-hex-digit trace id of the current span, if it belongs to an OpenTelemetry trace
/// (handy for log lines and error responses).
pub fn trace_id() -> Option<String> {
    let cx = Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::prelude::*;

    /// A local (not global) subscriber with an OpenTelemetry layer and no exporter: spans get
    /// real trace and span ids.
    fn with_otel<T>(f: impl FnOnce() -> T) -> T {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, f)
    }

    #[test]
    fn no_layer_means_empty_context() {
        let span = tracing::info_span!("plain");
        let _e = span.enter();
        assert_eq!(current_trace_context(), (String::new(), String::new()));
        assert_eq!(trace_id(), None);
    }

    #[test]
    fn current_context_is_a_w3c_traceparent() {
        with_otel(|| {
            let span = tracing::info_span!("send");
            let _e = span.enter();
            let (tp, _ts) = current_trace_context();
            let parts: Vec<&str> = tp.split('-').collect();
            assert_eq!(parts.len(), 4, "{tp}");
            assert_eq!(parts[0], "00");
            assert_eq!(parts[1].len(), 32);
            assert_eq!(parts[2].len(), 16);
            assert_eq!(parts[3], "01", "sampled");
            assert_eq!(trace_id().as_deref(), Some(parts[1]));
        });
    }

    #[test]
    fn a_worker_span_continues_the_carried_trace() {
        with_otel(|| {
            let (tp, ts) = {
                let front = tracing::info_span!("front_door");
                let _e = front.enter();
                current_trace_context()
            };
            let worker = tracing::info_span!("worker");
            assert!(set_parent_from(&tp, &ts, &worker));
            let _e = worker.enter();
            let (child_tp, _) = current_trace_context();
            let trace = |s: &str| s.split('-').nth(1).map(str::to_string);
            let span_id = |s: &str| s.split('-').nth(2).map(str::to_string);
            assert_eq!(trace(&child_tp), trace(&tp), "same trace");
            assert_ne!(span_id(&child_tp), span_id(&tp), "a new span in it");
        });
    }

    #[test]
    fn tracestate_round_trips() {
        with_otel(|| {
            let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
            let worker = tracing::info_span!("worker");
            assert!(set_parent_from(tp, "rill=1,other=x", &worker));
            let _e = worker.enter();
            let (child_tp, child_ts) = current_trace_context();
            assert!(child_tp.contains("4bf92f3577b34da6a3ce929d0e0e4736"));
            assert_eq!(child_ts, "rill=1,other=x");
        });
    }

    #[test]
    fn bad_or_empty_headers_are_ignored() {
        with_otel(|| {
            let span = tracing::info_span!("worker");
            assert!(!set_parent_from("", "", &span));
            assert!(!set_parent_from("garbage", "", &span));
            assert!(!set_parent_from(
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                "",
                &span
            ));
        });
    }
}
