//! `pubcat bench merge A.json B.json …`: reports of runs made apart (the
//! shards of one run on several machines) as one report. Percentiles do not
//! average: each report carries its latency and connect histograms whole
//! (`latency_us.hdr`, `connect_us.hdr`), and the merged percentiles are
//! those of their sum, exact to the histograms' 3 significant digits.
//! Errors are summed; rates are over the union of the measured windows
//! (from the first to start to the last to end, on the machines' clocks);
//! the per-connection rates are listed side by side.
//!
//! The shards of one run (`--shard`) are added up by publisher: each
//! shard's subscribers heard every shard's publishers, so a stream's loss
//! is known only once what its publisher sent and what every subscriber
//! received are together. Reports of separate runs have their counts
//! summed.

use std::collections::BTreeMap;

use super::report::{
    Connect, IdleConnections, Latency, RampReport, Report, ShardInfo, Window, decode_hdr, fan,
    per_second,
};
use super::schedule::Ramp;
use super::tally::{self, Delivery, Step, new_histogram};

/// One saved report and where it came from (for the messages).
pub struct Saved {
    pub name: String,
    pub report: Report,
}

/// The merged report; the error names the report and what is wrong.
pub fn merge(saved: &[Saved], force: bool) -> Result<Report, String> {
    let Some(first) = saved.first() else {
        return Err("no reports to merge".into());
    };
    let config = serde_json::to_value(&first.report.config).map_err(|e| e.to_string())?;
    for s in &saved[1..] {
        let other = serde_json::to_value(&s.report.config).map_err(|e| e.to_string())?;
        if let Some((key, a, b)) = first_difference(&config, &other)
            && !force
        {
            return Err(format!(
                "{} was not the same run as {}: config.{key} is {b} there and {a} here (--force merges them anyway)",
                s.name, first.name
            ));
        }
    }
    let shards = check_shards(saved, force)?;
    let mut ramp: Option<(Ramp, Vec<Step>)> = None;
    let mut latency = new_histogram();
    let mut connect = new_histogram();
    let mut merged = first.report.clone();
    merged.counts = Default::default();
    merged.streams = Vec::new();
    merged.shard = None;
    merged.errors = 0;
    merged.errors_by_kind = BTreeMap::new();
    merged.throughput = Default::default();
    merged.idle_connections = None;
    let mut window: Option<Window> = None;
    for s in saved {
        let r = &s.report;
        let hist = |what: &str, hdr: &Option<String>| {
            let text = hdr.as_deref().ok_or_else(|| {
                format!(
                    "{} has no {what} histogram (an older pubcat wrote it, without them): run it again",
                    s.name
                )
            })?;
            decode_hdr(text).map_err(|e| format!("{}: {what}.hdr is {e}", s.name))
        };
        latency
            .add(hist("latency_us", &r.latency_us.hdr)?)
            .map_err(|e| format!("{}: latency_us.hdr: {e}", s.name))?;
        connect
            .add(hist("connect_us", &r.connect_us.hdr)?)
            .map_err(|e| format!("{}: connect_us.hdr: {e}", s.name))?;
        if shards.is_empty() {
            let c = &mut merged.counts;
            c.sent += r.counts.sent;
            c.received += r.counts.received;
            c.expected += r.counts.expected;
            c.lost += r.counts.lost;
            c.duplicated += r.counts.duplicated;
            c.reordered += r.counts.reordered;
            merged.streams.extend(r.streams.iter().cloned());
        } else {
            tally::add(&mut merged.streams, &r.streams);
        }
        merged.latency_us.across_hosts |= r.latency_us.across_hosts;
        if let Some(i) = &r.idle_connections {
            let m = merged.idle_connections.get_or_insert(IdleConnections {
                asked: 0,
                opened: 0,
                connect_per_s: 0.0,
                rss_bytes_per_connection: 0.0,
                closed: 0,
            });
            // Memory per connection weighted by the connections opened;
            // the machines opened theirs side by side, so rates add.
            let opened = m.opened + i.opened;
            if opened > 0 {
                m.rss_bytes_per_connection = (m.rss_bytes_per_connection * m.opened as f64
                    + i.rss_bytes_per_connection * i.opened as f64)
                    / opened as f64;
            }
            m.asked += i.asked;
            m.opened = opened;
            m.connect_per_s += i.connect_per_s;
            m.closed += i.closed;
        }
        if let Some(rr) = &r.ramp {
            let (shape, steps) = rr.parts().map_err(|e| format!("{}: {e}", s.name))?;
            match &mut ramp {
                None => ramp = Some((shape, steps)),
                Some((_, all)) => {
                    for (a, b) in all.iter_mut().zip(&steps) {
                        a.delivered += b.delivered;
                        a.latency_ns
                            .add(&b.latency_ns)
                            .map_err(|e| format!("{}: a ramp step's histogram: {e}", s.name))?;
                    }
                }
            }
        }
        merged.errors += r.errors;
        for (kind, n) in &r.errors_by_kind {
            *merged.errors_by_kind.entry(kind.clone()).or_default() += n;
        }
        let t = &mut merged.throughput;
        t.delivered += r.throughput.delivered;
        t.delivered_bytes += r.throughput.delivered_bytes;
        t.published += r.throughput.published;
        t.published_bytes += r.throughput.published_bytes;
        t.per_publisher.extend(&r.throughput.per_publisher);
        t.per_subscriber.extend(&r.throughput.per_subscriber);
        window = Some(match window {
            None => r.window,
            Some(w) => Window {
                start_unix_ms: w.start_unix_ms.min(r.window.start_unix_ms),
                end_unix_ms: w.end_unix_ms.max(r.window.end_unix_ms),
            },
        });
        if !std::ptr::eq(s, first) {
            for a in &r.source_addresses {
                match merged
                    .source_addresses
                    .iter_mut()
                    .find(|m| m.address == a.address)
                {
                    Some(m) => m.connections += a.connections,
                    None => merged.source_addresses.push(a.clone()),
                }
            }
        }
        if r.url != merged.url {
            merged.url = "(several URLs)".into();
        }
        merged.embedded &= r.embedded;
    }
    let window = window.unwrap_or_default();
    let secs = window.secs();
    let t = &mut merged.throughput;
    t.msgs_per_s = per_second(t.delivered, secs);
    t.bytes_per_s = per_second(t.delivered_bytes, secs);
    t.published_msgs_per_s = per_second(t.published, secs);
    t.published_bytes_per_s = per_second(t.published_bytes, secs);
    merged.window = window;
    merged.measured_s = secs;
    let across_hosts = merged.latency_us.across_hosts;
    merged.latency_us = Latency::from_ns(&latency);
    merged.latency_us.across_hosts = across_hosts;
    merged.connect_us = Connect::from_ns(&connect);
    let delivery = match merged.config.delivery.as_str() {
        "queue" => Delivery::Queue,
        _ => Delivery::FanOut,
    };
    // The subscribers of the run: the shards', or every run's.
    let subscribers: usize = if shards.is_empty() {
        saved.iter().map(|s| s.report.config.subs).sum()
    } else {
        shards.iter().map(|s| s.subs).sum()
    };
    if !shards.is_empty() {
        merged.counts = tally::count(&merged.streams, subscribers as u64, delivery);
        merged.shards = shards;
    }
    merged.ramp = ramp.map(|(shape, steps)| {
        RampReport::of(
            &shape,
            merged.config.rate,
            &steps,
            fan(delivery, subscribers),
        )
    });
    Ok(merged)
}

/// The shards of one run, in order (none when the reports are of separate
/// runs). Reports of shards and of whole runs do not mix, and every shard
/// of the run must be there (unless `force`).
fn check_shards(saved: &[Saved], force: bool) -> Result<Vec<ShardInfo>, String> {
    let Some(first) = saved.iter().find(|s| s.report.shard.is_some()) else {
        return Ok(Vec::new());
    };
    let count = first.report.shard.as_ref().map_or(1, |s| s.count);
    let mut shards: Vec<(ShardInfo, &str)> = Vec::new();
    for s in saved {
        let Some(info) = &s.report.shard else {
            return Err(format!(
                "{} is a whole run's report and {} a shard's: merge the shards of one run",
                s.name, first.name
            ));
        };
        if info.count != count {
            return Err(format!(
                "{} is shard {}/{} and {} one of {count}: merge the shards of one run",
                s.name, info.index, info.count, first.name
            ));
        }
        if let Some((_, other)) = shards.iter().find(|(i, _)| i.index == info.index) {
            return Err(format!(
                "{} and {other} are both shard {}/{count}",
                s.name, info.index
            ));
        }
        shards.push((info.clone(), &s.name));
    }
    shards.sort_by_key(|(i, _)| i.index);
    let missing: Vec<String> = (0..count)
        .filter(|i| !shards.iter().any(|(s, _)| s.index == *i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() && !force {
        return Err(format!(
            "shard {} is missing: loss is known only with every shard's report (--force merges what there is)",
            missing.join(", ")
        ));
    }
    Ok(shards.into_iter().map(|(i, _)| i).collect())
}

/// The first config field (in `a`'s order) whose value differs: its name
/// and both values.
fn first_difference(
    a: &serde_json::Value,
    b: &serde_json::Value,
) -> Option<(String, String, String)> {
    let (a, b) = (a.as_object()?, b.as_object()?);
    a.iter().find_map(|(key, va)| {
        let vb = b.get(key).unwrap_or(&serde_json::Value::Null);
        (va != vb).then(|| (key.clone(), va.to_string(), vb.to_string()))
    })
}
