//! `--gate 'p99<5ms'`: a figure of the report held to a bound, for CI. A
//! gate is `FIGURE OP VALUE`: OP one of `<`, `<=`, `>`, `>=`, `==`, `!=`;
//! a latency figure (`min`, `p50`, `p90`, `p99`, `p999`, `max`, `mean`,
//! and `connect_p50`, `connect_p99`) takes a time with its unit (`ns`,
//! `us`, `ms`, `s`); a rate (`msgs_per_s`, `bytes_per_s`,
//! `published_msgs_per_s`, and with `--ramp` `knee_msgs_per_s`) or a count (`sent`, `received`, `lost`,
//! `duplicated`, `reordered`, `errors`) a plain number.

use super::report::Report;

#[derive(Clone, Debug, PartialEq)]
pub struct Gate {
    /// As typed, to name it.
    pub text: String,
    figure: Figure,
    op: Op,
    /// In the figure's own unit (µs for times).
    value: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Figure {
    Latency(&'static str),
    Connect(&'static str),
    Rate(&'static str),
    Count(&'static str),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

const LATENCY: [&str; 7] = ["min", "p50", "p90", "p99", "p999", "max", "mean"];
const RATES: [&str; 4] = [
    "msgs_per_s",
    "bytes_per_s",
    "published_msgs_per_s",
    "knee_msgs_per_s",
];
const COUNTS: [&str; 6] = [
    "sent",
    "received",
    "lost",
    "duplicated",
    "reordered",
    "errors",
];

impl Gate {
    /// True for a figure only the merged report of a run's shards has
    /// (`lost`, the knee: the other shards' subscribers count too).
    pub fn needs_merge(&self) -> bool {
        matches!(
            self.figure,
            Figure::Count("lost") | Figure::Rate("knee_msgs_per_s")
        )
    }

    /// Parse `--gate`'s text; the error says what is wrong and what is known.
    pub fn parse(text: &str) -> Result<Gate, String> {
        let at = text
            .find(['<', '>', '=', '!'])
            .ok_or_else(|| String::from("no comparison (<, <=, >, >=, ==, !=)"))?;
        let (name, rest) = text.split_at(at);
        let (op, value) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .into_iter()
        .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (op, v)))
        .ok_or_else(|| String::from("no comparison (<, <=, >, >=, ==, !=)"))?;
        let name = name.trim();
        let figure = figure(name).ok_or_else(|| {
            format!(
                "no figure `{name}`: one of {}, connect_p50, connect_p99, {}, {}",
                LATENCY.join(", "),
                RATES.join(", "),
                COUNTS.join(", ")
            )
        })?;
        let value = value.trim();
        let value = match figure {
            Figure::Latency(_) | Figure::Connect(_) => micros(value)
                .ok_or_else(|| format!("`{value}` is not a time with its unit (5ms, 250us, 1s)"))?,
            Figure::Rate(_) | Figure::Count(_) => value
                .replace('_', "")
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("`{value}` is not a number"))?,
        };
        Ok(Gate {
            text: text.to_string(),
            figure,
            op,
            value,
        })
    }

    /// Whether the report passes, and the figure as it was, for the line
    /// that says so.
    pub fn check(&self, r: &Report) -> (bool, String) {
        let (actual, shown) = match self.figure {
            Figure::Latency(p) => {
                let v = latency(&r.latency_us, p);
                (v, format!("{p} is {}", show_micros(v)))
            }
            Figure::Connect(p) => {
                let v = if p == "p50" {
                    r.connect_us.p50
                } else {
                    r.connect_us.p99
                };
                (v, format!("connect_{p} is {}", show_micros(v)))
            }
            Figure::Rate("knee_msgs_per_s") => match &r.ramp {
                None => return (false, "no --ramp in this run, so no knee".into()),
                Some(ramp) => match ramp.knee_msgs_per_s {
                    Some(v) => (v, format!("knee_msgs_per_s is {v:.0}")),
                    // No knee up to the top of the ramp: at least that.
                    None => (ramp.to, format!("no knee up to {:.0} msgs/s", ramp.to)),
                },
            },
            Figure::Rate(name) => {
                let t = &r.throughput;
                let v = match name {
                    "msgs_per_s" => t.msgs_per_s,
                    "bytes_per_s" => t.bytes_per_s,
                    _ => t.published_msgs_per_s,
                };
                (v, format!("{name} is {v:.0}"))
            }
            Figure::Count(name) => {
                let c = &r.counts;
                let v = match name {
                    "sent" => c.sent,
                    "received" => c.received,
                    "lost" => c.lost,
                    "duplicated" => c.duplicated,
                    "reordered" => c.reordered,
                    _ => r.errors,
                } as f64;
                (v, format!("{name} is {v}"))
            }
        };
        let pass = match self.op {
            Op::Lt => actual < self.value,
            Op::Le => actual <= self.value,
            Op::Gt => actual > self.value,
            Op::Ge => actual >= self.value,
            Op::Eq => actual == self.value,
            Op::Ne => actual != self.value,
        };
        (pass, shown)
    }
}

fn figure(name: &str) -> Option<Figure> {
    if let Some(p) = name.strip_prefix("connect_") {
        return ["p50", "p99"]
            .into_iter()
            .find(|k| *k == p)
            .map(Figure::Connect);
    }
    LATENCY
        .into_iter()
        .find(|k| *k == name)
        .map(Figure::Latency)
        .or_else(|| RATES.into_iter().find(|k| *k == name).map(Figure::Rate))
        .or_else(|| COUNTS.into_iter().find(|k| *k == name).map(Figure::Count))
}

fn latency(l: &super::report::Latency, p: &str) -> f64 {
    match p {
        "min" => l.min,
        "p50" => l.p50,
        "p90" => l.p90,
        "p99" => l.p99,
        "p999" => l.p999,
        "max" => l.max,
        _ => l.mean,
    }
}

/// `5ms` in microseconds.
fn micros(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic() || c == 'µ')?;
    let (n, unit) = text.split_at(split);
    let n: f64 = n
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
    let scale = match unit {
        "ns" => 1e-3,
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        _ => return None,
    };
    Some(n * scale)
}

fn show_micros(us: f64) -> String {
    if us >= 1e3 {
        format!("{:.3} ms", us / 1e3)
    } else {
        format!("{us:.1} µs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The knee of a ramp: where it is, or the top of the ramp when none
    /// was found; a run without a ramp fails the gate, saying so.
    #[test]
    fn the_knee_gates_a_ramp() {
        let gate = Gate::parse("knee_msgs_per_s>=50000").unwrap();
        let mut r = report();
        assert!(!gate.check(&r).0);
        assert!(gate.check(&r).1.contains("no --ramp"));
        r.ramp = Some(crate::bench::report::RampReport {
            from: 1000.0,
            to: 80_000.0,
            over_s: 10.0,
            steps: Vec::new(),
            knee_msgs_per_s: Some(42_000.0),
        });
        assert_eq!(gate.check(&r), (false, "knee_msgs_per_s is 42000".into()));
        r.ramp.as_mut().unwrap().knee_msgs_per_s = None;
        assert_eq!(gate.check(&r), (true, "no knee up to 80000 msgs/s".into()));
    }

    fn report() -> Report {
        let mut r = crate::bench::report::tests::sample();
        r.latency_us.p99 = 4_200.0; // 4.2 ms
        r.counts.lost = 0;
        r.throughput.msgs_per_s = 150_000.0;
        r
    }

    #[test]
    fn gates_pass_and_fail_on_the_report() {
        let r = report();
        for (text, pass) in [
            ("p99<5ms", true),
            ("p99 < 4ms", false),
            ("p99<=4200us", true),
            ("lost==0", true),
            ("lost!=0", false),
            ("msgs_per_s>100000", true),
            ("msgs_per_s>=200_000", false),
            ("max<1s", true),
        ] {
            let g = Gate::parse(text).unwrap();
            assert_eq!(g.check(&r).0, pass, "{text}: {}", g.check(&r).1);
        }
        assert_eq!(
            Gate::parse("p99<5ms").unwrap().check(&r).1,
            "p99 is 4.200 ms"
        );
    }

    #[test]
    fn bad_gates_say_what_is_wrong() {
        for (text, says) in [
            ("p99", "no comparison"),
            ("p98<5ms", "no figure `p98`"),
            ("p99<5", "not a time with its unit"),
            ("p99<5parsecs", "not a time"),
            ("lost==none", "not a number"),
            ("connect_p90<1ms", "no figure"),
        ] {
            let e = Gate::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
