//! `--hlog FILE`: the latency of each second of the measured window, as
//! the standard HdrHistogram interval log (what HdrHistogram's
//! HistogramLogProcessor, HdrHistogramVisualizer and hdr-plot read).
//!
//! Each second's histogram has 2 significant digits (as a ramp step's):
//! plenty for a plot, and a seventh of the memory of 3 per subscriber.
//!
//! No lock on the hot path: each subscriber records into a histogram of its
//! own for the current second ([`Tally::interval`](super::tally::Tally)),
//! and checks once per burst, on the clock it reads anyway, whether the
//! second has turned; then it sends the finished second's histogram here and
//! starts another. The collector adds them up by second; a second nothing
//! can arrive for any more is kept compressed, so an hour's log costs
//! megabytes, not a histogram a second. The file is written when the run
//! ends.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use tokio::sync::mpsc;

use super::tally::step_histogram;
use crate::error::{Error, Result};

/// One subscriber's second: its index from the window's start, and what it
/// timed in it.
pub type Second = (u64, Histogram<u64>);

/// A second is compressed once it is this far behind the newest one heard
/// of (a subscriber sends a second when its first message of a later one
/// arrives; one that lags sends late, and a late second is opened again).
const SEAL_AFTER: u64 = 3;

/// Collects every subscriber's seconds until the run ends.
pub(super) struct Collector {
    tx: mpsc::UnboundedSender<Second>,
    task: tokio::task::JoinHandle<BTreeMap<u64, Kept>>,
    path: PathBuf,
}

/// A second's histogram, as it is being added to, or compressed.
enum Kept {
    Open(Histogram<u64>),
    Sealed(Vec<u8>),
}

impl Collector {
    /// Writes to `path` (checked writable by the caller) when finished.
    pub(super) fn start(path: PathBuf) -> Collector {
        let (tx, mut rx) = mpsc::unbounded_channel::<Second>();
        let task = tokio::spawn(async move {
            let mut seconds: BTreeMap<u64, Kept> = BTreeMap::new();
            let mut newest = 0;
            while let Some((at, h)) = rx.recv().await {
                add(&mut seconds, at, &h);
                if at <= newest {
                    continue;
                }
                newest = at;
                // Seal what is now far enough behind (a late second
                // opened again is sealed at the next new second).
                let old: Vec<u64> = seconds
                    .range(..newest.saturating_sub(SEAL_AFTER))
                    .filter(|(_, v)| matches!(v, Kept::Open(_)))
                    .map(|(k, _)| *k)
                    .collect();
                for k in old {
                    if let Some(Kept::Open(h)) = seconds.remove(&k) {
                        seconds.insert(k, seal(&h));
                    }
                }
            }
            seconds
        });
        Collector { tx, task, path }
    }

    /// Where subscribers send their seconds.
    pub(super) fn sender(&self) -> mpsc::UnboundedSender<Second> {
        self.tx.clone()
    }

    /// Once every subscriber has sent its last second: write the log, its
    /// times from `window_start` (the measured window's, on the wall clock).
    pub(super) async fn finish(self, window_start: SystemTime) -> Result<()> {
        drop(self.tx);
        let seconds = self
            .task
            .await
            .map_err(|e| Error::local(format!("the --hlog collector failed: {e}")))?;
        write(&self.path, window_start, seconds)
            .map_err(|e| Error::local(format!("cannot write --hlog {}: {e}", self.path.display())))
    }
}

fn add(seconds: &mut BTreeMap<u64, Kept>, at: u64, h: &Histogram<u64>) {
    let kept = seconds
        .entry(at)
        .or_insert_with(|| Kept::Open(step_histogram()));
    if let Kept::Sealed(bytes) = kept {
        *kept = Kept::Open(unseal(bytes));
    }
    if let Kept::Open(all) = kept {
        let _ = all.add(h);
    }
}

fn seal(h: &Histogram<u64>) -> Kept {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => Kept::Sealed(bytes),
        Err(_) => Kept::Open(h.clone()),
    }
}

fn unseal(bytes: &[u8]) -> Histogram<u64> {
    Deserializer::new()
        .deserialize(&mut &bytes[..])
        .unwrap_or_else(|_| step_histogram())
}

fn write(path: &PathBuf, start: SystemTime, seconds: BTreeMap<u64, Kept>) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut serializer = V2DeflateSerializer::new();
    let mut log = IntervalLogWriterBuilder::new()
        .add_comment("pubcat bench: latency from each message's due time, in nanoseconds, per second of the measured window")
        .with_start_time(start)
        .with_base_time(start)
        .with_max_value_divisor(1e6)
        .begin_log_with(&mut file, &mut serializer)?;
    for (at, kept) in seconds {
        let h = match kept {
            Kept::Open(h) => h,
            Kept::Sealed(bytes) => unseal(&bytes),
        };
        log.write_histogram(&h, Duration::from_secs(at), Duration::from_secs(1), None)
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    }
    drop(log);
    std::io::Write::flush(&mut file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    /// Seconds sent in any order, late ones after their second was sealed
    /// too, add up by second in the log, which HdrHistogram's own parser
    /// reads back.
    #[tokio::test]
    async fn seconds_add_up_and_the_log_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.hlog");
        let c = Collector::start(path.clone());
        let tx = c.sender();
        let one = |v: u64| {
            let mut h = step_histogram();
            h.record(v).unwrap();
            h
        };
        for (at, v) in [(0, 1_000), (1, 2_000), (0, 3_000), (9, 5_000), (1, 4_000)] {
            tx.send((at, one(v))).unwrap();
        }
        drop(tx);
        c.finish(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))
            .await
            .unwrap();
        let text = std::fs::read(&path).unwrap();
        let mut counts = Vec::new();
        for entry in IntervalLogIterator::new(&text) {
            if let Ok(LogEntry::Interval(i)) = entry {
                let h: Histogram<u64> = Deserializer::new()
                    .deserialize(&mut base64_decode(i.encoded_histogram()).as_slice())
                    .unwrap();
                counts.push((i.start_timestamp().as_secs(), h.len(), h.max()));
            }
        }
        assert_eq!(counts.len(), 3, "{}", String::from_utf8_lossy(&text));
        assert_eq!((counts[0].0, counts[0].1), (0, 2));
        assert_eq!((counts[1].0, counts[1].1), (1, 2));
        assert_eq!((counts[2].0, counts[2].1), (9, 1));
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }
}
