//! Tracing subscriber, OTLP export, Prometheus metrics. (Filled in by its owner.)
