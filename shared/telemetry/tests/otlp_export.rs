//! The global subscriber can be installed once per process, so this binary has one test.

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use rill_telemetry::{Format, TelemetryConfig, TelemetryError, init};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_grpc_and_init_runs_once() -> anyhow_free::Result {
    // A raw TCP listener stands in for the collector: an HTTP/2 preface proves the export.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let received = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
        let (mut sock, _) = listener.accept()?;
        sock.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut buf = vec![0u8; 64];
        let n = sock.read(&mut buf)?;
        buf.truncate(n);
        Ok(buf)
    });

    let guard = init(TelemetryConfig {
        otlp_endpoint: Some(endpoint),
        filter: Some("info".into()),
        ..TelemetryConfig::new("rill-telemetry-test", Format::Json)
    })?;
    assert!(guard.exporting());
    {
        let span = tracing::info_span!("exported");
        let _e = span.enter();
        let (tp, _) = rill_telemetry::current_trace_context();
        assert!(
            tp.starts_with("00-"),
            "the OTLP layer gives spans W3C ids: {tp:?}"
        );
        tracing::info!("inside a span");
    }
    // A second init in the same process is refused, not a panic.
    let again = init(TelemetryConfig::new("again", Format::Pretty));
    assert!(matches!(again, Err(TelemetryError::AlreadyInitialized(_))));

    // Flushing blocks until the export attempt ends; keep it off the async workers.
    tokio::task::spawn_blocking(move || drop(guard)).await?;
    let bytes = received
        .join()
        .map_err(|_| std::io::Error::other("listener thread panicked"))??;
    assert!(
        bytes.starts_with(b"PRI * HTTP/2.0"),
        "expected an HTTP/2 (gRPC) connection, got {:?}",
        String::from_utf8_lossy(&bytes)
    );
    Ok(())
}

mod anyhow_free {
    pub type Result = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;
}
