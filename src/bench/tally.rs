//! What each subscriber saw, checked message by message: every sequence
//! number of every publisher is marked in a bit set, so loss, duplicates
//! and reordering are counted exactly, and latencies go into an HDR
//! histogram. Tallies are merged once the run is over.

use hdrhistogram::Histogram;
use serde::Serialize;

use super::payload::{Header, Kind};

/// One subscriber's view of one publisher's stream.
#[derive(Clone, Debug, Default)]
pub struct Stream {
    seen: Vec<u64>,
    /// Distinct sequence numbers received.
    pub unique: u64,
    /// Receptions of a sequence number already received.
    pub duplicated: u64,
    /// First receptions that came after a higher sequence number.
    pub reordered: u64,
    /// The highest sequence number so far, plus one (0: none yet).
    next: u64,
    /// Sequence numbers skipped over so far (some may still come,
    /// reordered): a live estimate of loss.
    pub skipped: u64,
}

/// How far past the highest sequence number seen a message may claim to
/// be: a real publisher's arrive about in order, and a message claiming
/// 2^48 (a hostile or broken server's) would grow the bit set to terabytes.
/// Such a message is counted foreign, so it can only add to the loss.
const MAX_JUMP: u64 = 1 << 20;

impl Stream {
    /// False when `seq` is too far ahead to be believed (see [`MAX_JUMP`]).
    fn note(&mut self, seq: u64) -> bool {
        if seq > self.next.saturating_add(MAX_JUMP) {
            return false;
        }
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.seen.len() {
            self.seen.resize((word + 1).next_power_of_two(), 0);
        }
        if self.seen[word] & (1 << bit) != 0 {
            self.duplicated += 1;
            return true;
        }
        self.seen[word] |= 1 << bit;
        self.unique += 1;
        if seq + 1 < self.next {
            self.reordered += 1;
            self.skipped = self.skipped.saturating_sub(1);
        } else {
            self.skipped += seq - self.next.min(seq);
            self.next = seq + 1;
        }
        true
    }

    /// How many distinct sequence numbers were seen.
    fn seen_count(&self) -> u64 {
        self.seen.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    fn merge_seen(&mut self, other: &Stream) {
        if other.seen.len() > self.seen.len() {
            self.seen.resize(other.seen.len(), 0);
        }
        for (a, b) in self.seen.iter_mut().zip(&other.seen) {
            *a |= b;
        }
    }
}

/// Everything one subscriber saw.
#[derive(Clone, Debug)]
pub struct Tally {
    /// Indexed by publisher id.
    pub streams: Vec<Stream>,
    /// Bench messages received (not probes), duplicates included.
    pub received: u64,
    /// Of those, the ones due inside the measured window.
    pub measured: u64,
    pub measured_bytes: u64,
    /// When the last measured message arrived, in ns since the run began.
    pub last_measured_ns: u64,
    /// Latency from the due time, in ns, of the measured messages.
    pub latency_ns: Histogram<u64>,
    /// Probes received before the run.
    pub probes: u64,
    /// Messages that were not bench payloads (other traffic on the topic).
    pub foreign: u64,
}

impl Tally {
    pub fn new(publishers: usize) -> Tally {
        Tally {
            streams: vec![Stream::default(); publishers],
            received: 0,
            measured: 0,
            measured_bytes: 0,
            last_measured_ns: 0,
            latency_ns: new_histogram(),
            probes: 0,
            foreign: 0,
        }
    }

    /// Account one received body. `now_ns` is when it arrived; messages due
    /// at or after `window_ns` are measured.
    pub fn note(&mut self, header: Option<Header>, len: usize, now_ns: u64, window_ns: u64) {
        let Some(h) = header else {
            self.foreign += 1;
            return;
        };
        if h.kind == Kind::Probe {
            self.probes += 1;
            return;
        }
        let Some(stream) = self.streams.get_mut(usize::from(h.publisher)) else {
            self.foreign += 1;
            return;
        };
        if !stream.note(h.seq) {
            self.foreign += 1;
            return;
        }
        self.received += 1;
        if h.due_ns >= window_ns {
            self.measured += 1;
            self.measured_bytes += len as u64;
            self.last_measured_ns = self.last_measured_ns.max(now_ns);
            // A latency past the histogram's range is clamped, not lost.
            self.latency_ns
                .saturating_record(now_ns.saturating_sub(h.due_ns).max(1));
        }
    }

    /// Distinct messages received, over all publishers.
    pub fn unique(&self) -> u64 {
        self.streams.iter().map(|s| s.unique).sum()
    }

    /// The live estimate of loss: sequence numbers skipped and not yet seen.
    pub fn skipped(&self) -> u64 {
        self.streams.iter().map(|s| s.skipped).sum()
    }
}

/// Nanoseconds from 1 to an hour, three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

/// How subscribers share the messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Every subscriber gets every message (a topic).
    FanOut,
    /// Each message goes to one of the subscribers (a queue).
    Queue,
}

/// The run's delivery accounting, as the report shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    pub sent: u64,
    pub received: u64,
    pub expected: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
}

/// Count deliveries against what each publisher says it sent.
pub fn count(sent_per_publisher: &[u64], tallies: &[Tally], delivery: Delivery) -> Counts {
    let sent: u64 = sent_per_publisher.iter().sum();
    let received = tallies.iter().map(|t| t.received).sum();
    let duplicated_within: u64 = tallies
        .iter()
        .flat_map(|t| &t.streams)
        .map(|s| s.duplicated)
        .sum();
    let reordered = tallies
        .iter()
        .flat_map(|t| &t.streams)
        .map(|s| s.reordered)
        .sum();
    match delivery {
        Delivery::FanOut => {
            let expected = sent * tallies.len() as u64;
            let unique: u64 = tallies.iter().map(Tally::unique).sum();
            Counts {
                sent,
                received,
                expected,
                lost: expected.saturating_sub(unique),
                duplicated: duplicated_within,
                reordered,
            }
        }
        Delivery::Queue => {
            let mut union = 0;
            let mut unique_sum = 0;
            for (p, _) in sent_per_publisher.iter().enumerate() {
                let mut all = Stream::default();
                for t in tallies {
                    if let Some(s) = t.streams.get(p) {
                        unique_sum += s.unique;
                        all.merge_seen(s);
                    }
                }
                union += all.seen_count();
            }
            Counts {
                sent,
                received,
                expected: sent,
                lost: sent.saturating_sub(union),
                // Received by two consumers counts as duplicated too.
                duplicated: duplicated_within + (unique_sum - union),
                reordered,
            }
        }
    }
}

/// [`count`] for each publisher's stream alone (what shards of one run
/// have to add up).
pub fn count_each(
    sent_per_publisher: &[u64],
    tallies: &[Tally],
    delivery: Delivery,
) -> Vec<Counts> {
    sent_per_publisher
        .iter()
        .enumerate()
        .map(|(p, &sent)| {
            let streams: Vec<&Stream> = tallies.iter().filter_map(|t| t.streams.get(p)).collect();
            let unique: u64 = streams.iter().map(|s| s.unique).sum();
            let duplicated: u64 = streams.iter().map(|s| s.duplicated).sum();
            let reordered = streams.iter().map(|s| s.reordered).sum();
            let received = unique + duplicated;
            match delivery {
                Delivery::FanOut => {
                    let expected = sent * tallies.len() as u64;
                    Counts {
                        sent,
                        received,
                        expected,
                        lost: expected.saturating_sub(unique),
                        duplicated,
                        reordered,
                    }
                }
                Delivery::Queue => {
                    let mut all = Stream::default();
                    for s in &streams {
                        all.merge_seen(s);
                    }
                    let union = all.seen_count();
                    Counts {
                        sent,
                        received,
                        expected: sent,
                        lost: sent.saturating_sub(union),
                        duplicated: duplicated + (unique - union),
                        reordered,
                    }
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(publisher: u16, seq: u64) -> Option<Header> {
        Some(Header {
            kind: Kind::Message,
            publisher,
            seq,
            due_ns: 10,
        })
    }

    /// The per-publisher counts added up.
    fn sum(each: &[Counts]) -> Counts {
        each.iter().fold(Counts::default(), |a, c| Counts {
            sent: a.sent + c.sent,
            received: a.received + c.received,
            expected: a.expected + c.expected,
            lost: a.lost + c.lost,
            duplicated: a.duplicated + c.duplicated,
            reordered: a.reordered + c.reordered,
        })
    }

    #[test]
    fn loss_duplicates_and_reordering_are_exact() {
        let mut t = Tally::new(1);
        for seq in [0, 1, 3, 2, 2, 5, 6] {
            t.note(msg(0, seq), 40, 20, 0);
        }
        let s = &t.streams[0];
        assert_eq!((s.unique, s.duplicated, s.reordered), (6, 1, 1));
        assert_eq!(s.skipped, 1, "4 is still missing");
        let c = count(&[7], &[t], Delivery::FanOut);
        assert_eq!(
            c,
            Counts {
                sent: 7,
                received: 7,
                expected: 7,
                lost: 1,
                duplicated: 1,
                reordered: 1
            }
        );
    }

    #[test]
    fn a_sequence_number_far_ahead_is_foreign_and_costs_no_memory() {
        let mut t = Tally::new(1);
        t.note(msg(0, 0), 40, 20, 0);
        t.note(msg(0, 1 << 48), 40, 20, 0);
        t.note(msg(0, 1), 40, 20, 0);
        assert_eq!((t.foreign, t.received, t.streams[0].unique), (1, 2, 2));
        assert!(t.streams[0].seen.len() <= 64, "{}", t.streams[0].seen.len());
    }

    #[test]
    fn fan_out_expects_every_message_at_every_subscriber() {
        let mut a = Tally::new(2);
        let mut b = Tally::new(2);
        for seq in 0..100 {
            a.note(msg(0, seq), 40, 20, 0);
            a.note(msg(1, seq), 40, 20, 0);
            if seq != 50 {
                b.note(msg(0, seq), 40, 20, 0);
            }
            b.note(msg(1, seq), 40, 20, 0);
        }
        let tallies = [a, b];
        let c = count(&[100, 100], &tallies, Delivery::FanOut);
        assert_eq!((c.sent, c.expected, c.received, c.lost), (200, 400, 399, 1));
        let each = count_each(&[100, 100], &tallies, Delivery::FanOut);
        assert_eq!(sum(&each), c);
        assert_eq!((each[0].lost, each[1].lost), (1, 0));
    }

    #[test]
    fn a_queue_expects_each_message_once_over_all_consumers() {
        let mut a = Tally::new(1);
        let mut b = Tally::new(1);
        for seq in 0..1000 {
            if seq % 2 == 0 { &mut a } else { &mut b }.note(msg(0, seq), 40, 20, 0);
        }
        b.note(msg(0, 10), 40, 20, 0); // redelivered to the other consumer
        let tallies = [a, b];
        let c = count(&[1001], &tallies, Delivery::Queue);
        assert_eq!(
            (c.expected, c.received, c.lost, c.duplicated),
            (1001, 1001, 1, 1)
        );
        assert_eq!(sum(&count_each(&[1001], &tallies, Delivery::Queue)), c);
    }

    #[test]
    fn only_messages_due_in_the_window_are_measured() {
        let mut t = Tally::new(1);
        t.note(msg(0, 0), 64, 1_000, 5_000); // warm-up
        let mut late = msg(0, 1);
        late.as_mut().unwrap().due_ns = 6_000;
        t.note(late, 64, 9_000, 5_000);
        t.note(None, 5, 9_000, 5_000);
        assert_eq!((t.received, t.measured, t.foreign), (2, 1, 1));
        assert_eq!(t.latency_ns.len(), 1);
        assert!(t.latency_ns.value_at_quantile(0.5).abs_diff(3_000) < 10);
        assert_eq!(t.last_measured_ns, 9_000);
    }
}
