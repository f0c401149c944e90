//! Live monitoring: the progress line on stderr (indicatif), redrawn four
//! times a second from the counters every publisher and subscriber adds
//! to: messages sent and delivered, their rates, and the loss so far.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::Shared;
use super::report::group;

/// The live line on stderr: rate, elapsed, lost so far.
pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Redraw the line until [`Progress::finish`], if `enabled` (stderr is
    /// a terminal and not `--quiet`).
    pub(super) fn start(enabled: bool, shared: Arc<Shared>) -> Progress {
        if !enabled {
            return Progress {
                bar: None,
                task: None,
            };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        let shown = bar.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            let mut last = (0u64, 0u64, Instant::now());
            loop {
                tick.tick().await;
                let (sent, received) = (
                    shared.sent.load(Ordering::Relaxed),
                    shared.received.load(Ordering::Relaxed),
                );
                let secs = last.2.elapsed().as_secs_f64().max(1e-3);
                shown.set_message(format!(
                    "sent {} ({}/s) · delivered {} ({}/s) · lost so far {}",
                    group(sent),
                    group(((sent - last.0) as f64 / secs) as u64),
                    group(received),
                    group(((received - last.1) as f64 / secs) as u64),
                    group(shared.skipped.load(Ordering::Relaxed)),
                ));
                shown.tick();
                last = (sent, received, Instant::now());
            }
        });
        Progress {
            bar: Some(bar),
            task: Some(task),
        }
    }

    /// Stop redrawing and clear the line.
    pub(super) fn finish(self) {
        if let Some(task) = self.task {
            task.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
