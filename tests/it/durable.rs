//! `pubcat serve --data-dir`: what the broker confirmed is there after it
//! is killed (`kill -9`) and started again, with the same ids, and clients
//! following it lose and repeat nothing.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{Broker, Lines, assert_code, http, json_lines, pubcat, run_within};

fn durable(dir: &Path, at: &str, fsync: &str) -> Broker {
    Broker::start_at(at, &["--data-dir", dir.to_str().unwrap(), "--fsync", fsync])
}

/// Kill the broker as a crash would: SIGKILL, no chance to flush.
fn kill_9(mut broker: Broker) -> SocketAddr {
    let addr = broker.addr;
    broker.child.kill().unwrap();
    broker.child.wait().unwrap();
    addr
}

fn post(addr: SocketAddr, topic: &str, body: &str) -> u64 {
    let (status, answer) = http(addr, "POST", &format!("/{topic}"), body.as_bytes());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    v["id"].as_u64().unwrap()
}

#[test]
fn confirmed_messages_survive_kill_9_with_their_ids_and_ids_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let broker = durable(dir.path(), "127.0.0.1:0", "always");
    for i in 1..=50u64 {
        assert_eq!(post(broker.addr, "kept", &format!("m{i}")), i);
    }
    let addr = kill_9(broker);
    let broker = durable(dir.path(), &addr.to_string(), "always");
    broker.wait_for_log("1 topics with 50 messages");
    let url = format!("http://{addr}/kept?since=0");
    let out = run_within(
        &["sub", &url, "--transport", "sse", "-n", "50", "-o", "json"],
        Duration::from_secs(20),
    );
    assert_code(&out, 0);
    let got: Vec<(String, String)> = json_lines(&out.stdout)
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["body"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = (1..=50).map(|i| (i.to_string(), format!("m{i}"))).collect();
    assert_eq!(got, want);
    assert_eq!(post(broker.addr, "kept", "after"), 51);
}

#[test]
fn tail_follows_a_broker_killed_and_restarted_losing_and_repeating_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = durable(dir.path(), "127.0.0.1:0", "interval");
    let addr = broker.addr;
    let mut cmd = pubcat();
    cmd.args(["tail", &format!("http://{addr}/follow"), "-o", "raw"])
        .args([
            "--transport",
            "sse",
            "--backoff-min",
            "50ms",
            "--backoff-max",
            "200ms",
        ]);
    let tail = Lines::spawn(cmd);
    broker.wait_for_subscribers("follow", 1);
    for i in 1..=20 {
        post(addr, "follow", &i.to_string());
    }
    wait_for_lines(&tail, 20);
    let addr = kill_9(broker);
    let broker = durable(dir.path(), &addr.to_string(), "interval");
    broker.wait_for_subscribers("follow", 1);
    for i in 21..=40 {
        post(addr, "follow", &i.to_string());
    }
    wait_for_lines(&tail, 40);
    let (_, lines, stderr) = tail.stop();
    let want: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    assert_eq!(lines, want, "{stderr}");
    assert!(!stderr.contains("went back"), "{stderr}");
}

fn wait_for_lines(lines: &Lines, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while lines.count() < n {
        assert!(Instant::now() < deadline, "{} of {n} lines", lines.count());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn unacknowledged_queue_messages_are_redelivered_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let broker = durable(dir.path(), "127.0.0.1:0", "always");
    let stomp = format!("stomp+ws://{}/_/stomp", broker.addr);
    // Receipts: each SEND is confirmed before the next.
    let out = run_within(
        &[
            "pub",
            &stomp,
            "-t",
            "/queue/jobs",
            "--confirm",
            "j1",
            "j2",
            "j3",
        ],
        Duration::from_secs(20),
    );
    assert_code(&out, 0);
    // One is taken and acknowledged: it must not come back.
    let out = run_within(
        &["sub", &stomp, "-t", "/queue/jobs", "-n", "1", "-o", "raw"],
        Duration::from_secs(20),
    );
    assert_code(&out, 0);
    assert_eq!(out.stdout, b"j1\n");
    let addr = kill_9(broker);
    let broker = durable(dir.path(), &addr.to_string(), "always");
    broker.wait_for_log("2 queued messages restored");
    let out = run_within(
        &["sub", &stomp, "-t", "/queue/jobs", "-n", "2", "-o", "json"],
        Duration::from_secs(20),
    );
    assert_code(&out, 0);
    let got: Vec<(String, String)> = json_lines(&out.stdout)
        .iter()
        .map(|v| {
            (
                v["body"].as_str().unwrap().to_string(),
                v["headers"]["redelivered"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [("j2".into(), "true".into()), ("j3".into(), "true".into())]
    );
}

#[test]
fn a_torn_write_is_cut_off_with_a_warning_and_a_second_broker_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let broker = durable(dir.path(), "127.0.0.1:0", "always");
    post(broker.addr, "t", "whole");
    // A second broker on the same directory.
    let out = run_within(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
        Duration::from_secs(20),
    );
    let stderr = assert_code(&out, 6);
    assert!(stderr.contains("another pubcat serve"), "{stderr}");
    let addr = kill_9(broker);
    // What a crash in the middle of a write leaves: half a record.
    let log = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .unwrap();
    let mut bytes = std::fs::read(&log).unwrap();
    let whole = bytes.len();
    let half = bytes[..whole / 2].to_vec();
    bytes.extend_from_slice(&half);
    std::fs::write(&log, &bytes).unwrap();
    let broker = durable(dir.path(), &addr.to_string(), "always");
    broker.wait_for_log("cut off the last");
    broker.wait_for_log("1 topics with 1 messages");
    assert_eq!(post(broker.addr, "t", "next"), 2);
}
