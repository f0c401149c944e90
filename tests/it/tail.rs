//! `pubcat tail` against the embedded broker: resume across cut
//! connections, `--state`, and gaps reported.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::common::{self, Broker, collect, flaky_proxy, pubcat, take_lines, wait_with_timeout};

fn spawn_tail(url: &str, extra: &[&str]) -> Child {
    pubcat()
        .args(["tail", url, "-o", "raw", "--backoff-min", "20ms"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tail")
}

/// Each line of `out` as it comes, read on a thread of its own.
fn line_channel(out: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next `n` lines, fewer if they do not all come within 10 s each.
fn next_lines(rx: &std::sync::mpsc::Receiver<String>, n: usize) -> Vec<String> {
    (0..n)
        .map_while(|_| rx.recv_timeout(Duration::from_secs(10)).ok())
        .collect()
}

fn publish(broker: &Broker, topic: &str, lines: &str) {
    common::publish_input(
        &broker.url(topic),
        lines.as_bytes(),
        Duration::from_secs(60),
    );
}

#[test]
fn tail_through_a_connection_cut_every_few_hundred_messages_prints_each_once_in_order() {
    let broker = Broker::start_with(&["--history", "10000"]);
    let proxy = flaky_proxy(broker.addr, 8 * 1024);
    let tail = spawn_tail(&format!("http://{proxy}/faulty"), &[]);
    broker.wait_for_subscribers("faulty", 1);
    let input: String = (1..=5000).map(|i| format!("message {i}\n")).collect();
    publish(&broker, "faulty", &input);
    let (lines, code, stderr) = take_lines(tail, 5000);
    let want: Vec<String> = (1..=5000).map(|i| format!("message {i}")).collect();
    assert_eq!(
        lines.len(),
        5000,
        "got {} lines; stderr: {stderr}",
        lines.len()
    );
    assert!(lines == want, "lines out of order or repeated");
    assert_eq!(code, 130, "{stderr}");
    assert!(
        stderr.contains("reconnect"),
        "the proxy never cut the stream: {stderr}"
    );
    assert!(!stderr.contains("gap"), "{stderr}");
}

#[test]
fn state_file_lets_a_new_tail_continue_where_the_last_stopped() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("last-id");
    let state = state.to_str().unwrap();
    let url = format!("http://{}/st", broker.addr);
    publish(&broker, "st", "a\nb\nc\n");
    let (lines, code, stderr) =
        take_lines(spawn_tail(&url, &["--state", state, "--since", "0"]), 3);
    assert_eq!(
        (lines, code),
        (vec!["a".to_string(), "b".into(), "c".into()], 130),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(state).unwrap().trim(), "3");
    publish(&broker, "st", "d\ne\n");
    let (lines, code, stderr) = take_lines(spawn_tail(&url, &["--state", state]), 2);
    assert_eq!(
        (lines, code),
        (vec!["d".to_string(), "e".into()], 130),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(state).unwrap().trim(), "5");
}

#[test]
fn a_resume_point_older_than_history_is_reported_as_a_gap() {
    let broker = Broker::start_with(&["--history", "5"]);
    let input: String = (1..=20).map(|i| format!("{i}\n")).collect();
    publish(&broker, "short", &input);
    let (lines, code, stderr) = take_lines(
        spawn_tail(&format!("http://{}/short", broker.addr), &["--since", "2"]),
        5,
    );
    assert_eq!(lines, ["16", "17", "18", "19", "20"]);
    assert_eq!(code, 130);
    assert!(
        stderr.contains("gap") && stderr.contains("3..15"),
        "{stderr}"
    );
}

#[test]
fn tail_gives_up_after_max_retries_with_exit_3() {
    let port = common::closed_port();
    let out = pubcat()
        .args([
            "tail",
            &format!("http://127.0.0.1:{port}/x"),
            "--max-retries",
            "2",
            "--backoff-min",
            "10ms",
        ])
        .output()
        .unwrap();
    assert!(common::assert_code(&out, 3).contains("gave up after"));
}

#[test]
fn last_n_shows_recent_history_then_follows_on_every_transport() {
    let broker = Broker::start();
    for transport in ["sse", "poll", "ws"] {
        let topic = format!("hist-{transport}");
        publish(&broker, &topic, "1\n2\n3\n4\n5\n");
        let url = format!("http://{}/{topic}", broker.addr);
        let tail = spawn_tail(&url, &["-n", "2", "--transport", transport]);
        // The history arrives first; then one live message, published once
        // the tail is subscribed.
        let live = format!("live-{transport}");
        let (lines, code, stderr) = {
            let mut tail = tail;
            let stdout = tail.stdout.take().unwrap();
            let mut reader = BufReader::new(stdout);
            let mut lines = Vec::new();
            for _ in 0..2 {
                let mut l = String::new();
                reader.read_line(&mut l).unwrap();
                lines.push(l.trim_end().to_string());
            }
            publish(&broker, &topic, &format!("{live}\n"));
            let mut l = String::new();
            reader.read_line(&mut l).unwrap();
            lines.push(l.trim_end().to_string());
            let err = collect(tail.stderr.take().unwrap());
            // SAFETY: kill(2) on our own child's pid has no memory effects.
            unsafe { libc::kill(tail.id() as i32, libc::SIGINT) };
            let status = wait_with_timeout(&mut tail, Duration::from_secs(30));
            (
                lines,
                status.code().unwrap_or(-1),
                String::from_utf8_lossy(&err.join().unwrap()).to_string(),
            )
        };
        let want = ["4".to_string(), "5".into(), live.clone()];
        assert_eq!((lines, code), (want.to_vec(), 130), "{transport}: {stderr}");
    }
}

#[test]
fn a_restarted_broker_is_followed_with_a_warning_not_skipped() {
    let broker = Broker::start();
    let addr = broker.addr;
    let mut tail = spawn_tail(&format!("http://{addr}/restart"), &[]);
    let err = collect(tail.stderr.take().unwrap());
    let out = line_channel(tail.stdout.take().unwrap());
    broker.wait_for_subscribers("restart", 1);
    publish(&broker, "restart", "a\nb\nc\n");
    let mut lines = next_lines(&out, 3);
    drop(broker);
    // The new broker numbers from 1 again; tail's cursor (3) is ahead of it.
    let broker = Broker::start_at(&addr.to_string(), &[]);
    broker.wait_for_subscribers("restart", 1);
    publish(&broker, "restart", "d\ne\n");
    lines.extend(next_lines(&out, 2));
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    unsafe { libc::kill(tail.id() as i32, libc::SIGINT) };
    let code = wait_with_timeout(&mut tail, Duration::from_secs(30)).code();
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    assert_eq!(
        (lines, code),
        (
            ["a", "b", "c", "d", "e"].map(String::from).to_vec(),
            Some(130)
        ),
        "{stderr}"
    );
    assert!(stderr.contains("went back from 3 to 1"), "{stderr}");
}

/// A broker restarted while tail was away, whose new run has already
/// numbered past tail's cursor (3) by the time tail is back: its ids 1..4
/// are new messages, not ones tail has seen. The broker names its run
/// (`X-Pubcat-Epoch`) and tail sends back the run its cursor came from, so
/// the new run replays them all (tail used to print only id 4 and skip
/// the rest without a word). Over SSE, long-poll and WebSocket.
#[test]
fn a_restarted_broker_that_passed_the_cursor_replays_its_own_messages() {
    for transport in ["sse", "poll", "ws"] {
        let broker = Broker::start();
        let addr = broker.addr;
        let (proxy, gate) = common::gated_proxy(addr);
        let topic = format!("epoch{transport}");
        let mut tail = spawn_tail(
            &format!("http://{proxy}/{topic}"),
            &["--transport", transport, "--backoff-max", "200ms"],
        );
        let err = collect(tail.stderr.take().unwrap());
        let out = line_channel(tail.stdout.take().unwrap());
        broker.wait_for_subscribers(&topic, 1);
        publish(&broker, &topic, "a\nb\nc\n");
        let mut lines = next_lines(&out, 3);
        gate.store(false, std::sync::atomic::Ordering::SeqCst);
        drop(broker);
        let broker = Broker::start_at(&addr.to_string(), &[]);
        publish(&broker, &topic, "d\ne\nf\ng\n");
        gate.store(true, std::sync::atomic::Ordering::SeqCst);
        lines.extend(next_lines(&out, 4));
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe { libc::kill(tail.id() as i32, libc::SIGINT) };
        let code = wait_with_timeout(&mut tail, Duration::from_secs(30)).code();
        let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
        assert_eq!(
            (lines, code),
            (
                ["a", "b", "c", "d", "e", "f", "g"]
                    .map(String::from)
                    .to_vec(),
                Some(130)
            ),
            "{transport}: {stderr}"
        );
        assert!(stderr.contains("went back from 3 to 1"), "{stderr}");
    }
}

/// `tail` on a STOMP topic of the embedded broker: messages published over
/// plain HTTP and WebSocket to the topic's path arrive (`/topic/news` is the
/// plain topic `news`), and after the broker restarts tail reconnects,
/// subscribes again and goes on.
#[test]
fn tail_follows_a_stomp_topic_across_a_broker_restart() {
    let broker = Broker::start();
    let addr = broker.addr;
    let url = format!("stomp+ws://{addr}/_/stomp");
    let mut tail = spawn_tail(&url, &["-t", "/topic/news"]);
    let err = collect(tail.stderr.take().unwrap());
    let mut out = BufReader::new(tail.stdout.take().unwrap());
    let read = |out: &mut BufReader<_>| {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        l.trim_end().to_string()
    };
    broker.wait_for_subscribers("news", 1);
    let (status, _) = common::http(addr, "POST", "/news", b"over http");
    assert_eq!(status, 200);
    publish(&broker, "news", "over ws\n");
    let mut lines = vec![read(&mut out), read(&mut out)];
    drop(broker);
    let broker = Broker::start_at(&addr.to_string(), &[]);
    broker.wait_for_subscribers("news", 1);
    let sent = pubcat()
        .args(["pub", &url, "-t", "/topic/news", "over stomp", "--confirm"])
        .output()
        .unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    lines.push(read(&mut out));
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    unsafe { libc::kill(tail.id() as i32, libc::SIGINT) };
    let code = wait_with_timeout(&mut tail, Duration::from_secs(30)).code();
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    assert_eq!(
        (lines, code),
        (
            ["over http", "over ws", "over stomp"]
                .map(String::from)
                .to_vec(),
            Some(130)
        ),
        "{stderr}"
    );
    assert!(stderr.contains("reconnected"), "{stderr}");
}

/// The issue-16 promise: `tail` through a connection cut every 150-600 ms,
/// from its very first connection and without `--since`, prints every
/// message published meanwhile exactly once, in order, over SSE,
/// long-poll and WebSocket (see `common::tail_through_cuts`). `pubcat
/// serve` told it its cursor when the stream opened (an `id:`-only block, a
/// `304` with an `Etag`, `X-Pubcat-Cursor` on the `101` of a
/// `ws+meta.nchan` stream), so even a first connection cut before any
/// message loses nothing. PUBCAT_SOAK_MESSAGES and PUBCAT_SOAK_RUNS make it a soak
/// (2000 and 10 for the figures).
#[test]
fn tail_through_connections_cut_every_few_hundred_ms_from_the_first_loses_nothing() {
    let (n, runs) = common::soak_size(300, 1);
    for run in 0..runs {
        for (i, transport) in ["sse", "poll", "ws"].into_iter().enumerate() {
            let broker = Broker::start_with(&["--history", "10000"]);
            let topic = format!("cut{transport}");
            let soak = common::tail_through_cuts(
                broker.addr,
                &format!("/{topic}"),
                &broker.url(&topic),
                transport,
                n,
                0x5eed + (run * 3 + i) as u64,
            );
            soak.assert_complete(n);
        }
    }
}

/// `tail URL | head -1`: once the reader is gone, the next message ends
/// tail at once, quietly, with exit 0 (it used to read the stream for
/// nobody, for ever).
#[test]
fn tail_ends_quietly_when_its_reader_goes_away() {
    let broker = Broker::start();
    let mut tail = spawn_tail(&format!("http://{}/gone", broker.addr), &[]);
    let err = collect(tail.stderr.take().unwrap());
    let mut out = BufReader::new(tail.stdout.take().unwrap());
    broker.wait_for_subscribers("gone", 1);
    publish(&broker, "gone", "first\n");
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "first\n");
    drop(out);
    // Two more: the first may still fit in the pipe's buffer before the
    // write that fails.
    publish(&broker, "gone", "second\nthird\n");
    let code = wait_with_timeout(&mut tail, Duration::from_secs(20)).code();
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}
