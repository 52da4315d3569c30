//! Latency histograms (microseconds, hdrhistogram) shared by the tasks of a scenario, and their
//! printable summary.

use hdrhistogram::Histogram;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The process-wide time origin: stamps carried in message ids are nanoseconds since it, so a
/// receiver in this process computes latency without any shared map.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds from [`epoch`] to `t`.
pub fn stamp(t: Instant) -> u64 {
    t.saturating_duration_since(epoch()).as_nanos() as u64
}

/// Time from a stamp to now.
pub fn since_stamp(stamp: u64) -> Duration {
    epoch()
        .elapsed()
        .saturating_sub(Duration::from_nanos(stamp))
}

/// A shared histogram of durations (recorded in microseconds).
#[derive(Clone)]
pub struct Hist(Arc<Mutex<Option<Histogram<u64>>>>);

impl Default for Hist {
    fn default() -> Self {
        // 3 significant digits, auto-resizing: values are microseconds up to minutes. (`new`
        // fails only for more than 5 digits, so the `None` branch is dead.)
        Self(Arc::new(Mutex::new(Histogram::new(3).ok())))
    }
}

impl Hist {
    pub fn record(&self, d: Duration) {
        let us = (d.as_micros() as u64).max(1);
        if let Ok(mut guard) = self.0.lock()
            && let Some(h) = guard.as_mut()
        {
            let _ = h.record(us);
        }
    }

    pub fn summary(&self) -> Summary {
        let Ok(guard) = self.0.lock() else {
            return Summary::default();
        };
        let Some(h) = guard.as_ref() else {
            return Summary::default();
        };
        if h.is_empty() {
            return Summary::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Summary {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count == 0 {
            return f.write_str("no samples");
        }
        write!(
            f,
            "p50 {} p90 {} p99 {} max {} ms (n={})",
            fmt_ms(self.p50_ms),
            fmt_ms(self.p90_ms),
            fmt_ms(self.p99_ms),
            fmt_ms(self.max_ms),
            self.count
        )
    }
}

pub fn fmt_ms(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}

/// `n` per second over `d`.
pub fn per_sec(n: u64, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n as f64 / d.as_secs_f64()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_recorded_values() {
        let h = Hist::default();
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.summary();
        assert_eq!(s.count, 100);
        assert!((s.p50_ms - 50.0).abs() < 0.1, "{s:?}");
        assert!((s.p99_ms - 99.0).abs() < 0.1, "{s:?}");
        assert!((s.max_ms - 100.0).abs() < 0.1, "{s:?}");
    }

    #[test]
    fn stamps_measure_elapsed_time() {
        let s = stamp(Instant::now());
        std::thread::sleep(Duration::from_millis(5));
        assert!(since_stamp(s) >= Duration::from_millis(5));
    }
}
