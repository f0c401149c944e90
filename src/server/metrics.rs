//! `GET /_/metrics`: the numbers of `/_/stats` in the Prometheus text
//! format, so a dashboard can scrape the broker.
//!
//! One source, two formats: the stats are flattened, each number a series
//! named by its path (`refused.topics` is `pubcat_refused_topics_total`).
//! Counters (they only grow) end in `_total`; what goes up and down
//! (connections, subscribers, bytes kept, messages waiting) is a gauge.
//! Per-topic and per-queue series carry a `topic` or `queue` label for the
//! first [`MAX_LABELLED`] by name only, so a broker with 10,000 topics does
//! not make 10,000 series; `pubcat_topics` and `pubcat_queues` count them
//! all.

use std::fmt::Write;

use serde_json::Value;

/// Topics (and queues) that get series of their own.
pub const MAX_LABELLED: usize = 100;

/// The numbers that go up and down, by path; every other is a counter.
const GAUGES: &[&str] = &[
    "connections",
    "transport_connections",
    "kept_bytes",
    "topics",
    "queues",
    "topic_subscribers",
    "topic_history",
    "topic_history_bytes",
    "topic_last_id",
    "queue_ready",
    "queue_unacked",
    "queue_consumers",
];

/// The Prometheus text for `stats` (the JSON `/_/stats` answers).
pub fn render(stats: &Value) -> String {
    let mut out = String::new();
    let Value::Object(map) = stats else {
        return out;
    };
    for (key, value) in map {
        match (key.as_str(), value) {
            ("topics", Value::Array(items)) => labelled(&mut out, "topic", items),
            ("queues", Value::Array(items)) => labelled(&mut out, "queue", items),
            ("transports", Value::Object(by)) => by_transport(&mut out, by),
            _ => flat(&mut out, key, value),
        }
    }
    out
}

/// Every number under `value`, named by its path.
fn flat(out: &mut String, path: &str, value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                flat(out, &format!("{path}_{key}"), v);
            }
        }
        Value::Number(n) => series(out, path, &[], n),
        _ => {}
    }
}

/// `connections` by transport: one gauge, a series per transport.
fn by_transport(out: &mut String, by: &serde_json::Map<String, Value>) {
    header(out, "transport_connections");
    for (transport, n) in by {
        if let Value::Number(n) = n {
            sample(out, "transport_connections", &[("transport", transport)], n);
        }
    }
}

/// Per-topic (or per-queue) series for the first [`MAX_LABELLED`], and
/// how many there are.
fn labelled(out: &mut String, label: &str, items: &[Value]) {
    let plural = format!("{label}s");
    let count = serde_json::Number::from(items.len());
    series(out, &plural, &[], &count);
    // One HELP/TYPE block per metric, its series together.
    let mut names: Vec<String> = Vec::new();
    for item in items.iter().take(MAX_LABELLED) {
        if let Value::Object(map) = item {
            for (key, v) in map {
                if v.is_number() && !names.contains(key) {
                    names.push(key.clone());
                }
            }
        }
    }
    for name in names {
        let metric = format!("{label}_{name}");
        let mut first = true;
        for item in items.iter().take(MAX_LABELLED) {
            let (Some(id), Some(Value::Number(n))) =
                (item.get(label).and_then(Value::as_str), item.get(&name))
            else {
                continue;
            };
            if first {
                header(out, &metric);
                first = false;
            }
            sample(out, &metric, &[(label, id)], n);
        }
    }
}

/// One unlabelled series: its TYPE line and its sample.
fn series(out: &mut String, path: &str, labels: &[(&str, &str)], n: &serde_json::Number) {
    header(out, path);
    sample(out, path, labels, n);
}

fn name(path: &str) -> String {
    let base = format!("pubcat_{}", path.replace(['.', '-'], "_"));
    if GAUGES.contains(&path) {
        base
    } else {
        format!("{base}_total")
    }
}

fn header(out: &mut String, path: &str) {
    let kind = if GAUGES.contains(&path) {
        "gauge"
    } else {
        "counter"
    };
    let _ = writeln!(out, "# TYPE {} {kind}", name(path));
}

fn sample(out: &mut String, path: &str, labels: &[(&str, &str)], n: &serde_json::Number) {
    out.push_str(&name(path));
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {n}");
}

/// A label value as the text format wants it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_become_counters_and_gauges_with_bounded_labels() {
        let mut topics: Vec<Value> = (0..150)
            .map(|i| {
                serde_json::json!({"topic": format!("t{i:03}"), "last_id": i, "subscribers": 1})
            })
            .collect();
        topics[0]["topic"] = Value::from("a\"b\\c\nd");
        let stats = serde_json::json!({
            "connections": 3,
            "refused_connections": 2,
            "topics": topics,
            "queues": [],
            "refused": {"topics": 4},
            "kept_bytes": 10,
        });
        let text = render(&stats);
        assert!(
            text.contains("# TYPE pubcat_connections gauge\npubcat_connections 3\n"),
            "{text}"
        );
        assert!(
            text.contains("pubcat_refused_connections_total 2\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "# TYPE pubcat_refused_topics_total counter\npubcat_refused_topics_total 4\n"
            ),
            "{text}"
        );
        assert!(text.contains("pubcat_kept_bytes 10\n"), "{text}");
        assert!(text.contains("pubcat_topics 150\n"), "{text}");
        assert!(text.contains("pubcat_queues 0\n"), "{text}");
        assert!(
            text.contains("pubcat_topic_last_id{topic=\"a\\\"b\\\\c\\nd\"} 0\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("pubcat_topic_subscribers{").count(),
            MAX_LABELLED
        );
        assert_eq!(
            text.matches("# TYPE pubcat_topic_subscribers gauge")
                .count(),
            1
        );
        // Every line is a comment or `name{labels} value`.
        for line in text.lines() {
            assert!(
                line.starts_with("# TYPE ")
                    || line
                        .rsplit_once(' ')
                        .is_some_and(|(_, v)| v.parse::<f64>().is_ok()),
                "{line}"
            );
        }
    }
}
