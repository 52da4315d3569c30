//! The live progress line (indicatif, on stderr; invisible when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;
use tokio::task::JoinHandle;

pub struct Progress {
    bar: ProgressBar,
    ticker: JoinHandle<()>,
}

impl Progress {
    /// A spinner line `label [elapsed] <status()>`, refreshed four times a second.
    pub fn start(label: &str, status: impl Fn() -> String + Send + 'static) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {msg}") {
            bar.set_style(style);
        }
        bar.set_prefix(label.to_string());
        bar.set_message(status());
        let b = bar.clone();
        let ticker = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(250));
            loop {
                every.tick().await;
                b.set_message(status());
                b.tick();
            }
        });
        Progress { bar, ticker }
    }

    /// Stops refreshing and leaves the last line on screen.
    pub fn finish(self) {
        self.ticker.abort();
        self.bar.finish();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.ticker.abort();
    }
}
