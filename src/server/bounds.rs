//! What the broker's limits did: counters for `/_/stats` (each refusal
//! and eviction by kind, the subscribers dropped as too slow and what they
//! cost publishers) and a throttle for the log lines about them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::broker::{Broker, lock};
use super::queue::Queues;

/// Refusals and evictions so far, by kind.
#[derive(Default)]
pub struct Counters {
    /// Bytes kept by all topics' histories and work queues (what
    /// `history_total` bounds).
    pub kept: AtomicUsize,
    /// Kept messages evicted by the `history` count.
    pub evicted_history: AtomicU64,
    /// … by `history_bytes` (a message too big to keep counts too).
    pub evicted_history_bytes: AtomicU64,
    /// … by `history_total`.
    pub evicted_history_total: AtomicU64,
    /// … by `retain_for`.
    pub expired: AtomicU64,
    /// STOMP frames refused because the connection's open transactions
    /// held `transaction_bytes` already.
    pub refused_transactions: AtomicU64,
    /// STOMP SENDs refused because the work queue was full.
    pub refused_queue_full: AtomicU64,
    /// Messages published on topics, and their bodies' bytes.
    pub published: AtomicU64,
    pub published_bytes: AtomicU64,
    /// Messages queued to topic subscribers (one per subscriber).
    pub fanned_out: AtomicU64,
    /// Subscribers dropped because their queue was full and they took
    /// nothing from it for `slow_timeout`.
    pub slow_dropped: AtomicU64,
    /// Microseconds publishes spent waiting for room in full subscriber
    /// queues, all together.
    pub slow_waited_us: AtomicU64,
    throttle: Throttle,
}

/// Messages through the topics, for `/_/stats` and `/_/metrics`.
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Messages {
    pub published: u64,
    pub published_bytes: u64,
    pub fanned_out: u64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Whether a refusal may be logged now (one line a second at most,
    /// since a client can make thousands); Some(n) with the number of
    /// refusals not logged since the last line.
    pub fn may_log(&self) -> Option<u64> {
        self.throttle.admit(Instant::now())
    }
}

/// Lets one event through per [`Throttle::EVERY`], counting the rest.
#[derive(Default)]
struct Throttle {
    /// When the last line went out, and the events held back since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttle {
    const EVERY: Duration = Duration::from_secs(1);

    fn admit(&self, now: Instant) -> Option<u64> {
        let mut state = lock(&self.state);
        let (last, held) = &mut *state;
        if last.is_some_and(|t| now.duration_since(t) < Self::EVERY) {
            *held += 1;
            return None;
        }
        *last = Some(now);
        Some(std::mem::take(held))
    }
}

/// The `/_/stats` view of the limits.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct BoundsStats {
    pub messages: Messages,
    pub refused: Refused,
    pub evicted: Evicted,
    pub removed: Removed,
    /// Bytes kept by all topics' histories and work queues.
    pub kept_bytes: usize,
    pub slow_subscribers: SlowSubscribers,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Refused {
    /// Publishes and subscribes that would have created a topic past `max_topics`.
    pub topics: u64,
    /// STOMP frames on a queue that would have been created past `max_topics`.
    pub queues: u64,
    pub queue_full: u64,
    pub transactions: u64,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Evicted {
    pub history: u64,
    pub history_bytes: u64,
    pub history_total: u64,
    pub expired: u64,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Removed {
    /// Idle topics removed.
    pub topics: u64,
    /// Empty work queues without consumers removed.
    pub queues: u64,
}

/// The slow-subscriber policy's numbers (see `broker`'s module docs).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SlowSubscribers {
    /// Subscribers dropped as stalled.
    pub dropped: u64,
    /// Milliseconds publishes waited for room in full queues, all together.
    pub waited_ms: u64,
}

/// The limits' numbers of a broker, for `/_/stats`.
pub fn stats(broker: &Broker, queues: &Queues) -> BoundsStats {
    let counters = broker.counters();
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let (topics_refused, topics_removed) = broker.topics_refused_and_removed();
    let (queues_refused, queues_removed) = queues.refused_and_removed();
    BoundsStats {
        messages: Messages {
            published: get(&counters.published),
            published_bytes: get(&counters.published_bytes),
            fanned_out: get(&counters.fanned_out),
        },
        refused: Refused {
            topics: topics_refused,
            queues: queues_refused,
            queue_full: get(&counters.refused_queue_full),
            transactions: get(&counters.refused_transactions),
        },
        evicted: counters.evicted(),
        removed: Removed {
            topics: topics_removed,
            queues: queues_removed,
        },
        kept_bytes: counters.kept.load(Ordering::Relaxed),
        slow_subscribers: SlowSubscribers {
            dropped: get(&counters.slow_dropped),
            waited_ms: get(&counters.slow_waited_us) / 1000,
        },
    }
}

impl Counters {
    pub fn evicted(&self) -> Evicted {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Evicted {
            history: get(&self.evicted_history),
            history_bytes: get(&self.evicted_history_bytes),
            history_total: get(&self.evicted_history_total),
            expired: get(&self.expired),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_lets_one_line_a_second_through_and_counts_the_rest() {
        let t = Throttle::default();
        let start = Instant::now();
        assert_eq!(t.admit(start), Some(0));
        assert_eq!(t.admit(start + Duration::from_millis(10)), None);
        assert_eq!(t.admit(start + Duration::from_millis(999)), None);
        assert_eq!(t.admit(start + Duration::from_secs(1)), Some(2));
        assert_eq!(t.admit(start + Duration::from_millis(1500)), None);
        assert_eq!(t.admit(start + Duration::from_secs(3)), Some(1));
    }
}
