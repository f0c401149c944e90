//! Tools we did not write, reading what pubcat writes: the Python
//! HdrHistogram package decodes bench's `latency_us.hdr` and
//! `connect_us.hdr`, and kubernetes-validate checks
//! `deploy/kubernetes/bench-job.yaml` against the Kubernetes API schema,
//! offline. `bash tests/peers/tools.sh start` installs both (tests/interop.sh
//! does); then `cargo test --test interop tools:: -- --include-ignored`.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{BIN, Broker, assert_code, pubcat};

const INSTALL: &str = "needs python's hdrhistogram and kubernetes-validate: `bash tests/peers/tools.sh start` installs them";

/// The repository's file at `path`.
fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .to_str()
        .unwrap()
        .to_string()
}

/// Python's HdrHistogram, given a report, prints each histogram's count,
/// min, max and percentiles in µs as pubcat's report gives them.
const DECODE: &str = r#"
import json, sys
from hdrh.histogram import HdrHistogram
r = json.load(sys.stdin)
out = {}
for name in ("latency_us", "connect_us"):
    h = HdrHistogram.decode(r[name]["hdr"])
    out[name] = {
        "count": h.get_total_count(),
        "min": h.get_min_value() / 1e3,
        "max": h.get_max_value() / 1e3,
        "p50": h.get_value_at_percentile(50) / 1e3,
        "p90": h.get_value_at_percentile(90) / 1e3,
        "p99": h.get_value_at_percentile(99) / 1e3,
        "p999": h.get_value_at_percentile(99.9) / 1e3,
    }
if len(sys.argv) > 1:
    from hdrh.log import HistogramLogReader
    reader = HistogramLogReader(sys.argv[1], HdrHistogram(1, 3600 * 10**9, 3))
    seconds = []
    while (h := reader.get_next_interval_histogram()) is not None:
        seconds.append(h.get_total_count())
    out["hlog"] = seconds
print(json.dumps(out))
"#;

/// An independent decoder (HdrHistogram's Python port) reads the report's
/// histograms and gets the very percentiles the report printed, and reads
/// `--hlog`'s interval log: its seconds hold every latency the report
/// counted.
#[test]
#[ignore = "needs python's hdrhistogram and kubernetes-validate: `bash tests/peers/tools.sh start` installs them"]
fn python_hdrhistogram_reads_the_reports_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let hlog = dir.path().join("run.hlog");
    let out = pubcat()
        .args(["bench", "--duration", "2s", "--rate", "5000", "--subs", "3"])
        .args(["--json", "--hlog", hlog.to_str().unwrap()])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut python = Command::new("python3")
        .args(["-c", DECODE, hlog.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    std::io::Write::write_all(python.stdin.as_mut().unwrap(), &out.stdout).unwrap();
    let decoded = python.wait_with_output().unwrap();
    assert!(
        decoded.status.success(),
        "{INSTALL}: {}",
        String::from_utf8_lossy(&decoded.stderr)
    );
    let decoded: Value = serde_json::from_slice(&decoded.stdout).unwrap();
    let seconds: Vec<u64> = decoded["hlog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(seconds.len() >= 2, "{seconds:?}");
    assert_eq!(
        seconds.iter().sum::<u64>(),
        report["latency_us"]["count"].as_u64().unwrap(),
        "{seconds:?}"
    );
    assert!(
        report["latency_us"]["count"].as_u64().unwrap() > 5000,
        "{report}"
    );
    for (name, fields) in [
        (
            "latency_us",
            &["count", "min", "max", "p50", "p90", "p99", "p999"][..],
        ),
        ("connect_us", &["count", "max", "p50", "p99"][..]),
    ] {
        for f in fields {
            assert_eq!(
                decoded[name][f].as_f64(),
                report[name][f].as_f64(),
                "{name}.{f}: python {decoded}, pubcat {}",
                report[name]
            );
        }
    }
}

/// The Job manifest is valid against the Kubernetes API schema, strictly
/// (no field the API does not know); the validator does refuse a broken one.
#[test]
#[ignore = "needs python's hdrhistogram and kubernetes-validate: `bash tests/peers/tools.sh start` installs them"]
fn the_kubernetes_manifest_validates() {
    let manifest = repo("deploy/kubernetes/bench-job.yaml");
    let validate = |path: &str| {
        Command::new("kubernetes-validate")
            .args(["--strict", path])
            .output()
            .unwrap_or_else(|e| panic!("{INSTALL}: {e}"))
    };
    let out = validate(&manifest);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("completionMode: Indexed"));
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        text.replace("parallelism: 3", "parallelism: three"),
    )
    .unwrap();
    assert!(!validate(broken.to_str().unwrap()).status.success());
}

/// The manifest's pod command, run as the Job would run it: three
/// processes, each with its JOB_COMPLETION_INDEX, the URL (a `pubcat
/// serve`) and one START, a shorter --duration. Each prints its report
/// alone on stdout (what `kubectl logs` collects), and `bench merge` adds
/// them up: nothing lost, three shards.
#[test]
#[ignore = "needs python's hdrhistogram and kubernetes-validate: `bash tests/peers/tools.sh start` installs them"]
fn the_jobs_pods_run_as_shards_whose_logs_merge() {
    let script = r#"
import sys, yaml
job = yaml.safe_load(open(sys.argv[1]))
c = job["spec"]["template"]["spec"]["containers"][0]
print(c["args"][0])
"#;
    let out = Command::new("python3")
        .args(["-c", script, &repo("deploy/kubernetes/bench-job.yaml")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{INSTALL}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let command = String::from_utf8(out.stdout).unwrap();
    assert!(command.contains("--duration 60s"), "{command}");
    let command = command.replace("--duration 60s", "--duration 2s");

    let broker = Broker::start();
    let start = (chrono::Utc::now() + chrono::Duration::seconds(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let pods: Vec<_> = (0..3)
        .map(|i| {
            Command::new("/bin/sh")
                .args(["-c", &command])
                .env("PATH", &path)
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .env("URL", broker.url("k8s"))
                .env("START", &start)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut logs = Vec::new();
    for (i, pod) in pods.into_iter().enumerate() {
        let out = pod.wait_with_output().unwrap();
        let log = [out.stdout.clone(), out.stderr.clone()].concat();
        assert_code(&out, 0);
        // The pod's log (stdout and stderr) is the report alone.
        let report: Value = serde_json::from_slice(&log).unwrap_or_else(|e| {
            panic!(
                "pod {i}'s log is not one report ({e}): {}",
                String::from_utf8_lossy(&log)
            )
        });
        assert_eq!(report["shard"]["index"], i);
        let file = dir.path().join(format!("shard-{i}.json"));
        std::fs::write(&file, &log).unwrap();
        logs.push(file.to_str().unwrap().to_string());
    }
    let out = pubcat()
        .args(["bench", "merge", "--json"])
        .args(&logs)
        .output()
        .unwrap();
    assert_code(&out, 0);
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(merged["shards"].as_array().unwrap().len(), 3);
    assert_eq!(merged["lost"], 0);
    assert_eq!(
        merged["expected"].as_u64().unwrap(),
        merged["sent"].as_u64().unwrap() * merged["config"]["subs"].as_u64().unwrap()
    );
    assert!(merged["sent"].as_u64().unwrap() >= 60_000, "{merged}");
}
