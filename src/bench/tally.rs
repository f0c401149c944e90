//! What each subscriber saw, checked message by message: every sequence
//! number of every publisher is marked in a bit set, so loss, duplicates
//! and reordering are counted exactly, and latencies go into an HDR
//! histogram. Tallies are merged once the run is over.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::payload::{Header, Kind};
use super::schedule::Ramp;

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

    fn merge_seen(&mut self, other: &Stream) {
        if other.seen.len() > self.seen.len() {
            self.seen.resize(other.seen.len(), 0);
        }
        for (a, b) in self.seen.iter_mut().zip(&other.seen) {
            *a |= b;
        }
    }
}

/// Where a subscriber is in the run. A message's due time counts from
/// when publishing began (the same instant on every shard's clock), so a
/// subscriber times another machine's publishers against its own clock.
#[derive(Clone, Debug)]
pub struct Timing {
    /// When publishing began, in ns since this run began (u64::MAX until
    /// it has).
    pub go_ns: u64,
    /// Messages due this long after `go_ns` or later are measured.
    pub warmup_ns: u64,
    /// The publishers whose messages are timed: those on this machine, or
    /// all with `--cross-host-latency`.
    pub timed: std::ops::Range<u16>,
    /// With `--ramp`: latency is kept per step too.
    pub ramp: Option<Ramp>,
}

/// What a subscriber saw of one step of a ramp.
#[derive(Clone, Debug)]
pub struct Step {
    /// Deliveries of messages due in the step.
    pub delivered: u64,
    pub latency_ns: Histogram<u64>,
}

impl Step {
    pub fn new() -> Step {
        Step {
            delivered: 0,
            latency_ns: step_histogram(),
        }
    }
}

/// A step's histogram: 2 significant digits (1%) is plenty to see a knee,
/// and a tenth of the memory of 3, for every step of every subscriber.
pub fn step_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 2).expect("valid histogram bounds")
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
    /// With `--ramp`, each step's.
    pub steps: Vec<Step>,
    /// With `--hlog`, the latencies of the current second (the subscriber
    /// hands it on when the second turns).
    pub interval: Option<Histogram<u64>>,
}

impl Tally {
    pub fn new(publishers: usize, ramp: Option<&Ramp>) -> Tally {
        Tally {
            steps: (0..ramp.map_or(0, |r| r.steps))
                .map(|_| Step::new())
                .collect(),
            interval: None,
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

    /// Account one received body that arrived at `now_ns`, at the point of
    /// the run `timing` says.
    pub fn note(&mut self, header: Option<Header>, len: usize, now_ns: u64, timing: &Timing) {
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
        if h.due_ns >= timing.warmup_ns {
            self.measured += 1;
            self.measured_bytes += len as u64;
            self.last_measured_ns = self.last_measured_ns.max(now_ns);
            let step = timing
                .ramp
                .and_then(|r| r.step(h.due_ns, timing.warmup_ns))
                .and_then(|i| self.steps.get_mut(i));
            let latency = (timing.timed.contains(&h.publisher))
                .then(|| timing.go_ns.checked_add(h.due_ns))
                .flatten()
                .map(|due| now_ns.saturating_sub(due).max(1));
            if let Some(ns) = latency {
                // A latency past the histogram's range is clamped, not lost.
                self.latency_ns.saturating_record(ns);
                if let Some(second) = &mut self.interval {
                    second.saturating_record(ns);
                }
            }
            if let Some(step) = step {
                step.delivered += 1;
                if let Some(ns) = latency {
                    step.latency_ns.saturating_record(ns);
                }
            }
        }
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub sent: u64,
    pub received: u64,
    pub expected: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
}

/// What a run knows of one publisher's stream: what the publisher sent,
/// where this run ran it, and what this run's subscribers received of it.
/// The reports of one run's shards add these up by publisher ([`add`]),
/// and [`count`] makes the counts from them, the same way for one run and
/// for many.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamCounts {
    pub publisher: u16,
    /// None where another shard ran the publisher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<u64>,
    /// Deliveries, duplicates included.
    pub received: u64,
    /// Distinct sequence numbers, added over the subscribers.
    pub unique: u64,
    /// Receptions by a subscriber of what it had already received.
    pub duplicated: u64,
    pub reordered: u64,
    /// Queue delivery: every sequence number any subscriber received, a
    /// bit set (in the JSON compressed, in base64), so that a message two
    /// shards' consumers both received counts as duplicated.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "bitset")]
    pub seen: Vec<u64>,
}

/// The streams of `publishers` (id and what it sent, for the publishers
/// this run ran) and of every other publisher the subscribers heard from.
pub fn streams(
    publishers: &[(u16, u64)],
    tallies: &[Tally],
    delivery: Delivery,
) -> Vec<StreamCounts> {
    // Every stream a subscriber heard, and every publisher this run ran
    // (a shard may have no subscribers of its own).
    let most = tallies
        .iter()
        .map(|t| t.streams.len())
        .chain(publishers.iter().map(|(id, _)| usize::from(*id) + 1))
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    for p in 0..most {
        let sent = publishers
            .iter()
            .find(|(id, _)| usize::from(*id) == p)
            .map(|(_, n)| *n);
        let mut s = StreamCounts {
            publisher: p as u16,
            sent,
            ..Default::default()
        };
        let mut all = Stream::default();
        for stream in tallies.iter().filter_map(|t| t.streams.get(p)) {
            s.unique += stream.unique;
            s.duplicated += stream.duplicated;
            s.reordered += stream.reordered;
            if delivery == Delivery::Queue {
                all.merge_seen(stream);
            }
        }
        s.received = s.unique + s.duplicated;
        s.seen = all.seen;
        if s.sent.is_some() || s.received > 0 {
            out.push(s);
        }
    }
    out
}

/// Add `more` (another shard's streams) into `into`, by publisher.
pub fn add(into: &mut Vec<StreamCounts>, more: &[StreamCounts]) {
    for m in more {
        let at = match into.iter().position(|s| s.publisher == m.publisher) {
            Some(i) => i,
            None => {
                into.push(StreamCounts {
                    publisher: m.publisher,
                    ..Default::default()
                });
                into.len() - 1
            }
        };
        let s = &mut into[at];
        if let Some(n) = m.sent {
            s.sent = Some(s.sent.unwrap_or(0) + n);
        }
        s.received += m.received;
        s.unique += m.unique;
        s.duplicated += m.duplicated;
        s.reordered += m.reordered;
        if s.seen.len() < m.seen.len() {
            s.seen.resize(m.seen.len(), 0);
        }
        for (a, b) in s.seen.iter_mut().zip(&m.seen) {
            *a |= b;
        }
    }
    into.sort_by_key(|s| s.publisher);
}

/// One stream's counts, for `subscribers` subscribers in all. A stream
/// whose publisher no report ran expects nothing.
pub fn count_one(s: &StreamCounts, subscribers: u64, delivery: Delivery) -> Counts {
    let sent = s.sent.unwrap_or(0);
    match delivery {
        Delivery::FanOut => {
            let expected = sent * subscribers;
            Counts {
                sent,
                received: s.received,
                expected,
                lost: if s.sent.is_some() {
                    expected.saturating_sub(s.unique)
                } else {
                    0
                },
                duplicated: s.duplicated,
                reordered: s.reordered,
            }
        }
        Delivery::Queue => {
            let union: u64 = s.seen.iter().map(|w| u64::from(w.count_ones())).sum();
            Counts {
                sent,
                received: s.received,
                expected: sent,
                lost: if s.sent.is_some() {
                    sent.saturating_sub(union)
                } else {
                    0
                },
                // Received by two consumers counts as duplicated too.
                duplicated: s.duplicated + s.unique.saturating_sub(union),
                reordered: s.reordered,
            }
        }
    }
}

/// The run's counts: its streams' added up.
pub fn count(streams: &[StreamCounts], subscribers: u64, delivery: Delivery) -> Counts {
    streams
        .iter()
        .map(|s| count_one(s, subscribers, delivery))
        .fold(Counts::default(), |a, c| Counts {
            sent: a.sent + c.sent,
            received: a.received + c.received,
            expected: a.expected + c.expected,
            lost: a.lost + c.lost,
            duplicated: a.duplicated + c.duplicated,
            reordered: a.reordered + c.reordered,
        })
}

/// A bit set in JSON: its 64-bit words little-endian, DEFLATE, base64. A
/// run with no loss sets every bit, and that compresses to almost nothing.
mod bitset {
    use std::io::{Read, Write};

    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    /// The most a bit set may inflate to: 2^31 sequence numbers.
    const MOST_BYTES: u64 = 1 << 28;

    pub fn serialize<S: Serializer>(words: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        for w in words {
            z.write_all(&w.to_le_bytes())
                .map_err(serde::ser::Error::custom)?;
        }
        let bytes = z.finish().map_err(serde::ser::Error::custom)?;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| serde::de::Error::custom(format!("a bit set that is not base64: {e}")))?;
        let mut plain = Vec::new();
        flate2::read::DeflateDecoder::new(&bytes[..])
            .take(MOST_BYTES + 1)
            .read_to_end(&mut plain)
            .map_err(|e| serde::de::Error::custom(format!("a bit set that is not DEFLATE: {e}")))?;
        if plain.len() as u64 > MOST_BYTES || plain.len() % 8 != 0 {
            return Err(serde::de::Error::custom("a bit set of the wrong size"));
        }
        Ok(plain
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect())
    }
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

    /// Publishing began at 0, nothing is warm-up, every publisher timed.
    fn timing() -> Timing {
        Timing {
            go_ns: 0,
            warmup_ns: 0,
            timed: 0..u16::MAX,
            ramp: None,
        }
    }

    /// One run's counts, through the streams.
    fn counted(sent: &[u64], tallies: &[Tally], delivery: Delivery) -> (Counts, Vec<StreamCounts>) {
        let sent: Vec<(u16, u64)> = (0..).zip(sent.iter().copied()).collect();
        let streams = streams(&sent, tallies, delivery);
        (count(&streams, tallies.len() as u64, delivery), streams)
    }

    #[test]
    fn loss_duplicates_and_reordering_are_exact() {
        let mut t = Tally::new(1, None);
        for seq in [0, 1, 3, 2, 2, 5, 6] {
            t.note(msg(0, seq), 40, 20, &timing());
        }
        let s = &t.streams[0];
        assert_eq!((s.unique, s.duplicated, s.reordered), (6, 1, 1));
        assert_eq!(s.skipped, 1, "4 is still missing");
        let (c, _) = counted(&[7], &[t], Delivery::FanOut);
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
        let mut t = Tally::new(1, None);
        t.note(msg(0, 0), 40, 20, &timing());
        t.note(msg(0, 1 << 48), 40, 20, &timing());
        t.note(msg(0, 1), 40, 20, &timing());
        assert_eq!((t.foreign, t.received, t.streams[0].unique), (1, 2, 2));
        assert!(t.streams[0].seen.len() <= 64, "{}", t.streams[0].seen.len());
    }

    #[test]
    fn fan_out_expects_every_message_at_every_subscriber() {
        let mut a = Tally::new(2, None);
        let mut b = Tally::new(2, None);
        for seq in 0..100 {
            a.note(msg(0, seq), 40, 20, &timing());
            a.note(msg(1, seq), 40, 20, &timing());
            if seq != 50 {
                b.note(msg(0, seq), 40, 20, &timing());
            }
            b.note(msg(1, seq), 40, 20, &timing());
        }
        let (c, streams) = counted(&[100, 100], &[a, b], Delivery::FanOut);
        assert_eq!((c.sent, c.expected, c.received, c.lost), (200, 400, 399, 1));
        let each: Vec<Counts> = streams
            .iter()
            .map(|s| count_one(s, 2, Delivery::FanOut))
            .collect();
        assert_eq!((each[0].lost, each[1].lost), (1, 0));
    }

    #[test]
    fn a_queue_expects_each_message_once_over_all_consumers() {
        let mut a = Tally::new(1, None);
        let mut b = Tally::new(1, None);
        for seq in 0..1000 {
            if seq % 2 == 0 { &mut a } else { &mut b }.note(msg(0, seq), 40, 20, &timing());
        }
        b.note(msg(0, 10), 40, 20, &timing()); // redelivered to the other consumer
        let (c, _) = counted(&[1001], &[a, b], Delivery::Queue);
        assert_eq!(
            (c.expected, c.received, c.lost, c.duplicated),
            (1001, 1001, 1, 1)
        );
    }

    /// Shards: each ran some publishers and some subscribers, and heard
    /// every publisher. Their streams added up count what one run would.
    #[test]
    fn shards_streams_add_up_to_the_whole_run() {
        for delivery in [Delivery::FanOut, Delivery::Queue] {
            // Two publishers, four subscribers; shard 0 ran publisher 0
            // and subscribers 0-1, shard 1 the rest.
            let mut tallies: Vec<Tally> = (0..4).map(|_| Tally::new(2, None)).collect();
            for p in 0..2u16 {
                for seq in 0..50 {
                    for (i, t) in tallies.iter_mut().enumerate() {
                        let gets = match delivery {
                            Delivery::FanOut => !(i == 3 && seq == 7),
                            Delivery::Queue => seq % 4 == i as u64 || (i == 2 && seq == 4),
                        };
                        if gets {
                            t.note(msg(p, seq), 40, 20, &timing());
                        }
                    }
                }
            }
            let (whole, _) = counted(&[50, 50], &tallies, delivery);
            let shard0 = streams(&[(0, 50)], &tallies[..2], delivery);
            let shard1 = streams(&[(1, 50)], &tallies[2..], delivery);
            // Through JSON, as the reports carry them.
            let json = |s: &Vec<StreamCounts>| -> Vec<StreamCounts> {
                serde_json::from_str(&serde_json::to_string(s).unwrap()).unwrap()
            };
            let mut merged = json(&shard0);
            add(&mut merged, &json(&shard1));
            assert_eq!(count(&merged, 4, delivery), whole, "{delivery:?}");
        }
    }

    #[test]
    fn a_bit_set_that_is_not_one_is_refused() {
        for bad in [
            r#"{"publisher":0,"received":0,"unique":0,"duplicated":0,"reordered":0,"seen":"%%"}"#,
            r#"{"publisher":0,"received":0,"unique":0,"duplicated":0,"reordered":0,"seen":"aGVsbG8="}"#,
        ] {
            assert!(serde_json::from_str::<StreamCounts>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_messages_due_in_the_window_are_measured() {
        let mut t = Tally::new(2, None);
        let timing = Timing {
            go_ns: 1_000,
            warmup_ns: 4_000,
            timed: 0..1,
            ramp: None,
        };
        t.note(msg(0, 0), 64, 1_000, &timing); // warm-up (due 1_010)
        let mut late = msg(0, 1);
        late.as_mut().unwrap().due_ns = 5_000; // due at 6_000
        t.note(late, 64, 9_000, &timing);
        let mut other = msg(1, 0);
        other.as_mut().unwrap().due_ns = 5_000; // measured, not timed
        t.note(other, 64, 9_000, &timing);
        t.note(None, 5, 9_000, &timing);
        assert_eq!((t.received, t.measured, t.foreign), (3, 2, 1));
        assert_eq!(t.latency_ns.len(), 1);
        assert!(t.latency_ns.value_at_quantile(0.5).abs_diff(3_000) < 10);
        assert_eq!(t.last_measured_ns, 9_000);
    }
}
