//! The numbers of a run: aggregated once from what every publisher and
//! subscriber reported when the run is over ([`Report::aggregate`]), then
//! printed as a table or as one JSON document (the schema the README
//! documents), and compared with a saved baseline for a CI gate.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::publisher::PubResult;
use super::schedule::Ramp;
use super::subscriber::SubResult;
use super::tally::{self, Counts, Delivery, Step, StreamCounts, Tally};
use super::{Plan, Shard, Span};
use crate::endpoint::{Endpoint, Transport};
use crate::error::{self, Error, Kind};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub url: String,
    /// True when the run started its own broker in-process.
    pub embedded: bool,
    pub config: Config,
    /// Seconds from the start of the measured window to the last measured
    /// delivery.
    pub measured_s: f64,
    /// Sent, received, expected, lost, duplicated and reordered: at the top
    /// level of the JSON, and read as the report's own (`report.lost`). A
    /// shard's report has expected and lost 0: they are known once the
    /// shards are merged.
    #[serde(flatten)]
    pub counts: Counts,
    /// What each publisher sent and the subscribers received of it, by
    /// publisher id: what the counts are made of, and what `bench merge`
    /// adds up.
    #[serde(default)]
    pub streams: Vec<StreamCounts>,
    /// Present in a shard's report (`--shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// In a merged report: each shard's, with its host and its clock.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardInfo>,
    /// All errors; by kind in `errors_by_kind`.
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub throughput: Throughput,
    /// Latency from each message's due time to its delivery.
    pub latency_us: Latency,
    pub connect_us: Connect,
    /// The measured window on the wall clock: runs made apart (shards) are
    /// merged over the union of their windows.
    #[serde(default)]
    pub window: Window,
    /// Present with `--connections`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_connections: Option<IdleConnections>,
    /// Present with `--ramp`: latency step by step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp: Option<RampReport>,
    /// With `--bind`: the connections each local address opened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_addresses: Vec<SourceAddress>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SourceAddress {
    pub address: String,
    pub connections: u64,
}

/// A ramp, step by step.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RampReport {
    pub from: f64,
    pub to: f64,
    pub over_s: f64,
    pub steps: Vec<StepReport>,
    /// The rate of the first step where the server fell behind (see
    /// [`knee`]); None when none did.
    pub knee_msgs_per_s: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StepReport {
    /// Messages per second asked for, in the middle of the step.
    pub rate: f64,
    /// Deliveries of the messages due in the step, and per second.
    pub delivered: u64,
    pub delivered_per_s: f64,
    /// To 2 significant digits.
    pub latency_us: Latency,
}

impl RampReport {
    /// From each step's deliveries and latencies; `fan` deliveries are
    /// expected of each message (the subscribers of a topic, 1 for a queue).
    pub fn of(ramp: &Ramp, from: f64, steps: &[Step], fan: u64) -> RampReport {
        let steps: Vec<StepReport> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| StepReport {
                rate: ramp.rate_of(from, i),
                delivered: s.delivered,
                delivered_per_s: per_second(s.delivered, ramp.step_secs()),
                latency_us: Latency::from_ns(&s.latency_ns),
            })
            .collect();
        RampReport {
            from,
            to: ramp.to,
            over_s: ramp.over.as_secs_f64(),
            knee_msgs_per_s: knee(&steps, fan),
            steps,
        }
    }

    /// The steps back as the tallies had them (for `bench merge`).
    pub fn parts(&self) -> Result<(Ramp, Vec<Step>), String> {
        let ramp = Ramp {
            to: self.to,
            over: std::time::Duration::try_from_secs_f64(self.over_s)
                .map_err(|e| format!("ramp.over_s: {e}"))?,
            steps: self.steps.len().max(1),
        };
        let steps = self
            .steps
            .iter()
            .map(|s| {
                let mut latency_ns = tally::step_histogram();
                if let Some(hdr) = &s.latency_us.hdr {
                    latency_ns
                        .add(decode_hdr(hdr)?)
                        .map_err(|e| format!("a ramp step's histogram: {e}"))?;
                }
                Ok(Step {
                    delivered: s.delivered,
                    latency_ns,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok((ramp, steps))
    }
}

impl RampReport {
    /// The steps, a row each, and the knee (a `shard`'s is known once
    /// merged).
    fn table(&self, out: &mut String, shard: bool) {
        let _ = writeln!(
            out,
            "\n  ramp {} -> {} msgs/s over {} s, by step (latency ms, 2 significant digits)",
            group(self.from.round() as u64),
            group(self.to.round() as u64),
            self.over_s
        );
        let _ = writeln!(
            out,
            "  {:>12} {:>12} {:>9} {:>9} {:>9} {:>9}",
            "msgs/s", "delivered/s", "p50", "p90", "p99", "max"
        );
        for s in &self.steps {
            let l = &s.latency_us;
            let _ = writeln!(
                out,
                "  {:>12} {:>12} {:>9.3} {:>9.3} {:>9.3} {:>9.3}{}",
                group(s.rate.round() as u64),
                group(s.delivered_per_s.round() as u64),
                l.p50 / 1e3,
                l.p90 / 1e3,
                l.p99 / 1e3,
                l.max / 1e3,
                if self.knee_msgs_per_s == Some(s.rate) {
                    "  <- knee"
                } else {
                    ""
                }
            );
        }
        if self.steps.iter().any(|s| s.latency_us.count < 1000) {
            let _ = writeln!(
                out,
                "  (under 1,000 messages in a step, its p99 is nearly its slowest message: a longer --ramp or fewer --ramp-steps steadies the knee)"
            );
        }
        let _ = match self.knee_msgs_per_s {
            None if shard => writeln!(out, "  knee: known once merged (`pubcat bench merge`)"),
            Some(k) => writeln!(
                out,
                "  knee: about {} msgs/s (p99 up 4x and 1 ms from the steps before, or deliveries 5% short)",
                group(k.round() as u64)
            ),
            None => writeln!(
                out,
                "  no knee up to {} msgs/s: ramp higher",
                group(self.to.round() as u64)
            ),
        };
    }
}

/// Where the server stopped keeping up: the first step whose p99 rose
/// past both 4 times and 1 ms above the lowest p99 of the steps before
/// it, or whose deliveries fell 5% short of the rate asked for (lost).
pub fn knee(steps: &[StepReport], fan: u64) -> Option<f64> {
    let mut lowest = f64::INFINITY;
    for s in steps {
        let p99 = s.latency_us.p99;
        let asked = s.rate * fan as f64;
        let short = s.delivered_per_s < 0.95 * asked;
        if short || (lowest.is_finite() && p99 > (4.0 * lowest).max(lowest + 1000.0)) {
            return Some(s.rate);
        }
        lowest = lowest.min(p99);
    }
    None
}

/// One shard of a run: which, what it ran, where and on what clock.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ShardInfo {
    pub index: usize,
    pub count: usize,
    /// This shard's part of the run.
    pub pubs: usize,
    pub subs: usize,
    pub connections: usize,
    /// The machine's name, as its kernel has it.
    pub host: String,
    /// The measured window asked for (`--start-at`), and the one this
    /// shard measured, both on this machine's clock.
    pub start_at_unix_ms: Option<f64>,
    pub window: Window,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    pub pubs: usize,
    pub subs: usize,
    pub size: usize,
    /// Total messages per second asked for; 0 = as fast as possible.
    pub rate: f64,
    pub duration_s: Option<f64>,
    pub count: Option<u64>,
    pub warmup_s: f64,
    pub topic: String,
    pub protocol: String,
    pub transport: String,
    pub delivery: String,
    pub connections: usize,
    /// With `--ramp`: the rate it climbs to, and its steps (`rate` is
    /// where it starts, `duration_s` how long it climbs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp_to: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp_steps: Option<usize>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Throughput {
    /// Deliveries per second, over all subscribers.
    pub msgs_per_s: f64,
    pub bytes_per_s: f64,
    /// Messages published per second, over all publishers.
    pub published_msgs_per_s: f64,
    pub published_bytes_per_s: f64,
    /// Per publisher, then per subscriber, messages per second.
    pub per_publisher: Vec<f64>,
    pub per_subscriber: Vec<f64>,
    /// What the rates count, in the measured window: deliveries and their
    /// bytes, messages published and their bytes (what `bench merge` adds).
    #[serde(default)]
    pub delivered: u64,
    #[serde(default)]
    pub delivered_bytes: u64,
    #[serde(default)]
    pub published: u64,
    #[serde(default)]
    pub published_bytes: u64,
}

/// Milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Window {
    pub start_unix_ms: f64,
    pub end_unix_ms: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
    /// Messages measured.
    pub count: u64,
    /// True when subscribers timed other machines' publishers
    /// (`--cross-host-latency`): then latency depends on how well the
    /// machines' clocks agree.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub across_hosts: bool,
    /// The whole histogram, in nanoseconds, as HdrHistogram's V2 format
    /// compressed with DEFLATE, in base64: what `bench merge` adds up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hdr: Option<String>,
}

impl Latency {
    /// From a histogram of nanoseconds, in microseconds.
    pub(super) fn from_ns(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            // The histogram still goes in, empty: a shard that timed
            // nothing is merged as such.
            return Latency {
                hdr: encode_hdr(h),
                ..Latency::default()
            };
        }
        let us = |ns: u64| ns as f64 / 1e3;
        Latency {
            min: us(h.min()),
            p50: us(h.value_at_quantile(0.50)),
            p90: us(h.value_at_quantile(0.90)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
            mean: h.mean() / 1e3,
            count: h.len(),
            across_hosts: false,
            hdr: encode_hdr(h),
        }
    }
}

/// A histogram as the report carries it (see [`Latency::hdr`]).
pub fn encode_hdr(h: &Histogram<u64>) -> Option<String> {
    use base64::Engine;
    use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
    let mut bytes = Vec::new();
    V2DeflateSerializer::new().serialize(h, &mut bytes).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A report's histogram back; the error says what was wrong with it.
pub fn decode_hdr(text: &str) -> Result<Histogram<u64>, String> {
    use base64::Engine;
    use hdrhistogram::serialization::Deserializer;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram V2 histogram: {e:?}"))
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Connect {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub count: u64,
    /// As [`Latency::hdr`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hdr: Option<String>,
}

impl Connect {
    pub(super) fn from_ns(h: &Histogram<u64>) -> Connect {
        let l = Latency::from_ns(h);
        Connect {
            p50: l.p50,
            p99: l.p99,
            max: l.max,
            count: l.count,
            hdr: l.hdr,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdleConnections {
    pub asked: usize,
    pub opened: usize,
    /// Connections opened per second while opening them.
    pub connect_per_s: f64,
    /// Growth of this process's resident memory per open connection (with
    /// an embedded broker, its side of each connection is included).
    pub rss_bytes_per_connection: f64,
    /// Closed by the server during the run.
    #[serde(default)]
    pub closed: u64,
}

/// What a run leaves to aggregate: the outcome of every connection.
pub(super) struct Outcomes {
    /// In publisher order.
    pub(super) publishers: Vec<PubResult>,
    /// In subscriber order.
    pub(super) subscribers: Vec<SubResult>,
    /// When the measured window began, in ns since the run began.
    pub(super) window_ns: u64,
    /// The wall clock when the run began.
    pub(super) epoch_wall: std::time::SystemTime,
    /// How long each connection took to open, in ns.
    pub(super) connect_ns: Histogram<u64>,
    /// Present with `--connections`.
    pub(super) idle_connections: Option<IdleConnections>,
    /// The errors counted so far (opening the idle connections), by kind.
    pub(super) errors: BTreeMap<String, u64>,
    /// With `--bind`, each address's connections.
    pub(super) sources: Vec<SourceAddress>,
}

impl Report {
    /// Merge what each publisher and subscriber reported into the run's
    /// numbers. Rates are over the measured window: from its start to the
    /// last measured message.
    pub(super) fn aggregate(plan: &Plan, run: Outcomes) -> error::Result<Report> {
        let Outcomes {
            publishers,
            subscribers,
            window_ns,
            epoch_wall,
            connect_ns,
            idle_connections,
            mut errors,
            sources,
        } = run;
        let mut tallies = Vec::with_capacity(subscribers.len());
        for s in subscribers {
            if let Some(e) = &s.error {
                count_error(&mut errors, e);
            }
            tallies.push(s.tally);
        }
        for p in &publishers {
            if let Some(e) = &p.error {
                count_error(&mut errors, e);
            }
        }
        let foreign: u64 = tallies.iter().map(|t| t.foreign).sum();
        if foreign > 0 {
            *errors.entry("not a bench message".into()).or_default() += foreign;
        }
        let mut latency = tally::new_histogram();
        for t in &tallies {
            latency
                .add(&t.latency_ns)
                .map_err(|e| Error::local(format!("merging latencies: {e}")))?;
        }
        let last_delivery = tallies
            .iter()
            .map(|t| t.last_measured_ns)
            .max()
            .unwrap_or(0);
        let measured_s = secs_after(window_ns, last_delivery);
        let ids = plan.shard.part(plan.pubs);
        let sent: Vec<(u16, u64)> = ids
            .map(|id| id as u16)
            .zip(publishers.iter().map(|p| p.sent))
            .collect();
        let streams = tally::streams(&sent, &tallies, plan.delivery);
        let mut counts = tally::count(&streams, tallies.len() as u64, plan.delivery);
        if !plan.shard.is_whole() {
            // The other shards' subscribers count too: known once merged.
            (counts.expected, counts.lost) = (0, 0);
        }
        let window = Window::of(epoch_wall, window_ns, last_delivery.max(window_ns));
        let ramp = plan.ramp.map(|r| {
            let mut steps: Vec<Step> = (0..r.steps).map(|_| Step::new()).collect();
            for t in &tallies {
                for (all, one) in steps.iter_mut().zip(&t.steps) {
                    all.delivered += one.delivered;
                    let _ = all.latency_ns.add(&one.latency_ns);
                }
            }
            let subs = plan.shard.part(plan.subs).len();
            let mut ramp = RampReport::of(&r, plan.rate, &steps, fan(plan.delivery, subs));
            if !plan.shard.is_whole() {
                // Known once merged: the other shards' deliveries count.
                ramp.knee_msgs_per_s = None;
            }
            ramp
        });
        let mut latency_us = Latency::from_ns(&latency);
        latency_us.across_hosts = plan.cross_host_latency && !plan.shard.is_whole();
        Ok(Report {
            url: crate::log::redact_url(&plan.subscribe.endpoint.url),
            embedded: false,
            config: Config::of(plan),
            measured_s,
            counts,
            streams,
            shard: (!plan.shard.is_whole()).then(|| ShardInfo::of(plan, window)),
            shards: Vec::new(),
            errors: errors.values().sum(),
            errors_by_kind: errors,
            throughput: Throughput::of(&publishers, &tallies, window_ns, measured_s),
            latency_us,
            connect_us: Connect::from_ns(&connect_ns),
            window,
            idle_connections,
            ramp,
            source_addresses: sources,
        })
    }

    /// The table for humans.
    pub fn table(&self) -> String {
        let c = &self.config;
        let mut out = String::new();
        let target = if self.embedded {
            format!("{} (embedded broker)", self.url)
        } else {
            self.url.clone()
        };
        let _ = writeln!(out, "pubcat bench {target}");
        let pace = if let Some(to) = c.ramp_to {
            format!(
                "{} -> {} msgs/s in all",
                group(c.rate.round() as u64),
                group(to.round() as u64)
            )
        } else if c.rate > 0.0 {
            format!("{} msgs/s in all", group(c.rate.round() as u64))
        } else {
            "as fast as possible".to_string()
        };
        let span = match (c.count, c.duration_s) {
            (Some(n), _) => format!("{} messages", group(n)),
            (None, Some(d)) => format!("{d} s"),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "  {} publisher(s) -> {} subscriber(s) ({}), {} B messages, {pace}, {span} after {} s warm-up, {} over {}",
            c.pubs, c.subs, c.delivery, c.size, c.warmup_s, c.protocol, c.transport
        );
        if let Some(s) = &self.shard {
            let _ = writeln!(
                out,
                "  shard {}/{} on {}: {} publisher(s), {} subscriber(s){} of those",
                s.index,
                s.count,
                if s.host.is_empty() {
                    "this machine"
                } else {
                    &s.host
                },
                s.pubs,
                s.subs,
                if s.connections > 0 {
                    format!(", {} idle connection(s)", s.connections)
                } else {
                    String::new()
                }
            );
        }
        if !self.shards.is_empty() {
            let _ = writeln!(out, "  merged from {} shard(s):", self.shards.len());
            let first = self
                .shards
                .iter()
                .map(|s| s.window.start_unix_ms)
                .fold(f64::INFINITY, f64::min);
            for s in &self.shards {
                let _ = writeln!(
                    out,
                    "    {}/{} {:<20} window {:+.1} ms to {:+.1} ms",
                    s.index,
                    s.count,
                    s.host,
                    s.window.start_unix_ms - first,
                    s.window.end_unix_ms - first
                );
            }
        }
        let t = &self.throughput;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {:<10} {:>14} {:>14} {:>10}",
            "measured", "messages", "msgs/s", "MB/s"
        );
        let mut rate_row = |label: &str, count: u64, per_s: f64, bytes_per_s: f64| {
            let _ = writeln!(
                out,
                "  {label:<10} {:>14} {:>14} {:>10.1}",
                group(count),
                group(per_s.round() as u64),
                bytes_per_s / 1e6
            );
        };
        // The rows count the measured window, as their rates do; the loss
        // accounting below counts every message, the warm-up's too.
        rate_row(
            "published",
            t.published,
            t.published_msgs_per_s,
            t.published_bytes_per_s,
        );
        rate_row("delivered", t.delivered, t.msgs_per_s, t.bytes_per_s);
        let _ = writeln!(out);
        let lost = if self.shard.is_some() {
            let _ = writeln!(
                out,
                "  all messages, warm-up included: sent {} · received {}",
                group(self.counts.sent),
                group(self.counts.received)
            );
            "known once merged (`pubcat bench merge`)".to_string()
        } else {
            let _ = writeln!(
                out,
                "  all messages, warm-up included: sent {} · received {} · expected {}",
                group(self.counts.sent),
                group(self.counts.received),
                group(self.counts.expected)
            );
            group(self.counts.lost)
        };
        let _ = writeln!(
            out,
            "  lost {} · duplicated {} · reordered {} · errors {}{}",
            lost,
            group(self.counts.duplicated),
            group(self.counts.reordered),
            self.errors,
            if self.errors_by_kind.is_empty() {
                String::new()
            } else {
                let kinds: Vec<String> = self
                    .errors_by_kind
                    .iter()
                    .map(|(k, n)| format!("{k}: {n}"))
                    .collect();
                format!(" ({})", kinds.join(", "))
            }
        );
        let l = &self.latency_us;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  latency from the due send time, ms ({} messages{}{})",
            group(l.count),
            if l.across_hosts {
                "; across machines, so only as right as their clocks agree"
            } else if self.shard.is_some() {
                "; of this shard's publishers"
            } else {
                ""
            },
            if c.rate > 0.0 {
                ""
            } else {
                "; unpaced, so this is mostly queueing: use --rate for latency at a given load"
            }
        );
        let _ = writeln!(
            out,
            "  {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "min", "p50", "p90", "p99", "p99.9", "max"
        );
        let ms = |us: f64| us / 1e3;
        let _ = writeln!(
            out,
            "  {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
            ms(l.min),
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p999),
            ms(l.max)
        );
        if let Some(r) = &self.ramp {
            r.table(&mut out, self.shard.is_some());
        }
        if !self.source_addresses.is_empty() {
            let each: Vec<String> = self
                .source_addresses
                .iter()
                .map(|s| format!("{} {}", s.address, group(s.connections)))
                .collect();
            let _ = writeln!(
                out,
                "\n  connections by source address: {}",
                each.join(", ")
            );
        }
        let k = &self.connect_us;
        let _ = writeln!(
            out,
            "\n  connect (TCP, TLS and handshake): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} connection(s)",
            ms(k.p50),
            ms(k.p99),
            ms(k.max),
            k.count
        );
        if let Some(i) = &self.idle_connections {
            let _ = writeln!(
                out,
                "  idle connections: {} of {} open, {} connects/s, {:.1} KB of memory each{}{}",
                group(i.opened as u64),
                group(i.asked as u64),
                group(i.connect_per_s.round() as u64),
                i.rss_bytes_per_connection / 1e3,
                if self.embedded {
                    " (client and embedded broker)"
                } else {
                    ""
                },
                if i.closed > 0 {
                    format!("; {} closed by the server", group(i.closed))
                } else {
                    String::new()
                }
            );
        }
        out
    }
}

impl Window {
    /// From the run's start on the wall clock and two times in ns after it.
    fn of(epoch: std::time::SystemTime, start_ns: u64, end_ns: u64) -> Window {
        let base = epoch
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3);
        Window {
            start_unix_ms: base + start_ns as f64 / 1e6,
            end_unix_ms: base + end_ns as f64 / 1e6,
        }
    }

    /// Seconds from start to end.
    pub fn secs(&self) -> f64 {
        (self.end_unix_ms - self.start_unix_ms).max(0.0) / 1e3
    }
}

impl ShardInfo {
    fn of(plan: &Plan, window: Window) -> ShardInfo {
        let Shard { index, count } = plan.shard;
        ShardInfo {
            index,
            count,
            pubs: plan.shard.part(plan.pubs).len(),
            subs: plan.shard.part(plan.subs).len(),
            connections: plan.shard.part(plan.connections).len(),
            host: host_name(),
            start_at_unix_ms: plan.start_at.and_then(|at| {
                at.duration_since(std::time::UNIX_EPOCH)
                    .ok()
                    .map(|d| d.as_secs_f64() * 1e3)
            }),
            window,
        }
    }
}

/// The deliveries expected of each message: every subscriber of a topic,
/// one of a queue's.
pub fn fan(delivery: Delivery, subs: usize) -> u64 {
    match delivery {
        Delivery::FanOut => subs as u64,
        Delivery::Queue => 1,
    }
}

/// This machine's name (a pod's, on Kubernetes), or "" when unknown.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().chars().filter(|c| !c.is_control()).collect())
        .unwrap_or_default()
}

impl Config {
    /// What was asked for: the whole run's, the same on every shard.
    fn of(plan: &Plan) -> Config {
        let (pub_ep, sub_ep) = (&plan.publish.endpoint, &plan.subscribe.endpoint);
        Config {
            pubs: plan.pubs,
            subs: plan.subs,
            size: plan.size,
            rate: plan.rate,
            duration_s: match plan.span {
                Span::Duration(d) => Some(d.as_secs_f64()),
                Span::Count(_) => None,
            },
            count: match plan.span {
                Span::Count(n) => Some(n),
                Span::Duration(_) => None,
            },
            warmup_s: plan.warmup.as_secs_f64(),
            topic: sub_ep.topic.to_string(),
            protocol: format!("{:?}", sub_ep.protocol).to_lowercase(),
            transport: if transport_label(pub_ep) == transport_label(sub_ep) {
                transport_label(sub_ep).to_string()
            } else {
                format!("{} -> {}", transport_label(pub_ep), transport_label(sub_ep))
            },
            delivery: match plan.delivery {
                Delivery::FanOut => "fan-out".into(),
                Delivery::Queue => "queue".into(),
            },
            connections: plan.connections,
            ramp_to: plan.ramp.map(|r| r.to),
            ramp_steps: plan.ramp.map(|r| r.steps),
        }
    }
}

/// The transport alone ("ws", "wss", "sse", ...), without the protocol.
fn transport_label(endpoint: &Endpoint) -> &str {
    match endpoint.transport {
        Transport::Ws => endpoint.url.scheme(),
        _ => endpoint.transport_name,
    }
}

impl Throughput {
    /// Each connection's rate is over the time from the start of the
    /// measured window to its last measured message; the deliveries' over
    /// `measured_s`, the publishers' to the last publisher's.
    fn of(
        publishers: &[PubResult],
        tallies: &[Tally],
        window_ns: u64,
        measured_s: f64,
    ) -> Throughput {
        let delivered: u64 = tallies.iter().map(|t| t.measured).sum();
        let delivered_bytes: u64 = tallies.iter().map(|t| t.measured_bytes).sum();
        let published: u64 = publishers.iter().map(|r| r.measured).sum();
        let published_bytes: u64 = publishers.iter().map(|r| r.measured_bytes).sum();
        let publish_s = secs_after(
            window_ns,
            publishers
                .iter()
                .map(|r| r.last_measured_ns)
                .max()
                .unwrap_or(0),
        );
        Throughput {
            msgs_per_s: per_second(delivered, measured_s),
            bytes_per_s: per_second(delivered_bytes, measured_s),
            published_msgs_per_s: per_second(published, publish_s),
            published_bytes_per_s: per_second(published_bytes, publish_s),
            per_publisher: publishers
                .iter()
                .map(|r| per_second(r.measured, secs_after(window_ns, r.last_measured_ns)))
                .collect(),
            per_subscriber: tallies
                .iter()
                .map(|t| per_second(t.measured, secs_after(window_ns, t.last_measured_ns)))
                .collect(),
            delivered,
            delivered_bytes,
            published,
            published_bytes,
        }
    }
}

/// Seconds from `window_ns` to `ns` (0 for a time before it).
fn secs_after(window_ns: u64, ns: u64) -> f64 {
    ns.saturating_sub(window_ns) as f64 / 1e9
}

/// `n` over `secs` seconds, per second (0 over no time).
pub(super) fn per_second(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

/// Count an error under its kind, as `errors_by_kind` shows them.
pub(super) fn count_error(errors: &mut BTreeMap<String, u64>, e: &Error) {
    crate::verbose!("{e}");
    let kind = match e.kind {
        Kind::Connect => "connection",
        Kind::Server => "server",
        Kind::Lost => "not confirmed",
        Kind::Timeout => "timeout",
        Kind::Usage => "usage",
        Kind::Local => "local",
        Kind::Interrupted => "interrupted",
        Kind::OutputClosed => "output closed",
    };
    *errors.entry(kind.to_string()).or_default() += 1;
}

/// `1234567` as `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// How a run compares with a baseline.
#[derive(Debug, PartialEq)]
pub struct Comparison {
    pub lines: Vec<String>,
    pub regressed: bool,
}

/// Compare throughput (msgs/s delivered, higher is better) and p99 latency
/// (lower is better) with a baseline report; a change worse than
/// `max_pct` percent is a regression.
pub fn compare(
    current: &Report,
    baseline: &serde_json::Value,
    max_pct: f64,
) -> Result<Comparison, String> {
    let get = |path: &[&str]| -> Result<f64, String> {
        let mut v = baseline;
        for key in path {
            v = v.get(key).ok_or_else(|| {
                format!(
                    "the baseline has no `{}` (was it written by `pubcat bench --json`?)",
                    path.join(".")
                )
            })?;
        }
        v.as_f64()
            .ok_or_else(|| format!("the baseline's `{}` is not a number", path.join(".")))
    };
    let base_rate = get(&["throughput", "msgs_per_s"])?;
    let base_p99 = get(&["latency_us", "p99"])?;
    let mut lines = Vec::new();
    let mut regressed = false;
    let rate = current.throughput.msgs_per_s;
    let rate_change = pct_change(base_rate, rate);
    let rate_bad = -rate_change > max_pct;
    lines.push(format!(
        "{} throughput {} -> {} msgs/s ({:+.1}%{})",
        verdict(rate_bad),
        group(base_rate.round() as u64),
        group(rate.round() as u64),
        rate_change,
        if rate_bad { ": REGRESSION" } else { "" }
    ));
    regressed |= rate_bad;
    let p99 = current.latency_us.p99;
    let p99_change = pct_change(base_p99, p99);
    let p99_bad = p99_change > max_pct;
    lines.push(format!(
        "{} p99 latency {:.3} -> {:.3} ms ({:+.1}%{})",
        verdict(p99_bad),
        base_p99 / 1e3,
        p99 / 1e3,
        p99_change,
        if p99_bad { ": REGRESSION" } else { "" }
    ));
    regressed |= p99_bad;
    Ok(Comparison { lines, regressed })
}

fn verdict(bad: bool) -> &'static str {
    if bad { "FAIL" } else { "PASS" }
}

fn pct_change(from: f64, to: f64) -> f64 {
    if from == 0.0 {
        if to == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        (to - from) / from * 100.0
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub fn sample() -> Report {
        Report {
            url: "ws://127.0.0.1:1/bench".into(),
            embedded: true,
            config: Config {
                pubs: 1,
                subs: 2,
                size: 64,
                rate: 0.0,
                duration_s: Some(1.0),
                count: None,
                warmup_s: 0.0,
                topic: "bench".into(),
                protocol: "raw".into(),
                transport: "ws".into(),
                delivery: "fan-out".into(),
                connections: 0,
                ramp_to: None,
                ramp_steps: None,
            },
            measured_s: 1.0,
            counts: Counts {
                sent: 1000,
                received: 2000,
                expected: 2000,
                lost: 0,
                duplicated: 0,
                reordered: 0,
            },
            streams: Vec::new(),
            shard: None,
            shards: Vec::new(),
            errors: 0,
            errors_by_kind: BTreeMap::new(),
            throughput: Throughput {
                msgs_per_s: 2000.0,
                ..Throughput::default()
            },
            latency_us: Latency {
                p99: 1000.0,
                ..Latency::default()
            },
            connect_us: Connect::default(),
            window: Window::default(),
            idle_connections: None,
            ramp: None,
            source_addresses: Vec::new(),
        }
    }

    fn step(rate: f64, p99_us: f64, delivered_per_s: f64) -> StepReport {
        StepReport {
            rate,
            delivered: 0,
            delivered_per_s,
            latency_us: Latency {
                p99: p99_us,
                ..Latency::default()
            },
        }
    }

    /// The knee: the first step whose p99 rose 4× and 1 ms above the best
    /// before it, or whose deliveries fell 5% short.
    #[test]
    fn the_knee_is_where_latency_turns_up_or_deliveries_fall_short() {
        let flat = [step(100.0, 300.0, 200.0), step(200.0, 900.0, 400.0)];
        assert_eq!(knee(&flat, 2), None, "3x is not a knee");
        let bent = [
            step(100.0, 300.0, 200.0),
            step(200.0, 250.0, 400.0),
            step(300.0, 1100.0, 600.0),
            step(400.0, 9000.0, 800.0),
        ];
        assert_eq!(knee(&bent, 2), Some(400.0), "1.1 ms is not 1 ms above 0.25");
        let small = [step(100.0, 10.0, 100.0), step(200.0, 900.0, 200.0)];
        assert_eq!(knee(&small, 1), None, "90x, but under 1 ms");
        let short = [step(100.0, 300.0, 200.0), step(200.0, 300.0, 370.0)];
        assert_eq!(knee(&short, 2), Some(200.0));
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1234567), "1,234,567");
    }

    #[test]
    fn a_report_compares_equal_to_itself_and_fails_a_worse_one() {
        let base = sample();
        let json = serde_json::to_value(&base).unwrap();
        assert!(!compare(&base, &json, 5.0).unwrap().regressed);
        let mut slower = sample();
        slower.throughput.msgs_per_s = 1800.0; // -10%
        let c = compare(&slower, &json, 5.0).unwrap();
        assert!(c.regressed, "{:?}", c.lines);
        assert!(!compare(&slower, &json, 15.0).unwrap().regressed);
        let mut laggier = sample();
        laggier.latency_us.p99 = 1200.0; // +20%
        assert!(compare(&laggier, &json, 10.0).unwrap().regressed);
        let faster = {
            let mut r = sample();
            r.throughput.msgs_per_s = 4000.0;
            r.latency_us.p99 = 10.0;
            r
        };
        assert!(!compare(&faster, &json, 0.0).unwrap().regressed);
    }

    #[test]
    fn a_baseline_without_the_fields_is_refused() {
        let err = compare(&sample(), &serde_json::json!({"x": 1}), 5.0).unwrap_err();
        assert!(err.contains("throughput.msgs_per_s"), "{err}");
    }

    #[test]
    fn the_table_shows_the_counts() {
        let t = sample().table();
        assert!(t.contains("delivered"), "{t}");
        assert!(t.contains("2,000"), "{t}");
        assert!(t.contains("lost 0"), "{t}");
    }
}
