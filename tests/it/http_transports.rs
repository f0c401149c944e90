//! SSE, long-poll and HTTP publish against the embedded broker: a message
//! published by any transport reaches subscribers on every transport.

use std::process::Stdio;
use std::time::Duration;

use crate::common::{self, Broker, assert_code, collect, pubcat, wait_with_timeout};

const LIMIT: Duration = Duration::from_secs(120);

fn spawn_sub(url: &str, extra: &[&str]) -> std::process::Child {
    pubcat()
        .arg("sub")
        .arg(url)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn subscriber")
}

fn publish(url: &str, input: &[u8]) {
    common::publish_input(url, input, LIMIT);
}

#[test]
fn every_transport_receives_the_same_10000_messages_in_order_exactly_once() {
    let broker = Broker::start_with(&["--history", "20000"]);
    let n = "10000";
    let http = format!("http://{}/mixed", broker.addr);
    let ws = spawn_sub(
        &broker.url("mixed"),
        &["-n", n, "-o", "raw", "--timeout", "100s"],
    );
    let sse = spawn_sub(&http, &["-n", n, "-o", "raw", "--timeout", "100s"]);
    broker.wait_for_subscribers("mixed", 2);
    // The long-poll subscriber starts from the beginning of history, so it
    // needs no live registration to see everything.
    let poll = spawn_sub(
        &format!("{http}?since=0"),
        &[
            "--transport",
            "poll",
            "-n",
            n,
            "-o",
            "raw",
            "--timeout",
            "100s",
        ],
    );

    let first: String = (1..=5000).map(|i| format!("ws {i}\n")).collect();
    let second: String = (5001..=10000).map(|i| format!("http {i}\n")).collect();
    publish(&broker.url("mixed"), first.as_bytes());
    publish(&http, second.as_bytes());
    let want = format!("{first}{second}");

    for (name, mut child) in [("ws", ws), ("sse", sse), ("poll", poll)] {
        let out = collect(child.stdout.take().unwrap());
        let err = collect(child.stderr.take().unwrap());
        let status = wait_with_timeout(&mut child, LIMIT);
        let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
        assert!(status.success(), "{name} subscriber failed: {stderr}");
        let got = out.join().unwrap();
        assert!(
            got == want.as_bytes(),
            "{name}: {} bytes, not the 10,000 messages in order",
            got.len()
        );
    }
}

#[test]
fn sse_events_carry_the_brokers_ids() {
    let broker = Broker::start();
    for body in ["a", "b"] {
        let (status, _) = common::http(broker.addr, "POST", "/ids", body.as_bytes());
        assert_eq!(status, 200);
    }
    let out = pubcat()
        .args([
            "sub",
            &format!("http://{}/ids?since=0", broker.addr),
            "-n",
            "2",
            "-o",
            "json",
            "--timeout",
            "20s",
        ])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let ids = common::json_strings(&out.stdout, "id");
    assert_eq!(ids, ["1", "2"]);
}

#[test]
fn http_publish_with_confirm_reports_the_ids() {
    let broker = Broker::start();
    let out = pubcat()
        .args([
            "pub",
            &format!("http://{}/conf", broker.addr),
            "x",
            "y",
            "--confirm",
        ])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 0);
    assert!(
        stderr.contains("message 1 confirmed, id 1")
            && stderr.contains("message 2 confirmed, id 2"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn an_http_error_on_publish_exits_4_with_the_status() {
    let broker = Broker::start_with(&["--max-message-size", "10"]);
    let out = pubcat()
        .args([
            "pub",
            &format!("http://{}/small", broker.addr),
            "this is longer than ten bytes",
        ])
        .output()
        .unwrap();
    assert_code(&out, 4);
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 413"));
}

/// A long-poll subscriber asks over one kept-alive connection: a request
/// started and dropped between answers used to cost a new connection per
/// message.
#[test]
fn long_poll_keeps_its_connection_across_answers() {
    let broker = Broker::start_with(&["-v"]);
    let mut sub = spawn_sub(
        &format!("http://{}/keep", broker.addr),
        &[
            "--transport",
            "poll",
            "-n",
            "20",
            "-o",
            "raw",
            "--timeout",
            "60s",
        ],
    );
    let out = collect(sub.stdout.take().unwrap());
    broker.wait_for_log("poll ");
    let mut cmd = pubcat();
    cmd.args(["pub", &broker.url("keep"), "--rate", "100"]);
    let input: String = (1..=20).map(|i| format!("m{i}\n")).collect();
    let (status, stderr) = common::run_with_input(cmd, input.as_bytes(), LIMIT);
    assert!(status.success(), "{stderr}");
    assert!(wait_with_timeout(&mut sub, LIMIT).success());
    assert_eq!(
        String::from_utf8_lossy(&out.join().unwrap())
            .lines()
            .count(),
        20
    );
    let log = broker.log.lock().unwrap().clone();
    let polls: Vec<&String> = log.iter().filter(|l| l.contains("poll ")).collect();
    let peers: std::collections::HashSet<&str> =
        polls.iter().filter_map(|l| l.split(' ').nth(2)).collect();
    assert!(polls.len() >= 5, "the 20 came in {} answers", polls.len());
    assert!(
        peers.len() <= 2,
        "{} requests on {} connections",
        polls.len(),
        peers.len()
    );
}

/// A long-poll backlog of messages each within --max-message-size comes,
/// however many: pubcat serve answers at most 1 MiB of them at a time, and
/// the client's limit is per message (a whole answer over it used to end
/// the subscriber with exit 4, for good).
#[test]
fn a_long_poll_backlog_larger_than_the_message_limit_arrives_in_parts() {
    let broker = Broker::start();
    let big = "x".repeat(40 * 1024);
    let input: String = (1..=60).map(|i| format!("{i} {big}\n")).collect();
    publish(&broker.url("backlog"), input.as_bytes());
    let out = pubcat()
        .args(["sub", &format!("http://{}/backlog?since=0", broker.addr)])
        .args(["--transport", "poll", "--max-message-size", "64K"])
        .args(["-n", "60", "-o", "raw", "--timeout", "60s"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect();
    let want: Vec<String> = (1..=60).map(|i| i.to_string()).collect();
    assert_eq!(lines, want);
}
