//! The one reconnect policy. Transports never retry by themselves: a
//! session ends when its connection does, and whoever follows a stream
//! across connections (`tail`) asks this policy whether and when to try
//! again. So `--max-retries`, the backoff and what counts as final mean the
//! same on every transport.

use std::time::Duration;

use crate::error::{Error, Kind};

/// Exponential backoff with full jitter: after the n-th failure in a row
/// the wait is a random time between `min` and `min * 2^n` (capped at
/// `max`), so clients cut off together do not come back together, and no
/// wait is shorter than `min`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
    /// Retries allowed after the first failure, in a row (None: no end).
    pub max_retries: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            min: Duration::from_millis(500),
            max: Duration::from_secs(30),
            max_retries: None,
        }
    }
}

impl Backoff {
    /// The wait after `failures` failures in a row (1-based), or None when
    /// the retries are used up.
    pub fn delay(&self, failures: u32) -> Option<Duration> {
        if self.max_retries.is_some_and(|m| failures > m) {
            return None;
        }
        let max = self.max.max(self.min);
        let ceiling = self
            .min
            .saturating_mul(1u32 << failures.min(20))
            .clamp(self.min, max);
        let spread = (ceiling - self.min).as_secs_f64() * random_unit();
        Some(self.min + Duration::from_secs_f64(spread))
    }
}

/// A number in [0, 1) from the operating system's random source: the point
/// of jitter is that two clients do not draw the same one.
fn random_unit() -> f64 {
    (crate::random::u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Consecutive failures, counted across sessions and transports alike.
#[derive(Debug)]
pub struct Retry {
    backoff: Backoff,
    failures: u32,
}

impl Retry {
    pub fn new(backoff: Backoff) -> Retry {
        Retry {
            backoff,
            failures: 0,
        }
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A session delivered something: the next failure is a first one again.
    /// Connecting alone does not count: a server that accepts and then
    /// drops every connection at once is failing, not recovering.
    pub fn progressed(&mut self) {
        self.failures = 0;
    }

    /// After `e` ended an attempt: how long to wait before the next one,
    /// or None when `e` is final (not transient) or the retries are used
    /// up; then [`Retry::final_error`] says so. `hint` is the server's own
    /// wish (SSE `retry:`), honoured within the backoff's bounds for the
    /// first retry.
    pub fn next_wait(&mut self, e: &Error, hint: Option<Duration>) -> Option<Duration> {
        if !e.transient {
            return None;
        }
        self.failures += 1;
        let delay = self.backoff.delay(self.failures)?;
        Some(match hint {
            Some(hint) if self.failures == 1 => {
                hint.clamp(self.backoff.min, self.backoff.max.max(self.backoff.min))
            }
            _ => delay,
        })
    }

    /// The error to end with once [`Retry::next_wait`] said no more.
    pub fn final_error(&self, e: Error) -> Error {
        if !e.transient {
            return e;
        }
        Error {
            message: format!(
                "{} (gave up after {} attempts in a row)",
                e.message, self.failures
            ),
            ..e
        }
    }
}

/// The error a clean end of a stream is, for the policy: a lost
/// connection, worth resuming.
pub fn ended(reason: &str) -> Error {
    Error::new(
        Kind::Connect,
        format!("the server closed the stream ({reason})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_never_below_min_and_stops_at_max_retries() {
        let b = Backoff {
            min: Duration::from_millis(100),
            max: Duration::from_secs(1),
            max_retries: Some(5),
        };
        let mut seen = std::collections::HashSet::new();
        for failures in 1..=6u32 {
            let ceiling = Duration::from_millis(100 << failures).min(Duration::from_secs(1));
            for _ in 0..50 {
                let d = b.delay(failures).unwrap();
                assert!(d >= b.min && d <= ceiling, "failure {failures}: {d:?}");
                seen.insert(d);
            }
            if failures == 5 {
                break;
            }
        }
        // Real jitter: 250 draws are not a handful of values.
        assert!(seen.len() > 200, "{} distinct waits", seen.len());
        assert_eq!(b.delay(6), None);
        assert!(Backoff::default().delay(1000).unwrap() <= Duration::from_secs(30));
    }

    #[test]
    fn the_policy_counts_failures_in_a_row_and_never_retries_a_final_answer() {
        let mut retry = Retry::new(Backoff {
            min: Duration::from_millis(10),
            max: Duration::from_millis(50),
            max_retries: Some(2),
        });
        let down = Error::connect("down");
        assert!(retry.next_wait(&down, None).is_some());
        assert!(
            retry
                .next_wait(&Error::http_status(503, "busy"), None)
                .is_some()
        );
        assert_eq!(retry.next_wait(&down, None), None);
        let gave_up = retry.final_error(down);
        assert_eq!(gave_up.kind, Kind::Connect);
        assert!(gave_up.message.contains("gave up after 3"), "{gave_up}");

        let mut retry = Retry::new(Backoff {
            max_retries: Some(1),
            ..Backoff::default()
        });
        let refused = Error::http_status(404, "no");
        assert_eq!(retry.next_wait(&refused, None), None);
        let refused = retry.final_error(refused);
        assert_eq!(
            (refused.kind, refused.message.as_str()),
            (Kind::Server, "no")
        );
        assert_eq!(retry.failures(), 0);
        let down = Error::connect("down");
        assert!(retry.next_wait(&down, None).is_some());
        retry.progressed();
        assert!(retry.next_wait(&down, None).is_some());
        assert_eq!(retry.next_wait(&down, None), None);

        // The server's `retry:` is honoured within the bounds.
        let mut retry = Retry::new(Backoff::default());
        let hint = Some(Duration::from_secs(3600 * 24 * 365));
        assert_eq!(
            retry.next_wait(&ended("eof"), hint),
            Some(Duration::from_secs(30))
        );
    }
}
