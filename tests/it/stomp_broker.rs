//! STOMP on the embedded broker, driven by the real binary over real
//! sockets: the queue and topic behaviour the RabbitMQ interop tests check,
//! receipts, heart-beats, and STOMP over SockJS end to end.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, Broker, Lines, assert_code, pubcat};

const TRANSPORTS: [&str; 3] = ["websocket", "xhr-streaming", "xhr-polling"];

fn stomp_url(b: &Broker) -> String {
    format!("stomp+ws://{}/_/stomp", b.addr)
}

fn sockjs_url(b: &Broker) -> String {
    format!("stomp+sockjs+http://{}/_/sockjs", b.addr)
}

/// `(ready, unacked, consumers)` of a queue, from `/_/stats`.
fn queue(b: &Broker, name: &str) -> (u64, u64, u64) {
    let (_, body) = common::http(b.addr, "GET", "/_/stats", b"");
    let stats: serde_json::Value = serde_json::from_slice(&body).unwrap();
    stats["queues"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|q| q["queue"] == name)
        .map(|q| {
            let n = |k: &str| q[k].as_u64().unwrap_or(0);
            (n("ready"), n("unacked"), n("consumers"))
        })
        .unwrap_or((0, 0, 0))
}

/// Wait (bounded) until the queue's numbers satisfy `ok`.
fn wait_for_queue(b: &Broker, name: &str, ok: impl Fn((u64, u64, u64)) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok(queue(b, name)) {
        assert!(
            Instant::now() < deadline,
            "queue {name} never got there: (ready, unacked, consumers) = {:?}",
            queue(b, name)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Publish `m1`..`mN` with receipts over `url`; asserts every one was
/// confirmed.
fn publish_numbered(url: &str, destination: &str, n: usize, extra: &[&str]) {
    let mut cmd = pubcat();
    cmd.args(["pub", url, "-t", destination, "--confirm"])
        .args(extra);
    common::publish_numbered(cmd, n);
}

fn numbered(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("m{i}")).collect()
}

/// A subscriber printing raw bodies, its lines collected as they come.
fn consumer(args: &[&str]) -> Lines {
    let mut cmd = pubcat();
    cmd.args(args).args(["-o", "raw"]);
    Lines::spawn(cmd)
}

#[test]
fn a_topic_fans_out_every_message_to_every_subscriber() {
    let b = Broker::start();
    let url = stomp_url(&b);
    let subs: Vec<Lines> = (0..2)
        .map(|_| {
            consumer(&[
                "sub",
                &url,
                "-t",
                "/topic/fan",
                "-n",
                "1000",
                "--timeout",
                "60s",
            ])
        })
        .collect();
    // /topic/fan is the broker topic `fan`: its stats count them.
    b.wait_for_subscribers("fan", 2);
    publish_numbered(&url, "/topic/fan", 1000, &[]);
    for sub in subs {
        let (code, lines, stderr) = sub.finish();
        assert_eq!(code, Some(0), "{stderr}");
        assert!(
            lines == numbered(1000),
            "got {} messages: {stderr}",
            lines.len()
        );
    }
}

#[test]
fn competing_consumers_share_every_message_exactly_once() {
    let b = Broker::start();
    let url = stomp_url(&b);
    let args = [
        "sub",
        &url,
        "-t",
        "/queue/work",
        "--ack",
        "client-individual",
        "--prefetch",
        "10",
    ];
    let one = consumer(&args);
    let two = consumer(&args);
    wait_for_queue(&b, "work", |(_, _, consumers)| consumers == 2);
    publish_numbered(&url, "/queue/work", 1000, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while one.count() + two.count() < 1000 {
        assert!(
            Instant::now() < deadline,
            "only {} of 1000 arrived",
            one.count() + two.count()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Every message printed was acknowledged: nothing is left.
    wait_for_queue(&b, "work", |(ready, unacked, _)| ready == 0 && unacked == 0);
    let (code_a, lines_a, err_a) = one.stop();
    let (code_b, lines_b, err_b) = two.stop();
    assert_eq!((code_a, code_b), (Some(130), Some(130)), "{err_a}\n{err_b}");
    assert!(
        !lines_a.is_empty() && !lines_b.is_empty(),
        "one consumer got nothing: {err_a}\n{err_b}"
    );
    let mut all: Vec<String> = lines_a.into_iter().chain(lines_b).collect();
    all.sort_by_key(|m| m[1..].parse::<u32>().unwrap());
    assert!(
        all == numbered(1000),
        "the union is not exactly m1..m1000 ({} messages)",
        all.len()
    );
}

/// The first consumer's stdout is a pipe nobody reads: printing a message
/// larger than the pipe's buffer blocks, so it is never flushed or acked.
fn stuck_consumer(url: &str, queue: &str, extra: &[&str]) -> Child {
    pubcat()
        .args(["sub", url, "-t", queue, "--ack", "client-individual"])
        .args(extra)
        .args(["-o", "raw"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn publish_file(url: &str, queue: &str, body: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body");
    std::fs::write(&file, body).unwrap();
    let out = pubcat()
        .args(["pub", url, "-t", queue, "--file", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_code(&out, 0);
}

/// One message off the queue: its JSON envelope.
fn take_one(url: &str, queue: &str) -> serde_json::Value {
    let out = pubcat()
        .args([
            "sub",
            url,
            "-t",
            queue,
            "-n",
            "1",
            "--timeout",
            "30s",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_code(&out, 0);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_message_a_killed_consumer_never_acked_goes_to_the_other() {
    let b = Broker::start();
    let url = stomp_url(&b);
    let mut stuck = stuck_consumer(&url, "/queue/redeliver", &[]);
    wait_for_queue(&b, "redeliver", |(_, _, consumers)| consumers == 1);
    let big = "x".repeat(512 * 1024);
    publish_file(&url, "/queue/redeliver", &big);
    wait_for_queue(&b, "redeliver", |(_, unacked, _)| unacked == 1);
    stuck.kill().unwrap();
    let _ = stuck.wait();
    let m = take_one(&url, "/queue/redeliver");
    assert_eq!(m["body"].as_str().map(str::len), Some(big.len()));
    assert_eq!(m["headers"]["redelivered"], "true", "{m}");
    wait_for_queue(&b, "redeliver", |q| q == (0, 0, 0));
}

#[test]
fn a_vanished_sockjs_consumer_gives_its_message_back_when_the_session_expires() {
    let b = Broker::start_with(&["-v"]);
    let url = sockjs_url(&b);
    let mut stuck = stuck_consumer(&url, "/queue/gone", &["--sockjs-transport", "xhr-polling"]);
    wait_for_queue(&b, "gone", |(_, _, consumers)| consumers == 1);
    publish_file(&stomp_url(&b), "/queue/gone", &"y".repeat(512 * 1024));
    wait_for_queue(&b, "gone", |(_, unacked, _)| unacked == 1);
    stuck.kill().unwrap();
    let _ = stuck.wait();
    // No receiver comes back: after SockJS's 5 s disconnect delay the
    // session ends, and with it the consumer.
    let m = take_one(&stomp_url(&b), "/queue/gone");
    assert_eq!(m["headers"]["redelivered"], "true", "{m}");
    b.wait_for_log("no receiver for 5 s");
}

#[test]
fn count_acks_exactly_n_and_leaves_the_rest_on_the_queue() {
    let b = Broker::start();
    let url = stomp_url(&b);
    publish_numbered(&url, "/queue/count", 10, &[]);
    let take = |n: &str| {
        let out = pubcat()
            .args(["sub", &url, "-t", "/queue/count", "-n", n, "-o", "raw"])
            .args(["--timeout", "30s"])
            .output()
            .unwrap();
        assert_code(&out, 0);
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(take("3"), "m1\nm2\nm3\n");
    wait_for_queue(&b, "count", |q| q == (7, 0, 0));
    let want: String = (4..=10).map(|i| format!("m{i}\n")).collect();
    assert_eq!(take("7"), want);
}

#[test]
fn stomp_over_sockjs_works_end_to_end_on_every_transport() {
    let b = Broker::start();
    let url = sockjs_url(&b);
    for t in TRANSPORTS {
        let topic = format!("sj-{t}");
        let sub = consumer(&[
            "sub",
            &url,
            "--sockjs-transport",
            t,
            "-t",
            &format!("/topic/{topic}"),
            "-n",
            "3",
            "--timeout",
            "30s",
        ]);
        b.wait_for_subscribers(&topic, 1);
        publish_numbered(
            &url,
            &format!("/topic/{topic}"),
            2,
            &["--sockjs-transport", t],
        );
        // A plain HTTP publish on the same topic reaches it too.
        let (status, _) = common::http(b.addr, "POST", &format!("/{topic}"), b"from http");
        assert_eq!(status, 200);
        let (code, lines, stderr) = sub.finish();
        assert_eq!(code, Some(0), "{t}: {stderr}");
        assert_eq!(lines, ["m1", "m2", "from http"], "{t}: {stderr}");
    }
    // Competing consumers on one queue, over a WebSocket and over SockJS
    // polling, fed over SockJS streaming.
    let ws = consumer(&["sub", &stomp_url(&b), "-t", "/queue/mix"]);
    let polling = consumer(&[
        "sub",
        &url,
        "--sockjs-transport",
        "xhr-polling",
        "-t",
        "/queue/mix",
    ]);
    wait_for_queue(&b, "mix", |(_, _, consumers)| consumers == 2);
    publish_numbered(
        &url,
        "/queue/mix",
        300,
        &["--sockjs-transport", "xhr-streaming"],
    );
    wait_for_queue(&b, "mix", |(ready, unacked, _)| ready == 0 && unacked == 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while ws.count() + polling.count() < 300 {
        assert!(Instant::now() < deadline, "not all 300 were printed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (_, a, err_a) = ws.stop();
    let (_, p, err_p) = polling.stop();
    assert!(!a.is_empty() && !p.is_empty(), "{err_a}\n{err_p}");
    let mut all: Vec<String> = a.into_iter().chain(p).collect();
    all.sort_by_key(|m| m[1..].parse::<u32>().unwrap());
    assert!(all == numbered(300), "{} messages", all.len());
}

#[test]
fn the_broker_sends_heart_beats_and_a_silent_broker_is_declared_dead() {
    let mut b = Broker::start_with(&["--sockjs-heartbeat", "300ms"]);
    // Asked for one every second, they keep a 1 s timeout alive for 3 s.
    let out = pubcat()
        .args(["-vv", "sub", &stomp_url(&b), "-t", "/topic/hb"])
        .args(["--heartbeat", "0,1000", "--timeout", "3s"])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 0);
    assert!(stderr.matches("recv heart-beat").count() >= 2, "{stderr}");
    // SockJS heartbeats do the same with STOMP's off.
    let out = pubcat()
        .args(["-vv", "sub", &sockjs_url(&b), "-t", "/topic/hb"])
        .args(["--sockjs-transport", "xhr-polling", "--heartbeat", "0,0"])
        .args(["--sockjs-heartbeat", "300ms", "--timeout", "3s"])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 0);
    assert!(
        stderr.matches("recv SockJS heartbeat").count() >= 2,
        "{stderr}"
    );

    // Now freeze the broker: both notice the silence and exit 3.
    let stomp = consumer(&[
        "sub",
        &stomp_url(&b),
        "-t",
        "/topic/frozen",
        "--heartbeat",
        "0,500",
    ]);
    let sockjs = consumer(&[
        "sub",
        &sockjs_url(&b),
        "-t",
        "/topic/frozen",
        "--heartbeat",
        "0,0",
        "--sockjs-heartbeat",
        "300ms",
    ]);
    b.wait_for_subscribers("frozen", 2);
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    unsafe { libc::kill(b.child.id() as i32, libc::SIGSTOP) };
    let (code_stomp, _, err_stomp) = stomp.finish();
    let (code_sockjs, _, err_sockjs) = sockjs.finish();
    // SAFETY: as above.
    unsafe { libc::kill(b.child.id() as i32, libc::SIGCONT) };
    let _ = b.child.kill();
    assert_eq!(code_stomp, Some(3), "{err_stomp}");
    assert!(
        err_stomp.contains("no heart-beat from") && err_stomp.lines().count() == 1,
        "{err_stomp}"
    );
    assert_eq!(code_sockjs, Some(3), "{err_sockjs}");
    assert!(
        err_sockjs.contains("no SockJS frame from") && err_sockjs.lines().count() == 1,
        "{err_sockjs}"
    );
}

#[test]
fn a_stomp_error_from_the_broker_ends_the_command_with_exit_4() {
    let b = Broker::start();
    let out = pubcat()
        .args(["pub", &stomp_url(&b), "-t", "/exchange/nope", "hi"])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 4);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("sent ERROR: unknown destination") && stderr.contains("/queue/NAME"),
        "{stderr}"
    );
    // The same over SockJS.
    let out = pubcat()
        .args(["sub", &sockjs_url(&b), "-t", "/topic/_/x"])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 4);
    assert!(stderr.contains("sent ERROR: bad destination"), "{stderr}");
}
