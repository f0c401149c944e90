//! Live monitoring: the progress line on stderr (indicatif), redrawn four
//! times a second from the counters every publisher and subscriber adds
//! to: the phase (connect, warm-up, measure, drain) and the time it has
//! left, the send and delivery rates, and the loss so far. It fits 80
//! columns, and is cut to the terminal's width where that is narrower.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Phase, Plan, Shared, Span};

/// The live line on stderr.
pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Redraw the line until [`Progress::finish`], if the plan asks for it
    /// (stderr is a terminal and not `--quiet`).
    pub(super) fn start(plan: &Plan, shared: Arc<Shared>) -> Progress {
        if !plan.progress {
            return Progress {
                bar: None,
                task: None,
            };
        }
        let connections = (plan.shard.part(plan.pubs).len()
            + plan.shard.part(plan.subs).len()
            + plan.shard.part(plan.connections).len()) as u64;
        let warmup_ns = plan.warmup.as_nanos() as u64;
        // How long the measured window lasts (None for a --count run).
        let measure_ns = match plan.span {
            Span::Duration(d) => Some(d.as_nanos() as u64),
            Span::Count(_) => None,
        };
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {wide_msg}")
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
                let rates = Rates {
                    sent: (sent - last.0) as f64 / secs,
                    delivered: (received - last.1) as f64 / secs,
                    lost: shared.skipped.load(Ordering::Relaxed),
                };
                let phase = match shared.phase.load(Ordering::Relaxed) {
                    p if p == Phase::Connect as u8 => Shown::Connect {
                        done: shared.connected.load(Ordering::Relaxed),
                        of: connections,
                    },
                    p if p == Phase::Drain as u8 => Shown::Drain,
                    _ => {
                        let now = shared.now_ns();
                        let go = shared.go_ns.load(Ordering::Relaxed);
                        let window = go.saturating_add(warmup_ns);
                        let left = |until: u64| Duration::from_nanos(until.saturating_sub(now));
                        if now < window {
                            Shown::Warmup(left(window))
                        } else {
                            Shown::Measure(measure_ns.map(|d| left(window.saturating_add(d))))
                        }
                    }
                };
                shown.set_message(line(phase, &rates));
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

/// The phase as the line shows it.
enum Shown {
    Connect {
        done: u64,
        of: u64,
    },
    Warmup(Duration),
    /// The time left (None for a --count run).
    Measure(Option<Duration>),
    Drain,
}

struct Rates {
    sent: f64,
    delivered: f64,
    lost: u64,
}

/// The line, 78 columns at the most (after the spinner and its space).
fn line(phase: Shown, r: &Rates) -> String {
    let left = |d: Duration| format!("{:.0}s left", d.as_secs_f64().ceil());
    let head = match phase {
        Shown::Connect { done, of } => {
            return format!(
                "connect {} of {} connections",
                short(done as f64),
                short(of as f64)
            );
        }
        Shown::Warmup(d) => format!("warm-up {}", left(d)),
        Shown::Measure(Some(d)) => format!("measure {}", left(d)),
        Shown::Measure(None) => "measure".to_string(),
        Shown::Drain => "drain: waiting for the rest".to_string(),
    };
    format!(
        "{head:<27} sent {:>6}/s  delivered {:>6}/s  lost {:>6}",
        short(r.sent),
        short(r.delivered),
        short(r.lost as f64)
    )
}

/// A number in at most 6 characters: 999, 12.3k, 1.23M, 123M, 1.23G.
fn short(n: f64) -> String {
    let n = n.max(0.0);
    let (v, unit) = match n {
        _ if n >= 1e9 => (n / 1e9, "G"),
        _ if n >= 1e6 => (n / 1e6, "M"),
        _ if n >= 1e3 => (n / 1e3, "k"),
        _ => return format!("{}", n.round() as u64),
    };
    match v {
        _ if v >= 100.0 => format!("{v:.0}{unit}"),
        _ if v >= 10.0 => format!("{v:.1}{unit}"),
        _ => format!("{v:.2}{unit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(short(999.0), "999");
        assert_eq!(short(12_345.0), "12.3k");
        assert_eq!(short(1_234_567.0), "1.23M");
        assert_eq!(short(999_999_999_999.0), "1000G");
    }

    /// Every phase's line fits 80 columns with the spinner, at the widest
    /// numbers.
    #[test]
    fn the_line_fits_80_columns() {
        let r = Rates {
            sent: 999_999_999.0,
            delivered: 999_999_999.0,
            lost: 999_999_999,
        };
        for phase in [
            Shown::Connect {
                done: 999_999,
                of: 999_999,
            },
            Shown::Warmup(Duration::from_secs(99_999)),
            Shown::Measure(Some(Duration::from_secs(99_999_999))),
            Shown::Measure(None),
            Shown::Drain,
        ] {
            let l = line(phase, &r);
            assert!(l.chars().count() + 2 <= 80, "{} columns: {l}", l.len() + 2);
        }
    }
}
